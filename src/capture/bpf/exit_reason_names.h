// Names of kvm_exit reasons for counts read from BPF maps (which hold only numbers), taken
// from this kernel's own kvm_exit print fmt in tracefs, so they match `report` and perf.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace exitprof::capture::bpf {

class ExitReasonNames {
 public:
  // Reads events/kvm/kvm_exit/format; with no tracefs the names are numbers.
  static ExitReasonNames FromTracefs();
  // Parses a print fmt: the first __print_symbolic is VMX (isa 1), the second SVM (isa 2).
  static ExitReasonNames FromPrintFmt(const std::string& print_fmt);

  std::string Name(uint32_t isa, uint32_t reason) const;
  static const char* IsaName(uint32_t isa) { return isa == 1 ? "VMX" : isa == 2 ? "SVM" : ""; }

 private:
  std::map<std::pair<uint32_t, uint64_t>, std::string> names_;
};

}  // namespace exitprof::capture::bpf
