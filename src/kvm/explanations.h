// Advice by what is behind an address: refines a reason's explanation (ExplainReason, in the
// reason table) for port, MMIO and MSR exits.
#pragma once

#include <cstdint>
#include <string>

#include "kvm/reason_table.h"

namespace exitprof::kvm {

std::string AdviceForPort(uint16_t port);
std::string AdviceForMmio(uint64_t gpa);
std::string AdviceForMsr(uint32_t index);

}  // namespace exitprof::kvm
