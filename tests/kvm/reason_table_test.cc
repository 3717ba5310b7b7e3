// The reason table: its one print fmt parser, tables from real recordings' formats (perf.data
// fixtures, trace-cmd files from kernels 5.15 and 6.5, Linux 4.19's format), the names older
// kernels and trace-cmd's kvm plugin print, and the classes and explanations callers ask for.
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "kvm/kvm_events.h"
#include "kvm/print_symbolic.h"
#include "kvm/reason_table.h"
#include "test_support.h"
#include "trace/trace_events.h"
#include "trace/tracing_data.h"
#include "tracedat/tracedat_support.h"

namespace exitprof::testing {
namespace {

using kvm::Isa;
using kvm::ReasonClass;
using kvm::ReasonTable;
using Pairs = std::vector<std::pair<uint64_t, std::string>>;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The text of format `name` among a recording's formats; "" when it has none.
std::string FormatOf(const std::vector<trace::FormatFile>& formats, const std::string& name) {
  for (const auto& f : formats)
    if (f.text.rfind("name: " + name + "\n", 0) == 0) return f.text;
  return {};
}

TEST(PrintSymbolic, ReadsEveryTableWithItsFieldInOrder) {
  const std::string userspace =
      R"x("reason %s (%d)", REC->errno < 0 ? (REC->errno == -4 ? "restart" : "error") : __print_symbolic(REC->reason, )x"
      R"x({ 0, "KVM_EXIT_" "UNKNOWN" }, { 2, "KVM_EXIT_" "IO" }, { 0x5, "KVM_EXIT_" "HLT" }), REC->errno < 0 ? -REC->errno : REC->reason)x";
  auto u = kvm::ParsePrintSymbolic(userspace);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].field, "reason");
  EXPECT_EQ(u[0].entries, (Pairs{{0, "KVM_EXIT_UNKNOWN"}, {2, "KVM_EXIT_IO"}, {5, "KVM_EXIT_HLT"}}));
  const std::string exit =
      R"x("vcpu %u reason %s", REC->vcpu_id, (REC->isa == 1) ? __print_symbolic(REC->exit_reason & 0xffff, { 0, "EXCEPTION_NMI" }, )x"
      R"x({ 12, "HLT" }) : __print_symbolic(REC->exit_reason, { 0x040 + 14, "PF excp" }, { 0x078, "hlt" }, { -1, "invalid_guest_state" }), )x"
      R"x((REC->isa == 1) ? __print_flags(REC->exit_reason & ~0xffff, " ", { 0x80000000, "FAILED_VMENTRY" }) : "")x";
  auto e = kvm::ParsePrintSymbolic(exit);
  ASSERT_EQ(e.size(), 2u);  // __print_flags is not a symbolic table
  EXPECT_EQ(e[0].field, "exit_reason");
  EXPECT_EQ(e[0].entries, (Pairs{{0, "EXCEPTION_NMI"}, {12, "HLT"}}));
  EXPECT_EQ(e[1].entries, (Pairs{{0x4e, "PF excp"}, {0x78, "hlt"}, {0xffffffff, "invalid_guest_state"}}));
  // Damage: fewer entries, never a crash or an entry made up.
  EXPECT_TRUE(kvm::ParsePrintSymbolic("\"%d\", REC->x").empty());
  auto bad = kvm::ParsePrintSymbolic("__print_symbolic(REC->x, { x, \"y\" }, { 1, \"ok\" }, { 2, \"unterminated }");
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].entries, (Pairs{{1, "ok"}}));
  EXPECT_TRUE(kvm::ParsePrintSymbolic("__print_symbolic(").empty());
}

