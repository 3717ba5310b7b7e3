// libFuzzer target: the bytes are a kvm_exit "print fmt:" line as tracefs shows it; the exit
// reason names parsed from it are looked up for a few reasons of each ISA. Any input must
// parse without crashing, hanging or reading out of bounds.
#include <cstddef>
#include <cstdint>
#include <string>

#include "capture/bpf/exit_reason_names.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto names = exitprof::capture::bpf::ExitReasonNames::FromPrintFmt(text);
  for (uint32_t isa : {0u, 1u, 2u}) {
    for (uint32_t reason : {0u, 1u, 30u, 0x400u, 0x80000000u}) (void)names.Name(isa, reason);
  }
  return 0;
}
