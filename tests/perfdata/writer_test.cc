// Our writer's recordings: read back by our reader with counts equal to what was written, and
// by real perf script with byte-identical output (VMX, SVM, pipe mode, old kernel formats).
#include <gtest/gtest.h>

#include "recording_gen.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

struct Case {
  const char* name;
  bool svm, pipe;
  const char* exit_format;  // relative to tests/data/formats, "" = this kernel's
  uint64_t lost_every;
};

class WriterTest : public ::testing::TestWithParam<Case> {};

TEST_P(WriterTest, ReadsBackExactlyAndPerfAgrees) {
  const Case& c = GetParam();
  gen::GenOptions o;
  o.formats_dir = FormatsDir();
  if (*c.exit_format) o.kvm_exit_format = FormatsDir() + "/" + c.exit_format;
  o.exits = 6000;
  o.seed = 7;
  o.svm = c.svm;
  o.pipe = c.pipe;
  o.lost_every = c.lost_every;
  const std::string path = TempPath(std::string(c.name) + ".data");
  auto truth = gen::GenerateRecording(o, path);
  ASSERT_TRUE(truth) << truth.error().message;

  auto report = ReadReport(path);
  ASSERT_TRUE(report) << report.error().message;
  const auto& m = report->model;
  std::map<std::string, uint64_t> events;
  for (const auto& e : m.events) events[e.name] = e.count;
  EXPECT_EQ(events, truth->samples_by_event);
  std::map<std::string, uint64_t> reasons;
  for (const auto& r : m.by_reason) reasons[r.reason] = r.count;
  EXPECT_EQ(reasons, truth->by_reason);
  std::map<std::pair<std::string, uint64_t>, uint64_t> rips;
  for (const auto& r : m.by_rip) rips[{r.reason, r.rip}] = r.count;
  EXPECT_EQ(rips, truth->by_reason_rip);
  std::map<uint32_t, uint64_t> pids;
  for (const auto& r : m.by_vm) pids[r.pid] = r.count;
  EXPECT_EQ(pids, truth->by_pid);
  if (!*c.exit_format) {
    std::map<std::pair<uint32_t, uint32_t>, uint64_t> vcpus;
    for (const auto& r : m.by_vcpu) vcpus[{r.pid, static_cast<uint32_t>(r.vcpu)}] = r.count;
    EXPECT_EQ(vcpus, truth->by_vcpu);
  } else {
    for (const auto& r : m.by_vcpu) EXPECT_EQ(r.vcpu, -1) << "no vcpu_id in this format: the thread stands for it";
  }
  std::map<std::tuple<uint16_t, bool, uint8_t>, uint64_t> pio;
  for (const auto& r : m.pio) pio[{r.port, r.write, r.size}] = r.count;
  EXPECT_EQ(pio, truth->pio);
  std::map<std::tuple<uint64_t, std::string, uint32_t>, uint64_t> mmio;
  for (const auto& r : m.mmio) mmio[{r.gpa, r.type, r.len}] = r.count;
  EXPECT_EQ(mmio, truth->mmio);
  EXPECT_EQ(m.lost_events, truth->lost);
  EXPECT_EQ(m.first_ns, truth->first_ns);
  EXPECT_EQ(m.last_ns, truth->last_ns);
  EXPECT_EQ(m.isa, c.svm ? "SVM" : "VMX");

  if (!HavePerf()) GTEST_SKIP() << "perf not installed: perf cross-check skipped";
  auto perf = RunCommand("perf script -i " + path);
  ASSERT_EQ(perf.status, 0) << perf.err;
  if (c.lost_every) {
    // perf warns about lost chunks exactly as it does for a real overloaded recording.
    EXPECT_NE(perf.err.find("lost " + std::to_string(truth->lost / 3) + " chunks"), std::string::npos) << perf.err;
  } else {
    EXPECT_EQ(perf.err.find("Warning"), std::string::npos) << perf.err;
  }
  auto perf_report = RunCommand("perf report --stdio -i " + path);
  ASSERT_EQ(perf_report.status, 0) << perf_report.err;
  if (!c.lost_every) {
    EXPECT_EQ(perf_report.err, "") << "perf report must read our file without a warning";
  }
  auto ours = RunCommand(Exitprof() + " script -i " + path);
  ASSERT_EQ(ours.status, 0) << ours.err;
  EXPECT_TRUE(SameLines(perf.out, ours.out));
  EXPECT_EQ(PerfScriptEventCounts(perf.out), truth->samples_by_event);
  // Pipe mode read from a real pipe.
  if (c.pipe) {
    auto piped = RunCommand("cat " + path + " | " + Exitprof() + " script -i -");
    EXPECT_TRUE(SameLines(perf.out, piped.out));
  }
}

INSTANTIATE_TEST_SUITE_P(Writer, WriterTest,
                         ::testing::Values(Case{"vmx", false, false, "", 0}, Case{"svm", true, false, "", 0},
                                           Case{"vmx_pipe", false, true, "", 0},
                                           Case{"vmx_lost", false, false, "", 500},
                                           Case{"linux_4_19", false, false, "linux-4.19/kvm_exit", 0}),
                         [](const auto& info) { return std::string(info.param.name); });

// A real host's KVM workers (kvm-pit/PID, kvm-nx-lpage-recovery) are named by the VMM's threads,
// so their COMM records' sample_id trailers carry the VM's pid and a vCPU's tid. The report must
// still name each VM after its process and each vCPU thread after itself, as perf does.
TEST(WriterKvmWorkers, CommTrailersDoNotRenameTheVmOrItsVcpus) {
  gen::GenOptions o;
  o.formats_dir = FormatsDir();
  o.exits = 2000;
  o.vms = 2;
  const std::string path = TempPath("kvm-workers.data");
  auto truth = gen::GenerateRecording(o, path);
  ASSERT_TRUE(truth) << truth.error().message;
  auto report = ReadReport(path);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(report->model.by_vm.size(), 2u);
  for (const auto& r : report->model.by_vm) EXPECT_EQ(r.comm, "qemu-system-x86") << r.pid;
  ASSERT_EQ(report->model.by_vcpu.size(), truth->by_vcpu.size());
  for (const auto& r : report->model.by_vcpu) EXPECT_EQ(r.comm, "CPU " + std::to_string(r.vcpu) + "/KVM") << r.tid;

  auto text = RunCommand(Exitprof() + " report --by vm,vcpu -i " + path);
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_EQ(text.out.find("kvm-pit"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("kvm-nx"), std::string::npos) << text.out;
  if (!HavePerf()) GTEST_SKIP() << "perf not installed: perf cross-check skipped";
  // perf names threads from the records' own ids: the same names, line for line.
  auto perf = RunCommand("perf script -i " + path);
  ASSERT_EQ(perf.status, 0) << perf.err;
  EXPECT_EQ(perf.out.find("kvm-nx"), std::string::npos);
  auto ours = RunCommand(Exitprof() + " script -i " + path);
  ASSERT_EQ(ours.status, 0) << ours.err;
  EXPECT_TRUE(SameLines(perf.out, ours.out));
}

}  // namespace
}  // namespace exitprof::testing