TEST(ReasonTable, BuiltinIsASixKernelsFormats) {
  const auto& t = ReasonTable::Builtin();
  EXPECT_EQ(t.Entries(Isa::kVmx).size(), 65u);
  EXPECT_EQ(t.Entries(Isa::kSvm).size(), 110u);
  EXPECT_EQ(t.Entries(Isa::kUserspace).size(), 31u);
  EXPECT_EQ(t.NameOf(Isa::kVmx, 30), "IO_INSTRUCTION");
  EXPECT_EQ(t.NameOf(Isa::kVmx, 0x80000000u | 30), "IO_INSTRUCTION");  // FAILED_VMENTRY is a flag
  EXPECT_EQ(t.NameOf(Isa::kSvm, 0x41), "DB excp");
  EXPECT_EQ(t.NameOf(Isa::kSvm, 0xffffffff), "invalid_guest_state");
  EXPECT_EQ(t.NameOf(Isa::kSvm, 30), "reason 30");
  EXPECT_EQ(t.NameOf(Isa::kUserspace, 2), "KVM_EXIT_IO");
  EXPECT_EQ(t.NameOf(Isa::kUnknown, 2), "reason 2");
  const auto* io = t.Find(Isa::kSvm, 0x7b);
  ASSERT_TRUE(io);
  EXPECT_EQ(io->name, "io");
  EXPECT_EQ(io->cls, ReasonClass::kIo);
  EXPECT_TRUE(io->current.empty());
}

TEST(ReasonTable, ReadsLinux419AndSixFormatsFromFiles) {
  const auto six = ReasonTable::FromFormats(ReadText(FormatsDir() + "/kvm/kvm_exit"), ReadText(FormatsDir() + "/kvm/kvm_userspace_exit"));
  const auto old = ReasonTable::FromFormats(ReadText(FormatsDir() + "/linux-4.19/kvm_exit"));
  ASSERT_FALSE(six.Entries(Isa::kVmx).empty());
  EXPECT_EQ(six.NameOf(Isa::kVmx, 48), "EPT_VIOLATION");
  EXPECT_EQ(six.NameOf(Isa::kSvm, 0x400), "npf");
  EXPECT_EQ(six.NameOf(Isa::kUserspace, 6), "KVM_EXIT_MMIO");
  // 4.19's layout (no vcpu_id, no "& 0xffff" mask) reads to the same entries; its userspace
  // table is absent (not given).
  EXPECT_EQ(old.NameOf(Isa::kVmx, 12), "HLT");
  EXPECT_EQ(old.NameOf(Isa::kSvm, 0x400), "npf");
  EXPECT_TRUE(old.Entries(Isa::kUserspace).empty());
  EXPECT_EQ(old.Entries(Isa::kVmx).size(), six.Entries(Isa::kVmx).size());
  EXPECT_EQ(old.Entries(Isa::kSvm).size(), six.Entries(Isa::kSvm).size());
  // Every entry of a format keeps its order and code: the first VMX entries of any kernel.
  EXPECT_EQ(old.Entries(Isa::kVmx)[0].name, "EXCEPTION_NMI");
  EXPECT_EQ(old.Entries(Isa::kVmx)[1].code, 1u);
}

// The perf.data fixtures: the table built from the recording's own kvm_exit format names every
// code the generator wrote as the truth file says, and every reason `report` shows is an entry.
TEST(ReasonTable, FromTheFixturesOwnFormats) {
  for (const char* name : {"small-vmx.data", "small-svm.data"}) {
    SCOPED_TRACE(name);
    const std::string path = SharedDir() + "/fixtures/" + name;
    auto report = ReadReport(path);
    ASSERT_TRUE(report) << report.error().message;
    auto data = trace::ParseTracingData(report->info.tracing_data, path);
    ASSERT_TRUE(data) << data.error().message;
    const auto table = ReasonTable::FromFormats(FormatOf(data->formats, "kvm_exit"));
    const auto truth = nlohmann::json::parse(ReadText(path + ".truth.json"));
    const Isa isa = kvm::ExitIsa(truth["kvm_exit"]["isa"].get<int>());
    ASSERT_FALSE(truth["kvm_exit"]["reason_codes"].empty());
    for (const auto& [reason, code] : truth["kvm_exit"]["reason_codes"].items()) {
      EXPECT_EQ(table.NameOf(isa, code.get<uint64_t>()), reason);
      const auto m = table.Lookup(reason);
      const auto* entry = isa == Isa::kVmx ? m.vmx : m.svm;
      ASSERT_TRUE(entry) << reason;
      EXPECT_EQ(entry->code, code.get<uint64_t>());
    }
    ASSERT_FALSE(report->model.by_reason.empty());
    for (const auto& row : report->model.by_reason) {
      const auto m = table.Lookup(row.reason);
      EXPECT_TRUE(isa == Isa::kVmx ? m.vmx : m.svm) << row.reason;
    }
  }
}

