// shared/realdata/trace-cmd: trace.dat files recorded by trace-cmd 2.9 and 3.2 on real hosts
// (see shared/realdata/README.md). Every number below is the README's truth, taken with a
// zlib-enabled `trace-cmd report`.
#include <gtest/gtest.h>

#include <sstream>

#include "tracedat_support.h"

namespace exitprof::testing {
namespace {

std::string RealFile(const std::string& name) { return SharedDir() + "/realdata/trace-cmd/" + name; }

#define NEED_FILE(path) \
  if (!FileExists(path)) GTEST_SKIP() << "needs " << path

TEST(TraceDatRealData, HostE11ad396CountsReasonsAndThread) {
  const std::string path = RealFile("host-e11ad396.dat");
  NEED_FILE(path);
  auto r = ReadTraceDatReport(path);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->file.version, 7);
  EXPECT_EQ(r->file.compression, "zlib");
  EXPECT_EQ(EventCounts(r->model), (std::map<std::string, uint64_t>{{"kvm:kvm_exit", 9005}, {"kvm:kvm_entry", 9004}}));
  EXPECT_EQ(ReasonCounts(r->model), (std::map<std::string, uint64_t>{{"APIC_WRITE", 5279},
                                                                     {"HLT", 2413},
                                                                     {"EPT_MISCONFIG", 1180},
                                                                     {"PREEMPTION_TIMER", 83},
                                                                     {"EXTERNAL_INTERRUPT", 22},
                                                                     {"PAUSE_INSTRUCTION", 16},
                                                                     {"EOI_INDUCED", 10},
                                                                     {"EPT_VIOLATION", 2}}));
  EXPECT_EQ(r->model.isa, "VMX");
  // tsc2nsec converts x86-tsc ticks: the span is in seconds, as trace-cmd shows it.
  EXPECT_TRUE(r->read_info.tsc2nsec);
  EXPECT_FALSE(r->read_info.in_ticks);
  EXPECT_NEAR(r->model.span_s, 3.71, 0.005);
  ASSERT_EQ(r->model.by_vcpu.size(), 1u);
  EXPECT_EQ(r->model.by_vcpu[0].tid, 503844u);
  EXPECT_EQ(r->model.by_vcpu[0].count, 9005u);
  EXPECT_EQ(r->stats.damaged_records, 0u);
  EXPECT_EQ(r->stats.lost_events, 0u);
}

TEST(TraceDatRealData, HostA0496a7cTwoVmsShareVcpuIdZeroAndStayApart) {
  const std::string path = RealFile("host-a0496a7c.dat");
  NEED_FILE(path);
  auto r = ReadTraceDatReport(path);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(EventCounts(r->model), (std::map<std::string, uint64_t>{{"kvm:kvm_exit", 5860}, {"kvm:kvm_entry", 5861}}));
  EXPECT_EQ(r->model.events.size(), 2u);  // only the events present (and kvm_exit/kvm_entry) become attrs
  EXPECT_EQ(ReasonCounts(r->model), (std::map<std::string, uint64_t>{{"APIC_WRITE", 3206},
                                                                     {"HLT", 1665},
                                                                     {"EPT_MISCONFIG", 431},
                                                                     {"MSR_WRITE", 313},
                                                                     {"PREEMPTION_TIMER", 145},
                                                                     {"EPT_VIOLATION", 40},
                                                                     {"EXTERNAL_INTERRUPT", 18},
                                                                     {"EOI_INDUCED", 16},
                                                                     {"CPUID", 10},
                                                                     {"PAUSE_INSTRUCTION", 9},
                                                                     {"MSR_READ", 7}}));
  EXPECT_NEAR(r->model.span_s, 2.25, 0.005);
  std::map<int64_t, uint64_t> by_vcpu_id;
  std::map<uint32_t, uint64_t> by_tid;
  std::map<uint32_t, int64_t> vcpu_of_tid;
  for (const auto& row : r->model.by_vcpu) {
    by_vcpu_id[row.vcpu] += row.count;
    by_tid[row.tid] += row.count;
    vcpu_of_tid[row.tid] = row.vcpu;
  }
  EXPECT_EQ(by_vcpu_id, (std::map<int64_t, uint64_t>{{0, 5621}, {1, 239}}));
  // vcpu_id 0 belongs to two VMs: the Salamander4 VM's thread and another VM's "CPU 0/KVM".
  EXPECT_EQ(by_tid[483882], 5356u);
  EXPECT_EQ(vcpu_of_tid[483882], 0);
  uint64_t other_vcpu0 = 0;
  for (const auto& [tid, vcpu] : vcpu_of_tid) {
    if (vcpu == 0 && tid != 483882) other_vcpu0 += by_tid[tid];
  }
  EXPECT_EQ(other_vcpu0, 5621u - 5356u);
  // The VM table keeps them apart too.
  uint64_t salamander = 0;
  for (const auto& vm : r->model.by_vm) {
    if (vm.pid == 483882) salamander = vm.count;
  }
  EXPECT_EQ(salamander, 5356u);
  EXPECT_GE(r->model.by_vm.size(), 2u);
}

TEST(TraceDatRealData, CliVcpuTableSeparatesTheTwoVms) {
  const std::string path = RealFile("host-a0496a7c.dat");
  NEED_FILE(path);
  auto cli = RunCommand(Exitprof() + " report -i " + path + " --by vcpu");
  ASSERT_EQ(cli.status, 0) << cli.err;
  EXPECT_NE(cli.out.find("5356"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("483882      0    483882  qemu-system-x86"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("CPU 0/KVM"), std::string::npos) << cli.out;
}

// The guest's kallsyms (embedded in the guest-side file) name the code behind the host's exits.
TEST(TraceDatRealData, GuestKallsymsResolveTheHostExits) {
  const std::string host = RealFile("host-a0496a7c.dat"), guest = RealFile("guest-4780888b.dat");
  NEED_FILE(host);
  NEED_FILE(guest);
  auto g = ReadTraceDatReport(guest);
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->model.exits_total, 0u);  // a guest file: cobalt, sched, irq events, no kvm
  EXPECT_EQ(g->stats.damaged_records, 0u);
  std::map<uint64_t, std::string> symbols;
  std::istringstream in(g->file.meta.kallsyms);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string addr, type, name;
    if (!(f >> addr >> type >> name) || (type != "t" && type != "T")) continue;
    // Section markers (__cpuidle_text_start) share their address with the first function.
    auto marker = [](const std::string& n) {
      return n.size() > 6 && (n.ends_with("_start") || n.ends_with("_end")) && n.starts_with("__");
    };
    auto [it, fresh] = symbols.emplace(std::stoull(addr, nullptr, 16), name);
    if (!fresh && marker(it->second) && !marker(name)) it->second = name;
  }
  ASSERT_FALSE(symbols.empty());
  EXPECT_NE(g->file.meta.kallsyms.find("ffffffffa0000000 T _text\n"), std::string::npos);
  auto resolve = [&](uint64_t rip) {
    auto it = symbols.upper_bound(rip);
    if (it == symbols.begin()) return std::string("?");
    --it;
    std::ostringstream s;
    s << it->second << "+0x" << std::hex << (rip - it->first);
    return s.str();
  };
  analysis::ExitFilter filter;
  filter.pid = 483882;
  auto h = ReadTraceDatReport(host, filter);
  ASSERT_TRUE(h) << h.error().message;
  std::map<std::string, std::pair<std::string, uint64_t>> top;  // reason -> (symbol, count)
  for (const auto& row : h->model.by_rip) {
    if (!top.count(row.reason)) top[row.reason] = {resolve(row.rip), row.count};
  }
  EXPECT_EQ(top["APIC_WRITE"], (std::pair<std::string, uint64_t>{"native_apic_mem_write+0x8", 3206}));
  EXPECT_EQ(top["HLT"], (std::pair<std::string, uint64_t>{"default_idle+0xf", 1488}));
  EXPECT_EQ(top["EPT_MISCONFIG"], (std::pair<std::string, uint64_t>{"iowrite16+0x9", 187}));
}

TEST(TraceDatRealData, FilesWithoutEventsReportZeroCleanly) {
  for (const char* name : {"v6-no-event-data-cbe6e513.dat", "v7-no-events-ef334946.dat"}) {
    const std::string path = RealFile(name);
    NEED_FILE(path);
    auto r = ReadTraceDatReport(path);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->model.samples, 0u) << name;
    EXPECT_EQ(r->model.exits_total, 0u) << name;
    EXPECT_EQ(r->stats.damaged_records, 0u) << name;
    auto cli = RunCommand(Exitprof() + " report -i " + path);
    EXPECT_EQ(cli.status, 0) << name << ": " << cli.err;
    EXPECT_NE(cli.out.find("samples: 0"), std::string::npos) << cli.out;
  }
  auto v6 = ReadTraceDatReport(RealFile("v6-no-event-data-cbe6e513.dat"));
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->file.version, 6);
  EXPECT_EQ(v6->file.compression, "none");
}

}  // namespace
}  // namespace exitprof::testing

