// libFuzzer target: the bytes are a kallsyms dump or System.map. Parsing either fails with
// one error or gives a map whose lookups stay inside it.
#include <cstdint>
#include <string_view>

#include "symbols/kallsyms.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto map = exitprof::symbols::KernelSymbolMap::Parse(text, "fuzz");
  if (!map) return 0;
  for (uint64_t a : {map->low(), map->low() + 1, map->high() - 1, map->high(), uint64_t{0}, ~uint64_t{0}}) {
    if (auto hit = map->Find(a)) {
      if (hit->symbol->address + hit->offset != a) __builtin_trap();
    }
  }
  (void)map->AddressOf("_text");
  return 0;
}