// perf.data's path: KvmEvents builds its table from the recording's print fmt (as TraceEvents
// keeps it), and names exits from it.
TEST(ReasonTable, KvmEventsUsesTheRecordingsTable) {
  const std::string path = SharedDir() + "/fixtures/small-svm.data";
  auto report = ReadReport(path);
  ASSERT_TRUE(report) << report.error().message;
  auto events = trace::TraceEvents::FromTracingData(report->info.tracing_data, path);
  ASSERT_TRUE(events && *events);
  const std::string_view fmt = (*events)->PrintFmt((*events)->FindByName("kvm", "kvm_exit"));
  ASSERT_EQ(fmt.substr(0, 10), "print fmt:");
  kvm::KvmEvents kvm;
  kvm.Bind(report->info, events->get());
  EXPECT_EQ(kvm.reasons().Entries(Isa::kSvm).size(), ReasonTable::FromFormats(fmt).Entries(Isa::kSvm).size());
  EXPECT_EQ(kvm.reasons().NameOf(Isa::kSvm, 0x400), "npf");
  EXPECT_TRUE((*events)->PrintFmt(nullptr).empty());
}

// trace-cmd recordings by real kernels (6.5 with events, 5.15 with formats only): their own
// formats name what `report` counts, with the classes the analyses use.
TEST(ReasonTable, FromRealTraceCmdRecordings) {
  const std::string dir = SharedDir() + "/realdata/trace-cmd/";
  auto host = ReadTraceDatReport(dir + "host-e11ad396.dat");
  ASSERT_TRUE(host) << host.error().message;
  const auto table = ReasonTable::FromFormats(FormatOf(host->file.meta.formats, "kvm_exit"),
                                              FormatOf(host->file.meta.formats, "kvm_userspace_exit"));
  std::map<std::string, uint64_t> counts;
  for (const auto& row : host->model.by_reason) {
    const auto* e = table.Lookup(row.reason).vmx;
    ASSERT_TRUE(e) << row.reason;
    EXPECT_EQ(table.NameOf(Isa::kVmx, e->code), row.reason);
    counts[row.reason] = row.count;
  }
  EXPECT_EQ(counts, (std::map<std::string, uint64_t>{{"APIC_WRITE", 5279}, {"HLT", 2413}, {"EPT_MISCONFIG", 1180},
                                                     {"PREEMPTION_TIMER", 83}, {"EXTERNAL_INTERRUPT", 22},
                                                     {"PAUSE_INSTRUCTION", 16}, {"EOI_INDUCED", 10}, {"EPT_VIOLATION", 2}}));
  EXPECT_EQ(kvm::ClassOf("APIC_WRITE"), ReasonClass::kApic);
  EXPECT_EQ(kvm::ClassOf("EPT_MISCONFIG"), ReasonClass::kMmio);
  EXPECT_EQ(kvm::ClassOf("EPT_VIOLATION"), ReasonClass::kMemory);
  EXPECT_EQ(kvm::ClassOf("PREEMPTION_TIMER"), ReasonClass::kTimer);
  EXPECT_EQ(kvm::ClassOf("EXTERNAL_INTERRUPT"), ReasonClass::kInterrupt);
  // The 5.15.94 kernel's formats (a file with no event data).
  auto v6 = ReadTraceDatReport(dir + "v6-no-event-data-cbe6e513.dat");
  ASSERT_TRUE(v6) << v6.error().message;
  const auto t515 = ReasonTable::FromFormats(FormatOf(v6->file.meta.formats, "kvm_exit"));
  EXPECT_EQ(t515.NameOf(Isa::kVmx, 7), "INTERRUPT_WINDOW");
  EXPECT_EQ(t515.NameOf(Isa::kVmx, 30), "IO_INSTRUCTION");
  EXPECT_EQ(t515.NameOf(Isa::kSvm, 0x7b), "io");
  // Each kernel's own list: 5.15 and 6.5 print fewer reasons than the built-in (6.x) table.
  EXPECT_EQ(t515.Entries(Isa::kVmx).size(), 61u);
  EXPECT_EQ(t515.Entries(Isa::kSvm).size(), 103u);
  EXPECT_EQ(table.Entries(Isa::kVmx).size(), 62u);
  EXPECT_EQ(table.Entries(Isa::kSvm).size(), 108u);
}

