#include "probe/frame_base.h"

#include <dwarf.h>

#include <cstdlib>
#include <cstring>

namespace exitprof::probe {

bool IsOptimizedCompileUnit(Dwarf_Die* cu) {
  Dwarf_Attribute a;
  const char* producer = dwarf_formstring(dwarf_attr(cu, DW_AT_producer, &a));
  if (!producer) return false;
  bool optimized = false;
  // The last -O wins, as on the compiler's command line.
  for (const char* p = std::strstr(producer, " -O"); p; p = std::strstr(p + 3, " -O")) {
    optimized = p[3] != '0';
  }
  return optimized;
}

std::optional<uint64_t> PrologueEnd(Dwarf_Die* cu, uint64_t entry, uint64_t end) {
  Dwarf_Lines* lines = nullptr;
  size_t n = 0;
  if (dwarf_getsrclines(cu, &lines, &n) != 0) return std::nullopt;
  size_t i = 0;
  for (Dwarf_Addr a = 0; i < n; ++i) {
    if (dwarf_lineaddr(dwarf_onesrcline(lines, i), &a) == 0 && a == entry) break;
  }
  // After the entry's row: the row marked prologue_end (clang marks it), else the next row
  // (gcc marks none; its next row is where the body starts).
  std::optional<uint64_t> next;
  for (++i; i < n; ++i) {
    Dwarf_Line* line = dwarf_onesrcline(lines, i);
    Dwarf_Addr a = 0;
    bool prologue_end = false;
    if (dwarf_lineaddr(line, &a) != 0 || a < entry || a >= end) break;
    if (!next) next = a;
    if (dwarf_lineprologueend(line, &prologue_end) == 0 && prologue_end) return a;
  }
  return next;
}

namespace {

std::optional<RegisterOffset> FromCfi(Dwarf_CFI* cfi, uint64_t address) {
  if (!cfi) return std::nullopt;
  Dwarf_Frame* frame = nullptr;
  if (dwarf_cfi_addrframe(cfi, address, &frame) != 0) return std::nullopt;
  Dwarf_Op* ops = nullptr;
  size_t nops = 0;
  std::optional<RegisterOffset> out;
  // libdw gives a register+offset CFA rule as one DW_OP_bregx.
  if (dwarf_frame_cfa(frame, &ops, &nops) == 0 && nops == 1) {
    if (ops[0].atom == DW_OP_bregx) {
      out = RegisterOffset{static_cast<unsigned>(ops[0].number), static_cast<int64_t>(ops[0].number2)};
    } else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
      out = RegisterOffset{static_cast<unsigned>(ops[0].atom - DW_OP_breg0), static_cast<int64_t>(ops[0].number)};
    }
  }
  std::free(frame);
  return out;
}

}  // namespace

std::optional<RegisterOffset> FrameBaseAt(Dwarf_CFI* debug_frame, Dwarf_CFI* eh_frame, Dwarf_Die* subprogram,
                                          uint64_t address) {
  Dwarf_Attribute attr;
  if (!dwarf_attr_integrate(subprogram, DW_AT_frame_base, &attr)) return std::nullopt;
  Dwarf_Op* ops = nullptr;
  size_t nops = 0;
  if (dwarf_getlocation_addr(&attr, address, &ops, &nops, 1) <= 0 || nops != 1) return std::nullopt;
  const Dwarf_Op& op = ops[0];
  if (op.atom >= DW_OP_breg0 && op.atom <= DW_OP_breg31) {
    return RegisterOffset{static_cast<unsigned>(op.atom - DW_OP_breg0), static_cast<int64_t>(op.number)};
  }
  if (op.atom >= DW_OP_reg0 && op.atom <= DW_OP_reg31) return RegisterOffset{static_cast<unsigned>(op.atom - DW_OP_reg0), 0};
  if (op.atom != DW_OP_call_frame_cfa) return std::nullopt;
  if (auto r = FromCfi(debug_frame, address)) return r;
  return FromCfi(eh_frame, address);
}

}  // namespace exitprof::probe
