#include "textcapture/reason_names.h"

#include <array>
#include <map>
#include <string>

#include "textcapture/payload_parser.h"

namespace exitprof::textcapture {

namespace {

constexpr uint32_t kNone = UINT32_MAX - 1;  // not a name of that ISA

// Names the built-in (6.x) format does not print, with their values. Sources: Linux's
// arch/x86/include/uapi/asm/vmx.h before 5.6 (PENDING_INTERRUPT, renamed INTERRUPT_WINDOW),
// the 2.6.3x vmx.c/svm.c exit_reasons_str tables (lower case), and libtraceevent's kvm plugin,
// which trace-cmd report prints kvm_exit with (its VMX names are the uapi ones; its SVM names
// are the SVM_EXIT_* macros without the prefix: "EXIT_NPF").
struct Alias {
  const char* name;
  uint32_t vmx, svm;
};
constexpr Alias kAliases[] = {
    // VMX, uapi vmx.h until 5.6 and the kvm plugin.
    {"PENDING_INTERRUPT", 7, kNone},
    // VMX, 2.6.3x vmx_exit_reasons_str (the names that are not the lower-case uapi name).
    {"exception", 0, kNone},
    {"ext_irq", 1, kNone},
    {"rdmsr", 31, kNone},
    {"wrmsr", 32, kNone},
    {"halt", 12, kNone},
    {"hypercall", 18, 0x081},  // also SVM's VMMCALL
    {"tpr_below_thres", 43, kNone},
    // SVM, the kvm plugin's names whose lower case is not the kernel's.
    {"EXIT_INTR", kNone, 0x060},
    {"EXIT_IDTR_READ", kNone, 0x066},
    {"EXIT_GDTR_READ", kNone, 0x067},
    {"EXIT_LDTR_READ", kNone, 0x068},
    {"EXIT_TR_READ", kNone, 0x069},
    {"EXIT_IDTR_WRITE", kNone, 0x06a},
    {"EXIT_GDTR_WRITE", kNone, 0x06b},
    {"EXIT_LDTR_WRITE", kNone, 0x06c},
    {"EXIT_TR_WRITE", kNone, 0x06d},
    {"EXIT_IOIO", kNone, 0x07b},
    {"EXIT_VMMCALL", kNone, 0x081},
    {"EXIT_MWAIT_COND", kNone, 0x08c},
    {"EXIT_ERR", kNone, 0xffffffff},
    // SVM, 2.6.3x svm_exit_reasons_str.
    {"mwait_cond", kNone, 0x08c},
};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<uint32_t> Find(const SymbolTable& t, std::string_view name) {
  auto it = t.find(name);
  if (it == t.end()) return std::nullopt;
  return static_cast<uint32_t>(it->second);
}

bool IsLower(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return false;
  return true;
}

}  // namespace

std::optional<ReasonValue> LookupReason(std::string_view name) {
  const auto& tb = ExitReasonTables();
  ReasonValue out;
  out.vmx = Find(tb.vmx, name);
  // The common case, first and alone: a current VMX name (upper case, no other ISA's).
  if (out.vmx) return out;
  out.svm = Find(tb.svm, name);
  for (const Alias& a : kAliases) {
    if (name != a.name) continue;
    if (a.vmx != kNone) out.vmx = a.vmx;
    if (a.svm != kNone) out.svm = a.svm;
  }
  // The oldest VMX kernels printed the uapi names in lower case ("io_instruction").
  if (!out.vmx && IsLower(name)) out.vmx = Find(tb.vmx, Upper(name));
  // The kvm plugin's SVM names: "EXIT_NPF" is the kernel's "npf", "EXIT_EXCP_PF" its "PF excp".
  if (!out.svm && name.substr(0, 5) == "EXIT_") {
    std::string_view rest = name.substr(5);
    if (rest.substr(0, 5) == "EXCP_") out.svm = Find(tb.svm, std::string(rest.substr(5)) + " excp");
    else out.svm = Find(tb.svm, Lower(rest));
  }
  if (!out.vmx && !out.svm) return std::nullopt;
  return out;
}

}  // namespace exitprof::textcapture
