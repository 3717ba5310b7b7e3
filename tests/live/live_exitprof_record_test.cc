// `exitprof record` and `exitprof demo` on real KVM guests: the recording equals the guest's
// own account, perf reads it line for line as exitprof does, Ctrl-C leaves a valid file.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <fstream>

#include "test_support.h"

namespace exitprof::testing {
namespace {

using nlohmann::json;

class LiveExitprofRecord : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) EXITPROF_LIVE_SKIP("needs root (perf_event_open on tracepoints)");
    if (::access("/dev/kvm", R_OK | W_OK) != 0) EXITPROF_LIVE_SKIP("needs /dev/kvm");
  }
  std::string Guest() const { return BinaryDir() + "/exitprof-guest"; }
};

// The lab's nested KVM is ~10x slower per exit: less work there, the same exact checks.
uint64_t Iterations(uint64_t here) { return InLab() ? here / 4 : here; }
std::string N(uint64_t n) { return std::to_string(n); }

std::map<std::string, uint64_t> ExitsByReason(const json& r) {
  std::map<std::string, uint64_t> out;
  for (const auto& row : r["exits"]["by_reason"]) out[row["reason"]] = row["count"].get<uint64_t>();
  return out;
}

std::map<std::string, uint64_t> AccountUserspaceExits(const std::string& path) {
  std::ifstream in(path);
  json j = json::parse(in);
  std::map<std::string, uint64_t> out;
  for (const auto& vm : j["vms"])
    for (const auto& v : vm["vcpus"])
      for (auto& [k, n] : v["userspace_exits"].items()) out[k] += n.get<uint64_t>();
  return out;
}

std::map<std::string, uint64_t> ReportUserspaceExits(const json& r) {
  std::map<std::string, uint64_t> out;
  for (const auto& row : r["userspace_exits"]) out[row["reason"]] = row["count"].get<uint64_t>();
  return out;
}

TEST_F(LiveExitprofRecord, CommandRecordingEqualsAccountAndPerfReadsIt) {
  const std::string data = TempPath("xrec.data"), account = TempPath("xrec.json");
  const uint64_t n = Iterations(4000);
  auto rec = RunGuestCommand(Exitprof() + " record -o " + data + " -- " + Guest() +
                                 " --pio 0x3f8:1:w --pio 0x71:1:r --mmio 0xd0000:4:w --hlt --iterations " + N(n) + " --vcpus 2 --json " + account,
                             account);
  ASSERT_EQ(rec.status, 0) << rec.err;
  EXPECT_NE(rec.err.find("lost events: 0"), std::string::npos) << rec.err;
  auto report = RunCommand(Exitprof() + " report -i " + data + " --format json");
  ASSERT_EQ(report.status, 0) << report.err;
  json r = json::parse(report.out);
  auto want = AccountUserspaceExits(account);
  EXPECT_EQ(ReportUserspaceExits(r), want);
  EXPECT_EQ(want["KVM_EXIT_IO"], 2u * (2 * n + 1));
  // record takes kvm_exit by default: where it fires, every exit of ours is there by reason.
  if (KvmExitFires()) {
    EXPECT_TRUE(ExitsMatchGuestWork(ExitsByReason(r), ReadGuestWork(account)));
  } else {
    EXPECT_EQ(r["exits"]["total"], 0);
  }
  std::map<std::string, uint64_t> pio;
  for (const auto& row : r["pio"]) pio[row["port"].get<std::string>() + ":" + row["direction"].get<std::string>()] += row["count"].get<uint64_t>();
  EXPECT_EQ(pio["0x3f8:write"], 2 * n);
  EXPECT_EQ(pio["0x71:read"], 2 * n);
  EXPECT_EQ(pio["0x501:write"], 2u);
  // Per vCPU thread, port and direction, as each vCPU counted its own accesses.
  std::ifstream in(account);
  json acc = json::parse(in);
  std::map<std::string, uint64_t> want_by_thread, got_by_thread;
  for (const auto& vm : acc["vms"])
    for (const auto& v : vm["vcpus"])
      for (const auto& p : v["pio"])
        want_by_thread[std::to_string(v["tid"].get<int>()) + ":" + p["port"].get<std::string>() + ":" + p["direction"].get<std::string>()] +=
            p["count"].get<uint64_t>();
  for (const auto& row : r["pio_by_thread"]) {
    if (row["port"] == "0x501") continue;  // the guest's done signal, counted apart in its account
    got_by_thread[std::to_string(row["tid"].get<int>()) + ":" + row["port"].get<std::string>() + ":" + row["direction"].get<std::string>()] +=
        row["count"].get<uint64_t>();
  }
  EXPECT_EQ(got_by_thread, want_by_thread);
  if (!HavePerf()) EXITPROF_LIVE_SKIP("perf not installed: perf cross-check skipped");
  auto perf = RunCommand("perf script -i " + data);
  ASSERT_EQ(perf.status, 0) << perf.err;
  EXPECT_EQ(perf.err, "");
  auto ours = RunCommand(Exitprof() + " script -i " + data);
  EXPECT_TRUE(SameLines(perf.out, ours.out));
  auto perf_report = RunCommand("perf report --stdio -i " + data);
  EXPECT_EQ(perf_report.status, 0);
  EXPECT_EQ(perf_report.err, "") << "perf report must read our recording without a warning";
}

