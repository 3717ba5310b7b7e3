// One or two plain sentences per exit reason (VMX and SVM names, and KVM's userspace exit
// reasons): what the exit is and the usual remedy. One reviewed table, in explanations.cc.
#pragma once

#include <string>

namespace exitprof::kvm {

struct Explanation {
  std::string what;
  std::string remedy;
  bool known() const { return !what.empty(); }
};

Explanation ExplainReason(const std::string& reason);
// For port and MMIO exits: refines the advice by what is behind the address.
std::string AdviceForPort(uint16_t port);
std::string AdviceForMmio(uint64_t gpa);
std::string AdviceForMsr(uint32_t index);

}  // namespace exitprof::kvm