TEST(ReasonTable, OldKernelsNamesMapToTheCurrentEntry) {
  const auto& t = ReasonTable::Builtin();
  auto pending = t.Lookup("PENDING_INTERRUPT");  // uapi vmx.h before 5.6, and trace-cmd's VMX name
  ASSERT_TRUE(pending.vmx);
  EXPECT_EQ(pending.vmx->name, "INTERRUPT_WINDOW");
  EXPECT_EQ(pending.vmx->code, 7u);
  EXPECT_FALSE(pending.svm);
  EXPECT_EQ(kvm::ClassOf("PENDING_INTERRUPT"), kvm::ClassOf("INTERRUPT_WINDOW"));
  EXPECT_EQ(kvm::ClassOf("PENDING_INTERRUPT"), ReasonClass::kInterrupt);
  EXPECT_EQ(kvm::ExplainReason("PENDING_INTERRUPT").what, kvm::ExplainReason("INTERRUPT_WINDOW").what);
  // 2.6.3x: lower-case uapi names, and a few of their own.
  EXPECT_EQ(t.Lookup("io_instruction").vmx->code, 30u);
  EXPECT_EQ(kvm::ClassOf("io_instruction"), ReasonClass::kIo);
  EXPECT_EQ(t.Lookup("halt").vmx->name, "HLT");
  EXPECT_TRUE(kvm::IsIdle("halt"));
  EXPECT_EQ(t.Lookup("rdmsr").vmx->name, "MSR_READ");
  EXPECT_EQ(kvm::ClassOf("wrmsr"), ReasonClass::kMsr);
  EXPECT_EQ(t.Lookup("tpr_below_thres").vmx->code, 43u);
  // Names two ISAs share: the caller settles them by the file's other names.
  auto hypercall = t.Lookup("hypercall");
  ASSERT_TRUE(hypercall.vmx && hypercall.svm);
  EXPECT_EQ(hypercall.vmx->name, "VMCALL");
  EXPECT_EQ(hypercall.svm->code, 0x81u);
  auto cpuid = t.Lookup("cpuid");
  ASSERT_TRUE(cpuid.vmx && cpuid.svm);
  EXPECT_EQ(cpuid.vmx->code, 10u);
  EXPECT_EQ(cpuid.svm->code, 0x72u);
  // An old SVM name no 6.x kernel prints keeps its code and class.
  auto cond = t.Lookup("mwait_cond");
  ASSERT_TRUE(cond.svm);
  EXPECT_EQ(cond.svm->code, 0x8cu);
  EXPECT_EQ(cond.svm->name, "mwait_cond");  // 0x8c has no current name: the entry is the old one
  EXPECT_EQ(cond.svm->cls, ReasonClass::kIdle);
}