TEST_F(LiveExitprofRecord, PipeModeToReport) {
  const std::string account = TempPath("xpipe.json");
  auto report = RunGuestCommand(Exitprof() + " record -o - -- " + Guest() + " --pio 0x70:1:w --hlt --iterations " + N(Iterations(3000)) +
                                    " --json " + account + " 2>/dev/null | " + Exitprof() + " report -i - --format json",
                                account);
  ASSERT_EQ(report.status, 0) << report.err;
  EXPECT_EQ(ReportUserspaceExits(json::parse(report.out)), AccountUserspaceExits(account));
}

TEST_F(LiveExitprofRecord, FilterKeepsOnlyMatchingPorts) {
  const std::string data = TempPath("xfilter.data"), account = TempPath("xfilter.json");
  const uint64_t n = Iterations(2500);
  auto rec = RunGuestCommand(Exitprof() + " record -e kvm:kvm_pio --filter 'port == 0x3f8' -o " + data + " -- " + Guest() +
                                 " --pio 0x3f8:1:w --pio 0x70:1:w --iterations " + N(n) + " --json " + account,
                             account);
  ASSERT_EQ(rec.status, 0) << rec.err;
  json r = json::parse(RunCommand(Exitprof() + " report -i " + data + " --format json").out);
  ASSERT_EQ(r["pio"].size(), 1u) << r["pio"].dump();
  EXPECT_EQ(r["pio"][0]["port"], "0x3f8");
  EXPECT_EQ(r["pio"][0]["count"], n);
}

TEST_F(LiveExitprofRecord, InterruptLeavesAValidFile) {
  const std::string data = TempPath("xint.data"), account = TempPath("xint.json");
  // A paced guest runs for a while; record system-wide and interrupt it part-way, once the
  // recording has its events open (setting up takes seconds in a loaded lab), then end the guest
  // (by its pid; killed, it writes no account: one only says KVM stopped it early).
  auto r = RunGuestCommand(Guest() + " --pio 0x3f8:1:w --iterations 1000000 --rate 20000 --json " + account +
                               " >/dev/null 2>&1 & g=$!; " + Exitprof() + " record -a -e kvm:kvm_pio -o " + data +
                               " & rec=$!; " + WaitForPerfEvents("rec") +
                               "sleep 1.5; kill -INT $rec; wait $rec; echo rc=$?; kill $g; wait $g",
                           account);
  EXPECT_NE(r.out.find("rc=0"), std::string::npos) << r.out << r.err;
  auto report = RunCommand(Exitprof() + " report -i " + data + " --format json");
  ASSERT_EQ(report.status, 0) << report.err;
  json j = json::parse(report.out);
  EXPECT_GT(j["events"]["kvm:kvm_pio"].get<uint64_t>(), 1000u);
  if (HavePerf()) {
    auto perf = RunCommand("perf script -i " + data + " | wc -l");
    EXPECT_EQ(std::stoull(perf.out), j["events"]["kvm:kvm_pio"].get<uint64_t>());
  }
}

TEST_F(LiveExitprofRecord, UnknownEventSaysWhatExists) {
  auto r = RunCommand(Exitprof() + " record -e kvm:kvm_pi -o /dev/null -- true");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("no such tracepoint"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("kvm:kvm_pio"), std::string::npos) << r.err;
  r = RunCommand(Exitprof() + " record -o /dev/null -- /nonexistent/command");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("cannot run"), std::string::npos) << r.err;
}

TEST_F(LiveExitprofRecord, DemoReportEqualsTheGuestsAccounts) {
  // The lab has 3 CPUs: 2 busy vCPUs there (more starve its kernel), 4 here.
  const int vcpus = InLab() ? 1 : 2;
  const uint64_t n = Iterations(3000), io = 2 * vcpus * (4 * n + 1);
  auto r = RunGuestCommand(Exitprof() + " demo --iterations " + N(n) + " --vcpus " + std::to_string(vcpus) + " --vms 2 -o " +
                           TempPath("demo.data"));
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("DIFFERENT"), std::string::npos) << r.out;
  char line[128];
  std::snprintf(line, sizeof line, "KVM_EXIT_IO                  guest %10llu   recorded %10llu   equal", static_cast<unsigned long long>(io),
                static_cast<unsigned long long>(io));
  EXPECT_NE(r.out.find(line), std::string::npos) << r.out;
  // Both VMs live in one process (ours), and VMs are told apart by process: 1 VM, all vCPU threads.
  EXPECT_NE(r.out.find("VMs: 1  vCPUs: " + std::to_string(2 * vcpus)), std::string::npos) << r.out;
  // Where kvm_exit fires the demo's report has the exits by reason; where not, it says so.
  EXPECT_EQ(r.err.find("kvm:kvm_exit fired 0 times") == std::string::npos, KvmExitFires()) << r.err;
}

}  // namespace
}  // namespace exitprof::testing

