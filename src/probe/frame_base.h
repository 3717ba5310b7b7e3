// What a probe needs to know about a function's frame at one address: whether its compile unit
// was optimized, where an unoptimized function's prologue ends (its parameters are stored to
// the stack there, so a probe at the entry would read the slot before it is written), and what
// register and offset the DWARF frame base (DW_AT_frame_base, usually the CFA) is at an address.
#pragma once

#include <elfutils/libdw.h>

#include <cstdint>
#include <optional>

namespace exitprof::probe {

// From DW_AT_producer: "-O" with a level other than 0 (gcc and clang both record it).
bool IsOptimizedCompileUnit(Dwarf_Die* cu);

// Where an unoptimized prologue ends in [entry, end), from the line table: the row marked
// prologue_end, else the row after the entry's (perf probe places such probes there too).
std::optional<uint64_t> PrologueEnd(Dwarf_Die* cu, uint64_t entry, uint64_t end);

struct RegisterOffset {
  unsigned dwarf_reg = 0;
  int64_t offset = 0;
};

// The frame base of `subprogram` at `address` as register + offset. DW_OP_call_frame_cfa is
// worked out from the call frame information (.debug_frame, else .eh_frame); nullopt when it
// cannot be (then the caller assumes the entry's CFA, %sp + 8). `debug_frame` is
// dwarf_getcfi's, `eh_frame` dwarf_getcfi_elf's (either may be null).
std::optional<RegisterOffset> FrameBaseAt(Dwarf_CFI* debug_frame, Dwarf_CFI* eh_frame, Dwarf_Die* subprogram,
                                          uint64_t address);

}  // namespace exitprof::probe