// Every SVM name of trace-cmd's kvm plugin (libtraceevent plugins/plugin_kvm.c) finds the
// kernel's code for it.
TEST(ReasonTable, TraceCmdPluginSvmNames) {
  const std::map<std::string, uint32_t> plugin = {
      {"EXIT_READ_CR0", 0x000}, {"EXIT_READ_CR3", 0x003}, {"EXIT_READ_CR4", 0x004}, {"EXIT_READ_CR8", 0x008},
      {"EXIT_WRITE_CR0", 0x010}, {"EXIT_WRITE_CR3", 0x013}, {"EXIT_WRITE_CR4", 0x014}, {"EXIT_WRITE_CR8", 0x018},
      {"EXIT_READ_DR0", 0x020}, {"EXIT_READ_DR7", 0x027}, {"EXIT_WRITE_DR0", 0x030}, {"EXIT_WRITE_DR7", 0x037},
      {"EXIT_EXCP_DE", 0x040}, {"EXIT_EXCP_DB", 0x041}, {"EXIT_EXCP_BP", 0x043}, {"EXIT_EXCP_OF", 0x044},
      {"EXIT_EXCP_BR", 0x045}, {"EXIT_EXCP_UD", 0x046}, {"EXIT_EXCP_NM", 0x047}, {"EXIT_EXCP_DF", 0x048},
      {"EXIT_EXCP_TS", 0x04a}, {"EXIT_EXCP_NP", 0x04b}, {"EXIT_EXCP_SS", 0x04c}, {"EXIT_EXCP_GP", 0x04d},
      {"EXIT_EXCP_PF", 0x04e}, {"EXIT_EXCP_MF", 0x050}, {"EXIT_EXCP_AC", 0x051}, {"EXIT_EXCP_MC", 0x052},
      {"EXIT_EXCP_XF", 0x053}, {"EXIT_INTR", 0x060}, {"EXIT_NMI", 0x061}, {"EXIT_SMI", 0x062},
      {"EXIT_INIT", 0x063}, {"EXIT_VINTR", 0x064}, {"EXIT_CR0_SEL_WRITE", 0x065}, {"EXIT_IDTR_READ", 0x066},
      {"EXIT_GDTR_READ", 0x067}, {"EXIT_LDTR_READ", 0x068}, {"EXIT_TR_READ", 0x069}, {"EXIT_IDTR_WRITE", 0x06a},
      {"EXIT_GDTR_WRITE", 0x06b}, {"EXIT_LDTR_WRITE", 0x06c}, {"EXIT_TR_WRITE", 0x06d}, {"EXIT_RDTSC", 0x06e},
      {"EXIT_RDPMC", 0x06f}, {"EXIT_PUSHF", 0x070}, {"EXIT_POPF", 0x071}, {"EXIT_CPUID", 0x072},
      {"EXIT_RSM", 0x073}, {"EXIT_IRET", 0x074}, {"EXIT_SWINT", 0x075}, {"EXIT_INVD", 0x076},
      {"EXIT_PAUSE", 0x077}, {"EXIT_HLT", 0x078}, {"EXIT_INVLPG", 0x079}, {"EXIT_INVLPGA", 0x07a},
      {"EXIT_IOIO", 0x07b}, {"EXIT_MSR", 0x07c}, {"EXIT_TASK_SWITCH", 0x07d}, {"EXIT_FERR_FREEZE", 0x07e},
      {"EXIT_SHUTDOWN", 0x07f}, {"EXIT_VMRUN", 0x080}, {"EXIT_VMMCALL", 0x081}, {"EXIT_VMLOAD", 0x082},
      {"EXIT_VMSAVE", 0x083}, {"EXIT_STGI", 0x084}, {"EXIT_CLGI", 0x085}, {"EXIT_SKINIT", 0x086},
      {"EXIT_RDTSCP", 0x087}, {"EXIT_ICEBP", 0x088}, {"EXIT_WBINVD", 0x089}, {"EXIT_MONITOR", 0x08a},
      {"EXIT_MWAIT", 0x08b}, {"EXIT_MWAIT_COND", 0x08c}, {"EXIT_XSETBV", 0x08d}, {"EXIT_NPF", 0x400},
      {"EXIT_AVIC_INCOMPLETE_IPI", 0x401}, {"EXIT_AVIC_UNACCELERATED_ACCESS", 0x402}, {"EXIT_ERR", 0xffffffff},
  };
  const auto& t = ReasonTable::Builtin();
  for (const auto& [name, code] : plugin) {
    const auto m = t.Lookup(name);
    ASSERT_TRUE(m.svm) << name;
    EXPECT_EQ(m.svm->code, code) << name;
    EXPECT_FALSE(m.vmx) << name;
  }
  EXPECT_EQ(t.Lookup("EXIT_NPF").svm->name, "npf");
  EXPECT_EQ(t.Lookup("EXIT_TR_READ").svm->name, "read_rt");  // the kernel's spelling
  EXPECT_EQ(t.Lookup("EXIT_EXCP_PF").svm->name, "PF excp");
  EXPECT_EQ(kvm::ClassOf("EXIT_NPF"), ReasonClass::kMmio);
  EXPECT_EQ(kvm::ClassOf("EXIT_IOIO"), ReasonClass::kIo);
  EXPECT_TRUE(kvm::IsIdle("EXIT_HLT"));
  EXPECT_TRUE(kvm::IsIdle("EXIT_MWAIT_COND"));
  EXPECT_FALSE(t.Lookup("EXIT_NO_SUCH").found());
}

