// libFuzzer target: the bytes are a kvm_exit or kvm_userspace_exit format (or just its "print
// fmt:" line) as tracefs shows it; the reason table built from it is asked for names by code
// and for codes by name. Any input must parse without crashing, hanging or reading out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kvm/reason_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using exitprof::kvm::Isa;
  auto table = exitprof::kvm::ReasonTable::FromFormats(text, text);
  for (Isa isa : {Isa::kUnknown, Isa::kVmx, Isa::kSvm, Isa::kUserspace}) {
    for (uint32_t reason : {0u, 1u, 30u, 0x400u, 0x80000000u}) (void)table.NameOf(isa, reason);
    for (const auto& e : table.Entries(isa)) (void)table.Lookup(e.name);
  }
  (void)table.Lookup("EXIT_NPF");
  (void)table.Lookup("io_instruction");
  return 0;
}
