// The one table of KVM exit reasons: every name a kernel or tool prints for a kvm_exit or
// kvm_userspace_exit reason, with its ISA, numeric code, class and explanation.
//
// A table is built from a recording's (or this host's) own print fmts, read by the one parser in
// kvm/print_symbolic.h, so names follow the kernel that recorded. When no format is at hand (text
// captures, BPF counts without tracefs) the built-in table stands in: a 6.x kernel's formats.
// Every table also knows the names older kernels and trace-cmd's kvm plugin printed
// (PENDING_INTERRUPT for INTERRUPT_WINDOW, EXIT_NPF for npf, ...), mapped to the current entry.
//
// Classes and explanations are knowledge about a name, whichever table it came from: callers
// ask ClassOf / IsIdle / ExplainReason instead of comparing strings.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace exitprof::kvm {

// kvm_exit's isa field: 1 VMX, 2 SVM; kUserspace for kvm_userspace_exit's KVM_EXIT_* reasons.
enum class Isa : uint8_t { kUnknown = 0, kVmx = 1, kSvm = 2, kUserspace = 3 };
const char* IsaName(Isa isa);  // "VMX", "SVM", "userspace", ""
// kvm_exit's isa field as an Isa (kUnknown for values other than 1 and 2).
inline Isa ExitIsa(uint64_t isa_field) { return isa_field == 1 ? Isa::kVmx : isa_field == 2 ? Isa::kSvm : Isa::kUnknown; }

// What an exit is about, for the analyses that treat kinds of exits alike.
enum class ReasonClass : uint8_t {
  kOther,
  kIdle,       // the guest had nothing to run: HLT, MWAIT, TPAUSE ... (idle time, not overhead)
  kSpin,       // pause-loop exits: a vCPU spinning on a lock (counted as idle time, as kvm_stat does not)
  kIo,         // port I/O (IN/OUT)
  kMmio,       // an access to emulated device memory
  kMemory,     // guest memory not yet mapped (EPT violation)
  kMsr,        // an intercepted MSR read or write
  kInterrupt,  // host interrupts, interrupt and NMI windows
  kApic,       // APIC virtualization: APIC_WRITE, EOI, AVIC
  kTimer,      // the VMX preemption timer
  kInstruction,  // an instruction that always exits (CPUID, RDTSC, XSETBV, CR access ...)
  kException,    // an intercepted guest exception or NMI
  kVmmRequest,   // userspace exits that are not I/O: signals, shutdown, system events
};
const char* ClassName(ReasonClass cls);  // "idle", "io", ...

struct Explanation {
  std::string what;
  std::string remedy;
  bool known() const { return !what.empty(); }
};

struct ReasonInfo {
  std::string name;  // as printed
  Isa isa = Isa::kUnknown;
  uint32_t code = 0;
  ReasonClass cls = ReasonClass::kOther;
  // Empty for a name the table's formats print; else the name they print for this code
  // (PENDING_INTERRUPT -> INTERRUPT_WINDOW).
  std::string current;
};

class ReasonTable {
 public:
  // From format files' text (or just their print fmt lines): a kvm_exit format's first
  // __print_symbolic of exit_reason is VMX's, its second SVM's; kvm_userspace_exit's of reason
  // is the userspace table. Either may be empty; what a text lacks comes from the built-in table.
  static ReasonTable FromFormats(std::string_view kvm_exit, std::string_view kvm_userspace_exit = {});
  // A 6.x kernel's formats.
  static const ReasonTable& Builtin();
  // This host's events/kvm/{kvm_exit,kvm_userspace_exit}/format; the built-in table without tracefs.
  static ReasonTable FromTracefs();

  // The entries an ISA's format prints, in its order (what kvm_stat -t lists as counters).
  const std::vector<ReasonInfo>& Entries(Isa isa) const;
  const ReasonInfo* Find(Isa isa, uint64_t code) const;
  // The printed name; VMX codes lose their flag bits (FAILED_VMENTRY); "reason N" when unknown.
  std::string NameOf(Isa isa, uint64_t code) const;

  // A printed name back to its entry under each ISA that has it: a current name, an old
  // kernel's or trace-cmd's. Lower-case names can be both ("cpuid": SVM's name, and VMX's in
  // 2.6.3x kernels), so the caller decides by the file's other names.
  struct Match {
    const ReasonInfo* vmx = nullptr;
    const ReasonInfo* svm = nullptr;
    const ReasonInfo* userspace = nullptr;
    bool found() const { return vmx || svm || userspace; }
  };
  Match Lookup(std::string_view name) const;

 private:
  void AddFormatEntries(Isa isa, const std::vector<std::pair<uint64_t, std::string>>& entries);
  const ReasonInfo* ByName(Isa isa, std::string_view name) const;
  std::vector<ReasonInfo> current_[4];  // by Isa
  std::map<std::string, size_t, std::less<>> by_name_[4];  // name -> index in current_ (first wins)
  std::vector<ReasonInfo> old_;         // old kernels' and trace-cmd's names
};

// Knowledge about a printed name (any table's, any ISA's, old or current).
ReasonClass ClassOf(std::string_view name);
// Idle or spinning: the exit's time is not virtualization overhead.
bool IsIdle(std::string_view name);
Explanation ExplainReason(std::string_view name);

}  // namespace exitprof::kvm