TEST(ReasonTable, ClassesReplaceTheStringTests) {
  // The names report and top counted as idle before the table: still idle, and nothing else.
  for (const char* idle : {"HLT", "MWAIT_INSTRUCTION", "PAUSE_INSTRUCTION", "TPAUSE", "UMWAIT", "hlt", "mwait",
                           "mwait_cond", "pause", "idle-halt"}) {
    EXPECT_TRUE(kvm::IsIdle(idle)) << idle;
  }
  for (const char* busy : {"IO_INSTRUCTION", "io", "npf", "EPT_MISCONFIG", "MSR_WRITE", "CPUID", "reason 99", ""})
    EXPECT_FALSE(kvm::IsIdle(busy)) << busy;
  for (const char* io : {"IO_INSTRUCTION", "io", "KVM_EXIT_IO"}) EXPECT_EQ(kvm::ClassOf(io), ReasonClass::kIo) << io;
  for (const char* msr : {"MSR_WRITE", "MSR_READ", "msr"}) EXPECT_EQ(kvm::ClassOf(msr), ReasonClass::kMsr) << msr;
  for (const char* mmio : {"EPT_MISCONFIG", "npf", "KVM_EXIT_MMIO"}) EXPECT_EQ(kvm::ClassOf(mmio), ReasonClass::kMmio) << mmio;
  EXPECT_EQ(kvm::ClassOf("vmgexit_no_such"), ReasonClass::kOther);
  EXPECT_STREQ(kvm::ClassName(ReasonClass::kIdle), "idle");
  EXPECT_STREQ(kvm::IsaName(kvm::ExitIsa(2)), "SVM");
  EXPECT_EQ(kvm::ExitIsa(7), Isa::kUnknown);
}

TEST(ReasonTable, ExplanationsAreKnownOnceForEveryName) {
  EXPECT_EQ(kvm::ExplainReason("HLT").what, "The guest halted a vCPU because it had nothing to run: idle time, not overhead.");
  EXPECT_TRUE(kvm::ExplainReason("EXIT_HLT").known());   // trace-cmd's name: the SVM entry's text
  EXPECT_EQ(kvm::ExplainReason("EXIT_HLT").what, kvm::ExplainReason("hlt").what);
  EXPECT_EQ(kvm::ExplainReason("halt").remedy, kvm::ExplainReason("HLT").remedy);
  EXPECT_TRUE(kvm::ExplainReason("KVM_EXIT_IO").known());
  EXPECT_FALSE(kvm::ExplainReason("TPAUSE").known());  // classed, not yet explained
  EXPECT_FALSE(kvm::ExplainReason("no such reason").known());
}

TEST(ReasonTable, NoFormatFallsBackToTheBuiltinTable) {
  const auto empty = ReasonTable::FromFormats("", "");
  EXPECT_TRUE(empty.Entries(Isa::kVmx).empty());
  EXPECT_EQ(empty.NameOf(Isa::kVmx, 12), "reason 12");
  // Old names still resolve in a table with no format, to their own entries.
  ASSERT_TRUE(empty.Lookup("PENDING_INTERRUPT").vmx);
  EXPECT_EQ(empty.Lookup("PENDING_INTERRUPT").vmx->code, 7u);
  // FromTracefs: this host's formats when tracefs has kvm, else the built-in table.
  const auto host = ReasonTable::FromTracefs();
  EXPECT_EQ(host.NameOf(Isa::kVmx, 12), "HLT");
  EXPECT_EQ(host.NameOf(Isa::kSvm, 0x78), "hlt");
}

}  // namespace
}  // namespace exitprof::testing
