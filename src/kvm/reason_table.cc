#include "kvm/reason_table.h"

#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "kvm/print_symbolic.h"
#include "kvm/reason_knowledge.h"

namespace exitprof::kvm {

namespace {
#include "kvm_reason_formats.inc"

size_t Index(Isa isa) { return static_cast<size_t>(isa) < 4 ? static_cast<size_t>(isa) : 0; }

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
bool IsLower(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return false;
  return true;
}

// The symbolic tables of one format for one field, in order.
std::vector<const SymbolicTable*> TablesOf(const std::vector<SymbolicTable>& all, std::string_view field) {
  std::vector<const SymbolicTable*> out;
  for (const auto& t : all)
    if (t.field == field) out.push_back(&t);
  return out;
}

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  return in ? std::string(std::istreambuf_iterator<char>(in), {}) : std::string();
}

}  // namespace

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kVmx: return "VMX";
    case Isa::kSvm: return "SVM";
    case Isa::kUserspace: return "userspace";
    default: return "";
  }
}

const char* ClassName(ReasonClass cls) {
  switch (cls) {
    case ReasonClass::kIdle: return "idle";
    case ReasonClass::kSpin: return "spin";
    case ReasonClass::kIo: return "io";
    case ReasonClass::kMmio: return "mmio";
    case ReasonClass::kMemory: return "memory";
    case ReasonClass::kMsr: return "msr";
    case ReasonClass::kInterrupt: return "interrupt";
    case ReasonClass::kApic: return "apic";
    case ReasonClass::kTimer: return "timer";
    case ReasonClass::kInstruction: return "instruction";
    case ReasonClass::kException: return "exception";
    case ReasonClass::kVmmRequest: return "vmm-request";
    default: return "other";
  }
}

void ReasonTable::AddFormatEntries(Isa isa, const std::vector<std::pair<uint64_t, std::string>>& entries) {
  auto& list = current_[Index(isa)];
  for (const auto& [code, name] : entries) {
    const knowledge::About* about = knowledge::Find(name);
    by_name_[Index(isa)].emplace(name, list.size());
    list.push_back({name, isa, static_cast<uint32_t>(code), about ? about->cls : ReasonClass::kOther, {}});
  }
}

ReasonTable ReasonTable::FromFormats(std::string_view kvm_exit, std::string_view kvm_userspace_exit) {
  ReasonTable t;
  const auto exit_tables = ParsePrintSymbolic(kvm_exit);
  const auto exits = TablesOf(exit_tables, "exit_reason");
  if (exits.size() >= 1) t.AddFormatEntries(Isa::kVmx, exits[0]->entries);
  if (exits.size() >= 2) t.AddFormatEntries(Isa::kSvm, exits[1]->entries);
  const auto uexit_tables = ParsePrintSymbolic(kvm_userspace_exit);
  if (const auto u = TablesOf(uexit_tables, "reason"); !u.empty()) t.AddFormatEntries(Isa::kUserspace, u[0]->entries);
  // The old names: the code each stood for, under its current name when the table has one.
  for (const auto& old : knowledge::OldNames()) {
    ReasonInfo info{std::string(old.name), old.isa, old.code, ReasonClass::kOther, {}};
    if (const ReasonInfo* now = t.Find(old.isa, old.code)) info.current = now->name, info.cls = now->cls;
    else if (const auto* about = knowledge::Find(old.name)) info.cls = about->cls;
    t.old_.push_back(std::move(info));
  }
  return t;
}

const ReasonTable& ReasonTable::Builtin() {
  static const ReasonTable table = FromFormats(kFormat_kvm_exit, kFormat_kvm_userspace_exit);
  return table;
}

ReasonTable ReasonTable::FromTracefs() {
  for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    const std::string base = std::string(root) + "/events/kvm/";
    std::string exit = ReadFile((base + "kvm_exit/format").c_str());
    if (exit.empty()) continue;
    return FromFormats(exit, ReadFile((base + "kvm_userspace_exit/format").c_str()));
  }
  return Builtin();
}

const std::vector<ReasonInfo>& ReasonTable::Entries(Isa isa) const { return current_[Index(isa)]; }

const ReasonInfo* ReasonTable::Find(Isa isa, uint64_t code) const {
  for (const auto& e : current_[Index(isa)])
    if (e.code == code) return &e;
  return nullptr;
}

std::string ReasonTable::NameOf(Isa isa, uint64_t code) const {
  const uint64_t key = isa == Isa::kVmx ? (code & 0xffff) : code;  // VMX keeps flags in the high bits
  if (const ReasonInfo* e = Find(isa, key)) return e->name;
  std::ostringstream s;
  s << "reason " << code;
  return s.str();
}

const ReasonInfo* ReasonTable::ByName(Isa isa, std::string_view name) const {
  const auto& index = by_name_[Index(isa)];
  auto it = index.find(name);
  return it == index.end() ? nullptr : &current_[Index(isa)][it->second];
}

ReasonTable::Match ReasonTable::Lookup(std::string_view name) const {
  Match m;
  // The common case first and alone: a current VMX name (upper case, no other ISA's).
  if ((m.vmx = ByName(Isa::kVmx, name))) return m;
  m.svm = ByName(Isa::kSvm, name);
  m.userspace = ByName(Isa::kUserspace, name);
  for (const auto& old : old_) {
    if (old.name != name) continue;
    const ReasonInfo* now = Find(old.isa, old.code);
    (old.isa == Isa::kVmx ? m.vmx : m.svm) = now ? now : &old;
  }
  // The oldest VMX kernels printed the uapi names in lower case ("io_instruction").
  if (!m.vmx && IsLower(name)) m.vmx = ByName(Isa::kVmx, Upper(name));
  // The kvm plugin's SVM names: "EXIT_NPF" is the kernel's "npf", "EXIT_EXCP_PF" its "PF excp".
  if (!m.svm && name.substr(0, 5) == "EXIT_") {
    std::string_view rest = name.substr(5);
    if (rest.substr(0, 5) == "EXCP_") m.svm = ByName(Isa::kSvm, std::string(rest.substr(5)) + " excp");
    else m.svm = ByName(Isa::kSvm, Lower(rest));
  }
  return m;
}

namespace {

// The knowledge entry of a name, directly or through the current name of the code it stood for.
const knowledge::About* AboutName(std::string_view name) {
  if (const auto* about = knowledge::Find(name)) return about;
  const auto m = ReasonTable::Builtin().Lookup(name);
  for (const ReasonInfo* e : {m.vmx, m.svm, m.userspace}) {
    if (!e) continue;
    if (const auto* about = knowledge::Find(e->current.empty() ? e->name : e->current)) return about;
    // Old names of one code share what is known (EXIT_MWAIT_COND is 2.6.3x's mwait_cond).
    for (const auto& old : knowledge::OldNames()) {
      if (old.isa != e->isa || old.code != e->code) continue;
      if (const auto* about = knowledge::Find(old.name)) return about;
    }
  }
  return nullptr;
}

}  // namespace

ReasonClass ClassOf(std::string_view name) {
  const auto* about = AboutName(name);
  return about ? about->cls : ReasonClass::kOther;
}

bool IsIdle(std::string_view name) {
  const ReasonClass cls = ClassOf(name);
  return cls == ReasonClass::kIdle || cls == ReasonClass::kSpin;
}

Explanation ExplainReason(std::string_view name) {
  const auto* about = AboutName(name);
  if (!about || !about->what) return {};
  return {about->what, about->remedy};
}

}  // namespace exitprof::kvm
