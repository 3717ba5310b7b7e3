// exitprof symbolize: GNU addr2line's flags and output, on elfutils, much faster on big
// files (each compile unit's tables are read once, each distinct address answered once).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cli/commands.h"
#include "symbols/addr2line_format.h"
#include "symbols/elf_symbolizer.h"
#include "symbols/guest_symbols.h"

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

struct Options {
  std::string exe = "a.out";
  symbols::Addr2LineFlags flags;
  std::vector<std::string> debug_dirs;
  std::vector<std::string> addresses;
  std::string kallsyms, kaslr_offset;
};

// The ELF file (given, or when no kallsyms is) and the kallsyms dump behind one lookup: runtime
// address -> ELF at address - KASLR offset; what the ELF cannot name, kallsyms names (function
// only: addr2line's ??:? for the line).
class Symbolizer {
 public:
  Symbolizer(std::unique_ptr<symbols::ElfSymbolizer> elf, std::optional<symbols::KernelSymbolMap> kallsyms, int64_t offset)
      : elf_(std::move(elf)), kallsyms_(std::move(kallsyms)), offset_(static_cast<uint64_t>(offset)) {}

  const symbols::Symbolized& Symbolize(uint64_t address) {
    if (!elf_) return FromKallsyms(address);
    const auto& s = elf_->Symbolize(address - offset_);
    if (s.found || !kallsyms_) return s;
    // The ELF answers for its own image; kallsyms adds what lies outside it: modules.
    const auto& k = FromKallsyms(address);
    return k.found && in_module_.count(address) ? k : s;
  }
  std::vector<const symbols::Symbolized*> SymbolizeBatch(const std::vector<uint64_t>& addresses) {
    if (!kallsyms_ && offset_ == 0) return elf_->SymbolizeBatch(addresses);
    std::vector<const symbols::Symbolized*> out;
    for (uint64_t a : addresses) out.push_back(&Symbolize(a));
    return out;
  }

 private:
  const symbols::Symbolized& FromKallsyms(uint64_t address) {
    auto [it, added] = kallsyms_answers_.try_emplace(address);
    if (added) {
      if (auto hit = kallsyms_->Find(address)) {
        it->second.found = true;
        it->second.symbol = hit->symbol->name;
        it->second.symbol_offset = hit->offset;
        it->second.frames.push_back(symbols::Frame{hit->symbol->name, "", 0, 0});
        if (!hit->symbol->module.empty()) in_module_.insert(address);
      }
    }
    return it->second;
  }

  std::unique_ptr<symbols::ElfSymbolizer> elf_;
  std::optional<symbols::KernelSymbolMap> kallsyms_;
  uint64_t offset_;
  std::unordered_map<uint64_t, symbols::Symbolized> kallsyms_answers_;
  std::unordered_set<uint64_t> in_module_;  // addresses kallsyms places in a [module]
};

Result<std::unique_ptr<Symbolizer>> OpenSymbolizer(const Options& o, bool exe_given) {
  std::unique_ptr<symbols::ElfSymbolizer> elf;
  if (exe_given || o.kallsyms.empty()) {
    symbols::SymbolizerOptions options;
    options.inlines = o.flags.inlines;
    options.debug_dirs = o.debug_dirs;
    auto opened = symbols::ElfSymbolizer::Open(o.exe, options);
    if (!opened) return tl::unexpected(opened.error());
    elf = std::move(*opened);
    if (!elf->warning().empty()) std::fprintf(stderr, "exitprof symbolize: %s\n", elf->warning().c_str());
  }
  std::optional<symbols::KernelSymbolMap> kallsyms;
  if (!o.kallsyms.empty()) {
    auto map = symbols::KernelSymbolMap::Load(o.kallsyms);
    if (!map) return tl::unexpected(map.error());
    kallsyms = std::move(*map);
  }
  int64_t offset = 0;
  if (!o.kaslr_offset.empty()) {
    auto given = symbols::ParseKaslrOffset(o.kaslr_offset);
    if (!given) return tl::unexpected(given.error());
    offset = *given;
  } else if (elf && kallsyms) {
    if (auto found = symbols::KaslrOffsetFromText(*kallsyms, *elf)) offset = *found;
    else std::fprintf(stderr, "exitprof symbolize: no _text or _stext in both %s and %s: KASLR offset taken as 0\n", o.kallsyms.c_str(), o.exe.c_str());
  }
  return std::make_unique<Symbolizer>(std::move(elf), std::move(kallsyms), offset);
}

}  // namespace

std::function<int()> AddSymbolizeCommand(CLI::App& app) {
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
  cmd->add_option("--kallsyms", o->kallsyms,
                  "A /proc/kallsyms dump: addresses are runtime ones; alone, it names their functions; with -e vmlinux, "
                  "it gives the KASLR offset (kallsyms _text - vmlinux _text) and names [module] addresses");
  cmd->add_option("--kaslr-offset", o->kaslr_offset,
                  "Runtime minus link-time address (e.g. 0x1e000000): subtracted from each address before -e looks it up");
  cmd->add_option("addresses", o->addresses, "Hexadecimal addresses (0x optional); none: read them from stdin, one a line");
  cmd->footer(
      "\nExamples:\n"
      "  exitprof symbolize -e vmlinux -f -i ffffffff8176a3b6\n"
      "  exitprof symbolize -e ./prog -fipC -a 0x1139 0x1150\n"
      "  awk '{print $2}' rips.txt | exitprof symbolize -e vmlinux -f -s\n"
      "  exitprof symbolize -e prog.stripped --debug-dir ./debug 0x1139\n"
      "  exitprof symbolize -e vmlinux --kallsyms guest.kallsyms -f -i ffffffff9f76a3b6   KASLR'd guest RIPs\n"
      "  exitprof symbolize -e vmlinux --kaslr-offset 0x1e000000 -f ffffffff9f76a3b6\n"
      "  exitprof symbolize --kallsyms guest.kallsyms -f ffffffffc0a1b2c3              functions only (??:? for lines)\n");
  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    auto opened = OpenSymbolizer(*o, cmd->count("--exe") > 0);
    if (!opened) return ReportError(opened.error());
    // Owned until exit on purpose: tearing down libdw's and our per-unit tables of a large
    // kernel costs a tenth of the run, and the process ends right after.
    auto& symbolizer = *opened->release();

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
