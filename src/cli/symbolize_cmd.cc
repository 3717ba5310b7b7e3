// exitprof symbolize: GNU addr2line's flags and output, on elfutils, much faster on big
// files (each compile unit's tables are read once, each distinct address answered once).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "symbols/addr2line_format.h"
#include "symbols/elf_symbolizer.h"

namespace exitprof::cli {

namespace {

// As addr2line reads addresses: hexadecimal, an optional 0x, anything after the digits
// ignored, and 0 when there are no digits.
uint64_t ScanHexAddress(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i + 1 < text.size() && text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X')) i += 2;
  uint64_t v = 0;
  for (; i < text.size() && std::isxdigit(static_cast<unsigned char>(text[i])); ++i) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    v = v << 4 | static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  return v;
}

bool StdinIsRegularFile() {
  struct stat st;
  return ::fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::function<int()> AddSymbolizeCommand(CLI::App& app) {
  struct Options {
    std::string exe = "a.out";
    symbols::Addr2LineFlags flags;
    std::vector<std::string> debug_dirs;
    std::vector<std::string> addresses;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("symbolize", "Addresses to function, inline chain and file:line, as GNU addr2line prints them");
  cmd->add_option("-e,--exe", o->exe, "ELF file (vmlinux, a program, a shared library)")->capture_default_str();
  cmd->add_flag("-f,--functions", o->flags.functions, "Also print function names");
  cmd->add_flag("-i,--inlines", o->flags.inlines, "Also print the functions the code was inlined into");
  cmd->add_flag("-C,--demangle", o->flags.demangle, "Demangle C++ names");
  cmd->add_flag("-a,--addresses", o->flags.addresses, "Print each address before its answer");
  cmd->add_flag("-p,--pretty-print", o->flags.pretty, "One line per address");
  cmd->add_flag("-s,--basenames", o->flags.basenames, "File names without directories");
  cmd->add_option("--debug-dir", o->debug_dirs, "Where to look for separate debug files (.gnu_debuglink, build-id); repeatable")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("addresses", o->addresses, "Hexadecimal addresses (0x optional); none: read them from stdin, one a line");
  cmd->footer(
      "\nExamples:\n"
      "  exitprof symbolize -e vmlinux -f -i ffffffff8176a3b6\n"
      "  exitprof symbolize -e ./prog -fipC -a 0x1139 0x1150\n"
      "  awk '{print $2}' rips.txt | exitprof symbolize -e vmlinux -f -s\n"
      "  exitprof symbolize -e prog.stripped --debug-dir ./debug 0x1139\n");
  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    symbols::SymbolizerOptions options;
    options.inlines = o->flags.inlines;
    options.debug_dirs = o->debug_dirs;
    auto opened = symbols::ElfSymbolizer::Open(o->exe, options);
    if (!opened) return ReportError(opened.error());
    // Owned until exit on purpose: tearing down libdw's and our per-unit tables of a large
    // kernel costs a tenth of the run, and the process ends right after.
    auto& symbolizer = *opened->release();
    if (!symbolizer.warning().empty()) std::fprintf(stderr, "exitprof symbolize: %s\n", symbolizer.warning().c_str());

    auto print_batch = [&](const std::vector<uint64_t>& addresses) {
      auto answers = symbolizer.SymbolizeBatch(addresses);
      std::string out;
      for (size_t i = 0; i < addresses.size(); ++i) {
        out += symbols::FormatAddr2Line(addresses[i], *answers[i], o->flags);
        if (out.size() > (1 << 16)) {
          std::fwrite(out.data(), 1, out.size(), stdout);
          out.clear();
        }
      }
      std::fwrite(out.data(), 1, out.size(), stdout);
    };
    if (!o->addresses.empty()) {
      std::vector<uint64_t> addresses;
      for (const auto& a : o->addresses) addresses.push_back(ScanHexAddress(a));
      print_batch(addresses);
      return 0;
    }
    std::string line;
    if (StdinIsRegularFile()) {
      std::vector<uint64_t> addresses;
      while (std::getline(std::cin, line)) addresses.push_back(ScanHexAddress(line));
      print_batch(addresses);
      return 0;
    }
    // A pipe may be a coprocess waiting for each answer (as perf drives addr2line): answer
    // every line at once.
    while (std::getline(std::cin, line)) {
      uint64_t a = ScanHexAddress(line);
      std::string out = symbols::FormatAddr2Line(a, symbolizer.Symbolize(a), o->flags);
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
    }
    return 0;
  };
}

}  // namespace exitprof::cli
