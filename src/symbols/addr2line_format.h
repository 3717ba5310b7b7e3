// GNU addr2line's output, byte for byte, for one symbolized address.
#pragma once

#include <cstdint>
#include <string>

#include "symbols/elf_symbolizer.h"

namespace exitprof::symbols {

struct Addr2LineFlags {
  bool functions = false;   // -f
  bool inlines = false;     // -i
  bool demangle = false;    // -C
  bool addresses = false;   // -a
  bool pretty = false;      // -p
  bool basenames = false;   // -s
};

std::string FormatAddr2Line(uint64_t address, const Symbolized& s, const Addr2LineFlags& flags);

}  // namespace exitprof::symbols