namespace exitprof::testing {
namespace {

// The small files fuzz/make_tracedat_seeds.py writes (Debian's trace-cmd reads the v6, v7 and
// v7-zstd ones the same way): two CPUs, 3 kvm_exit + 3 kvm_entry + 1 kvm_pio each, one page
// flagged with dropped events per CPU; the instance file has a second buffer and tsc2nsec.
TEST(TraceDatSeeds, VersionsCompressionsBuffersAndClocks) {
  const std::string dir = SourceDir() + "/fuzz/corpus/tracedat/";
  for (const char* name : {"v6.dat", "v7-none.dat", "v7-zlib.dat", "v7-zstd.dat"}) {
    auto r = ReadTraceDatReport(dir + name);
    ASSERT_TRUE(r) << name << ": " << r.error().message;
    EXPECT_EQ(EventCounts(r->model),
              (std::map<std::string, uint64_t>{{"kvm:kvm_exit", 6}, {"kvm:kvm_entry", 6}, {"kvm:kvm_pio", 2}}))
        << name;
    // x86-tsc with no tsc2nsec: ticks, and the report says so.
    EXPECT_TRUE(r->read_info.in_ticks) << name;
    EXPECT_TRUE(r->model.time_in_ticks) << name;
    EXPECT_EQ(r->stats.damaged_records, 0u) << name;
  }
  auto inst = ReadTraceDatReport(dir + "v7-instance-tsc2nsec.dat");
  ASSERT_TRUE(inst) << inst.error().message;
  EXPECT_EQ(inst->file.buffers.size(), 2u);
  EXPECT_EQ(inst->model.samples, 28u);  // both buffers, merged
  EXPECT_TRUE(inst->read_info.tsc2nsec);
  EXPECT_FALSE(inst->model.time_in_ticks);
  ASSERT_EQ(inst->file.guests.size(), 1u);
  EXPECT_EQ(inst->file.guests[0].name, "vm0");
  auto json = RunCommand(Exitprof() + " report --format json -i " + dir + "v6.dat");
  ASSERT_EQ(json.status, 0) << json.err;
  EXPECT_NE(json.out.find("\"unit\": \"ticks\""), std::string::npos) << json.out;
  auto text = RunCommand(Exitprof() + " report -i " + dir + "v6.dat");
  EXPECT_NE(text.out.find("timestamps are x86-tsc ticks"), std::string::npos) << text.out;
}

}  // namespace
}  // namespace exitprof::testing

