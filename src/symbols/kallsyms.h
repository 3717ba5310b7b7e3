// Kernel symbol tables as text: a guest's /proc/kallsyms dump (with `[module]` names) or a
// System.map. Lookup is symbol+offset by binary search; a symbol's size is the distance to
// the next function symbol, as perf sizes kallsyms symbols.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace exitprof::symbols {

struct KernelSymbol {
  uint64_t address = 0;
  char type = 0;       // nm letter: t/T text, w/W weak, d/D data...
  std::string name;
  std::string module;  // "" for the kernel image, "kvm" for "[kvm]"
};

struct KernelSymbolHit {
  const KernelSymbol* symbol = nullptr;
  uint64_t offset = 0;
};

class KernelSymbolMap {
 public:
  // `origin` names the text in errors ("guest.kallsyms"). Fails only when nothing usable is
  // there (no line parses, or every address is 0 as in a dump read without privileges).
  static Result<KernelSymbolMap> Parse(std::string_view text, const std::string& origin);
  // A /proc/kallsyms dump or System.map; a trace.dat gives the kallsyms it embeds.
  static Result<KernelSymbolMap> Load(const std::string& path);

  // The function symbol containing `address`: the nearest one at or below it, no further
  // than the next function symbol (the last one extends to the end of its 4 KiB page).
  std::optional<KernelSymbolHit> Find(uint64_t address) const;
  // Address of a symbol of any type, e.g. "_text" for the KASLR offset.
  std::optional<uint64_t> AddressOf(std::string_view name) const;

  // [first function symbol, end of the last one): RIPs inside this range always resolve.
  uint64_t low() const { return functions_.empty() ? 0 : functions_.front().address; }
  uint64_t high() const { return high_; }
  size_t size() const { return all_count_; }
  size_t function_count() const { return functions_.size(); }
  size_t skipped_lines() const { return skipped_lines_; }
  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
  std::vector<KernelSymbol> functions_;  // sorted by address
  std::vector<std::pair<std::string, uint64_t>> markers_;  // _text, _stext, _etext...
  uint64_t high_ = 0;
  size_t all_count_ = 0;
  size_t skipped_lines_ = 0;
};

}  // namespace exitprof::symbols
