#include "symbols/addr2line_format.h"

#include <fmt/format.h>

namespace exitprof::symbols {

std::string FormatAddr2Line(uint64_t address, const Symbolized& s, const Addr2LineFlags& flags) {
  std::string out;
  if (flags.addresses) out += fmt::format("0x{:016x}{}", address, flags.pretty ? ": " : "\n");
  if (!s.found) {
    if (flags.functions) out += flags.pretty ? "?? " : "??\n";
    out += "??:0\n";
    return out;
  }
  size_t levels = flags.inlines ? s.frames.size() : 1;
  for (size_t i = 0; i < levels; ++i) {
    const Frame& f = s.frames[i];
    if (i > 0 && flags.pretty) out += " (inlined by) ";
    if (flags.functions) {
      std::string name = f.function.empty() ? "??" : (flags.demangle ? Demangle(f.function) : f.function);
      out += name;
      out += flags.pretty ? " at " : "\n";
    }
    std::string file = f.file;
    if (flags.basenames) {
      size_t slash = file.rfind('/');
      if (slash != std::string::npos) file = file.substr(slash + 1);
    }
    out += file.empty() ? "??" : file;
    out += ':';
    if (f.line == 0) out += "?\n";
    else if (f.discriminator != 0) out += fmt::format("{} (discriminator {})\n", f.line, f.discriminator);
    else out += fmt::format("{}\n", f.line);
  }
  return out;
}

}  // namespace exitprof::symbols