namespace exitprof::testing {
namespace {

TEST_F(LiveExitprofRecord, TopCountsAGuestThatRunsInsideItsWindow) {
  const std::string account = TempPath("xtop.json");
  // top's one window opens first (its events open, then 0.5 s); the guest starts then and is
  // done well before the window closes, so the window holds exactly what the guest did. The lab
  // is slower to start a guest: a longer window there.
  const uint64_t n = Iterations(2000);
  auto r = RunGuestCommand(Exitprof() + " top --json -n 1 -s " + (InLab() ? "8" : "3") + " & t=$!; " + WaitForPerfEvents("t") + "sleep 0.5; " +
                               Guest() + " --pio 0x3f8:1:w --mmio 0xd0000:4:w --hlt --iterations " + N(n) + " --vcpus 2 --json " + account +
                               " >/dev/null 2>&1; wait $t",
                           account);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one JSON object per interval";
  json j = json::parse(r.out);
  EXPECT_GT(j["interval_s"].get<double>(), 2.9);
  EXPECT_EQ(ReportUserspaceExits(j), AccountUserspaceExits(account));
  std::map<std::string, uint64_t> pio;
  for (const auto& row : j["pio"]) pio[row["port"]] += row["count"].get<uint64_t>();
  EXPECT_EQ(pio["0x3f8"], 2 * n);
  EXPECT_EQ(j["userspace_exits_by_thread"].size(), 2u);
  for (const auto& row : j["userspace_exits_by_thread"]) EXPECT_EQ(row["comm"].get<std::string>().rfind("CPU ", 0), 0u);
}

TEST_F(LiveExitprofRecord, TopFollowsAnExistingProcessAndItsThreads) {
  // -p on a running VMM: its vCPU threads exist already and must each be followed.
  // (killed, the guest writes no account: one only says KVM stopped it early.)
  const std::string account = TempPath("xtop-p.json");
  auto r = RunGuestCommand(Guest() + " --pio 0x70:1:w --iterations 1000000 --rate 2000 --vcpus 2 --json " + account +
                               " >/dev/null 2>&1 & g=$!; sleep 0.5; " + Exitprof() + " top --json -n 2 -s 0.5 -p $g; kill $g; wait",
                           account);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  json last = json::parse(r.out.substr(r.out.find('\n') + 1));
  EXPECT_EQ(last["userspace_exits_by_thread"].size(), 2u) << last.dump();
  EXPECT_GT(last["events"]["kvm:kvm_pio"].get<uint64_t>(), 200u);
  auto missing = RunCommand(Exitprof() + " top --once -p 999999999");
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("no such process"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace exitprof::testing

namespace exitprof::testing {
namespace {

TEST_F(LiveExitprofRecord, DiffShowsExactlyTheWorkThatChanged) {
  const std::string a = TempPath("diff-a.data"), b = TempPath("diff-b.data"), account = TempPath("diff.json");
  ASSERT_EQ(RunGuestCommand(Exitprof() + " record -o " + a + " -- " + Guest() + " --pio 0x3f8:1:w --iterations 1000 --json " + account, account).status, 0);
  ASSERT_EQ(RunGuestCommand(Exitprof() + " record -o " + b + " -- " + Guest() + " --pio 0x3f8:1:w --pio 0x70:1:w --iterations 2000 --json " + account,
                            account).status,
            0);
  auto r = RunCommand(Exitprof() + " diff " + a + " " + b + " --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  json j = json::parse(r.out);
  std::map<std::string, json> rows;
  for (const auto& row : j["rows"]) rows[row["kind"].get<std::string>() + "|" + row["key"].get<std::string>()] = row;
  EXPECT_EQ(rows["port|0x3f8 write"]["a"], 1000);
  EXPECT_EQ(rows["port|0x3f8 write"]["b"], 2000);
  // Two runs of different length: diff compares rates (counts per second), so only the counts
  // are exact; the change's sign is.
  EXPECT_EQ(j["change_of"], "rate");
  EXPECT_EQ(rows["port|0x70 write"]["a"], 0);
  EXPECT_EQ(rows["port|0x70 write"]["b"], 2000);
  EXPECT_EQ(rows["port|0x70 write"]["added"], true);
  EXPECT_EQ(rows["port|0x501 write"]["a"], 1);
  EXPECT_EQ(rows["port|0x501 write"]["b"], 1);
  EXPECT_EQ(rows["userspace|KVM_EXIT_IO"]["a"], 1001);
  EXPECT_EQ(rows["userspace|KVM_EXIT_IO"]["b"], 4001);
  // The biggest change comes first: where kvm_exit fires, the io exits (one per port access).
  if (KvmExitFires()) {
    EXPECT_EQ(rows["reason|io"]["a"], 1001);
    EXPECT_EQ(rows["reason|io"]["b"], 4001);
    EXPECT_EQ(j["rows"][0]["kind"], "reason");
    EXPECT_EQ(j["rows"][0]["key"], "io");
  } else {
    EXPECT_EQ(j["rows"][0]["kind"], "userspace");
    EXPECT_EQ(j["rows"][0]["key"], "KVM_EXIT_IO");
  }
}

}  // namespace
}  // namespace exitprof::testing
