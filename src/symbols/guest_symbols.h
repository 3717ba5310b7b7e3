// Guest RIPs to kernel symbols for reports: a kallsyms dump or System.map gives symbol+offset
// (and module names), a vmlinux with DWARF adds file:line and the inline chain. KASLR: the
// runtime (kallsyms) addresses differ from the link-time ones (vmlinux, System.map) by one
// offset, given or worked out from `_text` (or `_stext`) in both.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "base/result.h"
#include "symbols/elf_symbolizer.h"
#include "symbols/kallsyms.h"

namespace exitprof::symbols {

struct GuestSymbolOptions {
  std::string vmlinux, kallsyms, system_map;
  std::optional<int64_t> kaslr_offset;  // runtime minus link-time address
  std::vector<std::string> debug_dirs;
};

struct GuestSymbol {
  bool found = false;
  std::string symbol;   // "iowrite16"
  uint64_t offset = 0;  // from the symbol's start
  std::string module;   // "kvm" for module symbols, "" for the kernel
  std::string srcline;  // "lib/iomap.c:123" (vmlinux with DWARF only)
  // When the code was inlined: "function at file:line", innermost first, ending with the
  // function the symbol names.
  std::vector<std::string> inline_chain;
};

class GuestSymbols {
 public:
  static Result<std::unique_ptr<GuestSymbols>> Open(const GuestSymbolOptions& options);
  const GuestSymbol& Resolve(uint64_t rip);
  // One line for the report header: what was read and which KASLR offset was used.
  const std::string& description() const { return description_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  int64_t kaslr_offset() const { return kaslr_; }
  // [low, high) of the runtime addresses the kallsyms/System.map symbols cover (0, 0: none).
  uint64_t low() const;
  uint64_t high() const;

 private:
  GuestSymbols() = default;
  GuestSymbol Compute(uint64_t rip);

  std::optional<KernelSymbolMap> kallsyms_, system_map_;
  std::unique_ptr<ElfSymbolizer> vmlinux_;
  int64_t kaslr_ = 0;
  std::string description_;
  std::vector<std::string> warnings_;
  std::unordered_map<uint64_t, GuestSymbol> cache_;
  // The kernel's text at run time, [text_low_, text_high_) (0, 0: unknown), and whether the
  // kernel lives in the upper half (x86-64): RIPs outside are never named after its symbols.
  uint64_t text_low_ = 0, text_high_ = 0;
  bool upper_half_kernel_ = false;
};

// The KASLR offset (runtime minus link-time address) from `_text` (else `_stext`) in a kallsyms
// dump and the kernel's ELF; nullopt when either has neither.
std::optional<int64_t> KaslrOffsetFromText(const KernelSymbolMap& runtime, const ElfSymbolizer& linked);

// "0x1e000000", "-0x1000", "16777216" -> offset.
Result<int64_t> ParseKaslrOffset(const std::string& text);

}  // namespace exitprof::symbols