namespace exitprof::testing {
namespace {

// The two halves joined through the command line: the host's trace.dat and the guest's kallsyms
// (inflated from the guest recording, tests/data) give the shared README's answers per function.
TEST(TraceDatRealData, ReportBySymWithTheGuestKallsyms) {
  std::string kallsyms = TempPath("salamander4.kallsyms");
  ASSERT_EQ(RunCommand("zcat " + SourceDir() + "/tests/data/salamander4-guest.kallsyms.gz > " + kallsyms).status, 0);
  auto r = RunCommand(Exitprof() + " report -i " + SharedDir() + "/realdata/trace-cmd/host-a0496a7c.dat --kallsyms " +
                      kallsyms + " -p 483882 --by sym --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  auto report = nlohmann::json::parse(r.out);
  std::map<std::string, uint64_t> top;  // reason -> count of its first (largest) function
  std::map<std::string, std::string> top_name;
  for (const auto& row : report["exits"]["by_sym"]) {
    std::string reason = row["reason"];
    if (top.count(reason)) continue;
    top[reason] = row["count"];
    top_name[reason] = row["symbol"];
  }
  EXPECT_EQ(top_name["APIC_WRITE"], "native_apic_mem_write");
  EXPECT_EQ(top["APIC_WRITE"], 3206u);
  EXPECT_EQ(top_name["HLT"], "default_idle");
  EXPECT_EQ(top["HLT"], 1488u);
  EXPECT_EQ(top_name["EPT_MISCONFIG"], "iowrite16");
  EXPECT_EQ(top["EPT_MISCONFIG"], 187u);
}

// --kallsyms takes the guest's trace.dat itself: the kallsyms it embeds name the RIPs as the
// inflated dump above does.
TEST(TraceDatRealData, KallsymsFromTheGuestTraceDat) {
  const std::string guest = RealFile("guest-4780888b.dat");
  NEED_FILE(guest);
  auto r = RunCommand(Exitprof() + " report -i " + RealFile("host-a0496a7c.dat") + " --kallsyms " + guest +
                      " -p 483882 --by sym --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  auto report = nlohmann::json::parse(r.out);
  std::map<std::string, std::pair<std::string, uint64_t>> top;  // reason -> its largest function
  for (const auto& row : report["exits"]["by_sym"])
    if (!top.count(row["reason"])) top[row["reason"]] = {row["symbol"], row["count"]};
  EXPECT_EQ(top["APIC_WRITE"], std::make_pair(std::string("native_apic_mem_write"), uint64_t{3206}));
  EXPECT_EQ(top["HLT"], std::make_pair(std::string("default_idle"), uint64_t{1488}));
  EXPECT_EQ(top["EPT_MISCONFIG"], std::make_pair(std::string("iowrite16"), uint64_t{187}));
  // A binary file that is neither a symbol file nor a trace.dat: one printable line, status 2.
  for (const std::string& bad : {SharedDir() + "/fixtures/small-vmx.data"}) {
    auto b = RunCommand(Exitprof() + " report -i " + RealFile("host-a0496a7c.dat") + " --kallsyms " + bad + " --by sym");
    EXPECT_EQ(b.status, 2) << bad << ": " << b.err;
    EXPECT_EQ(std::count(b.err.begin(), b.err.end(), '\n'), 1) << b.err;
    for (char c : b.err) EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << bad << ": " << static_cast<int>(c);
  }
}

// script --ns: whole nanoseconds (trace-cmd report -t); rounded to the microsecond they give
// back the default lines exactly.
TEST(TraceDatRealData, ScriptNsPrintsNanoseconds) {
  const std::string path = RealFile("host-e11ad396.dat");
  NEED_FILE(path);
  auto us = RunCommand(Exitprof() + " script -i " + path), ns = RunCommand(Exitprof() + " script --ns -i " + path);
  ASSERT_EQ(us.status, 0) << us.err;
  ASSERT_EQ(ns.status, 0) << ns.err;
  std::istringstream a(us.out), b(ns.out);
  std::string la, lb;
  int lines = 0;
  while (std::getline(a, la) && std::getline(b, lb)) {
    if (la.rfind("cpus=", 0) == 0) continue;
    // "...] SECS.FRACTION: ": the fraction has 9 digits with --ns, 6 without.
    const size_t end = lb.find(": "), dot = lb.rfind('.', end);
    ASSERT_NE(dot, std::string::npos) << lb;
    ASSERT_EQ(end - dot - 1, 9u) << lb;
    const size_t start = lb.rfind(' ', dot) + 1;
    const uint64_t t = std::stoull(lb.substr(start, dot - start)) * 1000000000ull + std::stoull(lb.substr(dot + 1, 9));
    const uint64_t r = (t + 500) / 1000;
    char want[32];
    std::snprintf(want, sizeof want, "%llu.%06llu:", static_cast<unsigned long long>(r / 1000000),
                  static_cast<unsigned long long>(r % 1000000));
    ASSERT_EQ(lb.substr(0, start) + want + lb.substr(end + 1), la);
    ++lines;
  }
  EXPECT_EQ(lines, 9005 + 9004);
}

}  // namespace
}  // namespace exitprof::testing
