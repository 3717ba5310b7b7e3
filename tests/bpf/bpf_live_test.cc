// In-kernel aggregation on real KVM guests: the BPF maps' counts equal the guests' own
// accounts exactly, per VM (process), vCPU thread, port and direction, MMIO address and
// userspace exit reason; in every attach mode; with a pid filter; with a map that fills.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <fstream>
#include <map>
#include <thread>

#include "kvm/reason_table.h"
#include "capture/bpf/kvm_aggregator.h"
#include "capture/workload.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

using nlohmann::json;
namespace bpf = capture::bpf;

// Everything a guest says it did, keyed the way the maps are: "pid/tid/what".
struct Account {
  std::map<std::string, uint64_t> uexits;  // "pid/tid/KVM_EXIT_IO"
  std::map<std::string, uint64_t> pio;     // "pid/tid/0x3f8/write"
  std::map<std::string, uint64_t> mmio;    // "pid/tid/0xd0000/write"
};

Account ReadAccount(const std::string& path) {
  std::ifstream in(path);
  json j = json::parse(in);
  Account a;
  for (const auto& vm : j["vms"]) {
    const std::string pid = std::to_string(vm["pid"].get<int>());
    for (const auto& v : vm["vcpus"]) {
      const std::string t = pid + "/" + std::to_string(v["tid"].get<int>()) + "/";
      for (auto& [reason, n] : v["userspace_exits"].items()) a.uexits[t + reason] += n.get<uint64_t>();
      for (const auto& p : v["pio"]) a.pio[t + p["port"].get<std::string>() + "/" + p["direction"].get<std::string>()] += p["count"].get<uint64_t>();
      a.pio[t + v["done"]["port"].get<std::string>() + "/write"] += v["done"]["count"].get<uint64_t>();
      for (const auto& m : v["mmio"]) a.mmio[t + m["gpa"].get<std::string>() + "/" + m["direction"].get<std::string>()] += m["count"].get<uint64_t>();
    }
  }
  return a;
}

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#llx", static_cast<unsigned long long>(v));
  return buf;
}

Account FromSnapshot(const bpf::Snapshot& s, uint64_t* unsatisfied_reads = nullptr) {
  Account a;
  for (const auto& u : s.UserspaceExits())
    a.uexits[std::to_string(u.pid) + "/" + std::to_string(u.tid) + "/" + bpf::UserspaceExitName(u.reason)] += u.count;
  for (const auto& p : s.Pio())
    a.pio[std::to_string(p.pid) + "/" + std::to_string(p.tid) + "/" + Hex(p.port) + "/" + (p.write ? "write" : "read")] += p.count;
  for (const auto& m : s.Mmio()) {
    if (m.type == 0) {  // unsatisfied-read: the exit half of a read, checked apart
      if (unsatisfied_reads) *unsatisfied_reads += m.count;
      continue;
    }
    a.mmio[std::to_string(m.pid) + "/" + std::to_string(m.tid) + "/" + Hex(m.gpa) + "/" + (m.type == 2 ? "write" : "read")] += m.count;
  }
  return a;
}

// The lab's nested KVM is ~10x slower per exit: less work there, the same exact checks.
uint64_t Iterations(uint64_t here) { return InLab() ? here / 4 : here; }
std::string N(uint64_t n) { return std::to_string(n); }

class BpfLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) EXITPROF_LIVE_SKIP("needs root (loading BPF programs)");
    if (::access("/dev/kvm", R_OK | W_OK) != 0) EXITPROF_LIVE_SKIP("needs /dev/kvm");
    if (auto why = bpf::BpfNotAllowedReason()) EXITPROF_LIVE_SKIP("BPF not available: " + *why);
  }
  std::string Guest() const { return BinaryDir() + "/exitprof-guest"; }

  // Runs the guest under `options` (its pid added to the filter when asked) and returns the
  // maps' counts once it has ended; again when KVM stopped a vCPU (the account says so).
  bpf::Snapshot RunGuest(bpf::AggregatorOptions options, std::vector<std::string> args, bool filter_self,
                         std::string* mode = nullptr) {
    if (std::find(args.begin(), args.end(), "--json") == args.end()) {
      args.push_back("--json");
      args.push_back(TempPath("bpf-guest.json"));
    }
    const std::string account = *(std::find(args.begin(), args.end(), "--json") + 1);
    for (int attempt = 1;; ++attempt) {
      ::unlink(account.c_str());
      auto snap = RunGuestOnce(options, args, filter_self, mode);
      const std::string error = GuestAccountError(account);
      if (!RerunAfterKvmError(::testing::UnitTest::GetInstance()->current_test_info()->name(), error, attempt)) {
        EXPECT_EQ(error, "");
        return snap;
      }
    }
  }

 private:
  bpf::Snapshot RunGuestOnce(bpf::AggregatorOptions options, const std::vector<std::string>& args, bool filter_self,
                             std::string* mode) {
    std::vector<std::string> argv = {Guest()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto w = capture::Workload::Prepare(argv, true);
    EXPECT_TRUE(w.has_value());
    if (!w) return {};
    if (filter_self) options.pids = {w->pid()};
    auto agg = bpf::KvmAggregator::Open(options);
    EXPECT_TRUE(agg.has_value()) << (agg ? "" : agg.error().message);
    if (!agg) return {};
    if (mode) *mode = bpf::AttachModeName((*agg)->mode());
    EXPECT_TRUE(w->Start().has_value());
    std::optional<int> status;
    while (!status && !(status = w->Poll())) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (*status != 0) std::cerr << "guest ended with status " << *status << "\n";
    auto snap = (*agg)->Read();
    EXPECT_TRUE(snap.has_value());
    return snap ? *snap : bpf::Snapshot{};
  }
};

// Inserts that failed, per map: "exits 2 (busy 2)"; "" when none.
std::string Drops(const bpf::Snapshot& s) {
  static const char* const kMaps[] = {"exits", "rips", "latency", "pending", "pio", "mmio", "uexits", "threads"};
  std::string out;
  for (size_t i = 0; i < s.drops.size(); ++i)
    if (s.drops[i]) out += std::string(kMaps[i]) + " " + N(s.drops[i]) + " (busy " + N(s.busy[i]) + ") ";
  return out;
}

// The BPF exit counts by reason name (as report names them), summed over our threads.
std::map<std::string, uint64_t> ExitsByName(const bpf::Snapshot& s) {
  static const auto names = kvm::ReasonTable::FromTracefs();
  std::map<std::string, uint64_t> out;
  for (const auto& e : s.Exits()) out[names.NameOf(kvm::ExitIsa(e.isa), e.reason)] += e.count;
  return out;
}

TEST_F(BpfLive, CountsEqualTheGuestsAccountInEveryAttachMode) {
  for (auto mode : {bpf::AttachMode::kTpBtf, bpf::AttachMode::kRawTp, bpf::AttachMode::kTracepoint}) {
    SCOPED_TRACE(bpf::AttachModeName(mode));
    const std::string account = TempPath("bpf-mode.json");
    bpf::AggregatorOptions options;
    options.only_mode = mode;
    std::string used;
    const uint64_t n = Iterations(3000);
    auto s = RunGuest(options,
                      {"--pio", "0x3f8:1:w", "--pio", "0x71:1:r", "--mmio", "0xd0000:4:w", "--mmio", "0xd0004:4:r", "--hlt",
                       "--iterations", N(n), "--vcpus", "2", "--json", account},
                      true, &used);
    EXPECT_EQ(used, bpf::AttachModeName(mode));
    Account want = ReadAccount(account);
    uint64_t unsatisfied = 0;
    Account got = FromSnapshot(s, &unsatisfied);
    EXPECT_EQ(got.uexits, want.uexits);
    EXPECT_EQ(got.pio, want.pio);
    EXPECT_EQ(got.mmio, want.mmio);
    EXPECT_EQ(unsatisfied, 2u * n);  // every MMIO read exits unsatisfied first
    EXPECT_EQ(s.events[AGG_EV_PIO], 2u * (2 * n + 1));
    EXPECT_EQ(s.events[AGG_EV_MMIO], 2u * 3 * n);
    // kvm_exit too, where it fires (attached in every mode).
    if (KvmExitFires()) {
      EXPECT_TRUE(ExitsMatchGuestWork(ExitsByName(s), ReadGuestWork(account)));
    } else {
      EXPECT_EQ(s.events[AGG_EV_EXIT], 0u);
    }
    EXPECT_EQ(Drops(s), "");
    ASSERT_EQ(s.threads.size(), 2u);
    for (const auto& [tid, t] : s.threads) EXPECT_EQ(t.comm.rfind("CPU ", 0), 0u) << t.comm;
  }
}

TEST_F(BpfLive, PidFilterCountsOnlyThatVmm) {
  // Another guest runs meanwhile; only ours is counted, so the counts still equal our account.
  const std::string account = TempPath("bpf-filter.json");
  auto other = RunCommand(Guest() + " --pio 0x70:1:w --iterations 200000 --rate 50000 >/dev/null 2>&1 & echo $!");
  const pid_t other_pid = static_cast<pid_t>(std::stol(other.out));
  auto s = RunGuest({}, {"--pio", "0x3f8:1:w", "--iterations", N(Iterations(5000)), "--json", account}, true);
  ::kill(other_pid, SIGTERM);  // by its id: only the guest this test started
  Account want = ReadAccount(account), got = FromSnapshot(s);
  EXPECT_EQ(got.pio, want.pio);
  EXPECT_EQ(got.uexits, want.uexits);
}

TEST_F(BpfLive, AFullMapIsReportedNotSilentlyWrong) {
  // One slot for ports: the first key (0x3f8) is counted, the other port and the done signal
  // are not, and exactly those are reported as dropped.
  bpf::AggregatorOptions options;
  options.pio_max_entries = 1;
  const uint64_t n = Iterations(2000);
  auto s = RunGuest(options, {"--pio", "0x3f8:1:w", "--pio", "0x70:1:w", "--iterations", N(n)}, true);
  auto pio = s.Pio();
  ASSERT_EQ(pio.size(), 1u);
  EXPECT_EQ(pio[0].port, 0x3f8);
  EXPECT_EQ(pio[0].count, n);
  EXPECT_EQ(s.drops[AGG_MAP_PIO], n + 1);
  EXPECT_EQ(s.events[AGG_EV_PIO], 2 * n + 1);
}

TEST_F(BpfLive, EndedThreadsAreForgottenAndTheRestKept) {
  // A guest that has ended: its per-thread keys go from the maps; a live process's would stay.
  const std::string account = TempPath("bpf-ended.json");
  std::vector<std::string> argv = {Guest(), "--pio", "0x3f8:1:w", "--mmio", "0xd0000:4:w", "--iterations", "500", "--vcpus", "2",
                                   "--json", account};
  std::unique_ptr<bpf::KvmAggregator> agg;
  Result<bpf::Snapshot> snap = tl::unexpected(Error{"not run"});
  for (int attempt = 1;; ++attempt) {
    ::unlink(account.c_str());
    auto w = capture::Workload::Prepare(argv, true);
    ASSERT_TRUE(w.has_value());
    bpf::AggregatorOptions options;
    options.pids = {w->pid()};
    auto opened = bpf::KvmAggregator::Open(options);
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    agg = std::move(*opened);
    ASSERT_TRUE(w->Start().has_value());
    while (!w->Poll()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    snap = agg->Read();
    if (!RerunAfterKvmError("EndedThreadsAreForgottenAndTheRestKept", GuestAccountError(account), attempt)) break;
  }
  ASSERT_TRUE(snap.has_value());
  ASSERT_EQ(snap->Pio().size(), 4u);  // 2 threads x (0x3f8, the done port)
  uint32_t kept_tid = snap->Pio()[0].tid;
  // Where kvm_exit fires, the other thread's exit keys (one per reason it exited for) go too.
  size_t exit_keys = 0;
  for (const auto& e : snap->Exits()) exit_keys += e.tid != kept_tid;
  if (KvmExitFires()) {
    EXPECT_GE(exit_keys, 2u);  // io, npf (and the host's interrupts)
  } else {
    EXPECT_EQ(exit_keys, 0u);
  }
  auto forgotten = agg->ForgetThreads(*snap, [&](uint32_t, uint32_t tid) { return tid != kept_tid; });
  ASSERT_TRUE(forgotten.has_value()) << forgotten.error().message;
  // The other thread's port keys (2), MMIO key (1), userspace exits IO and MMIO (2), exit keys.
  EXPECT_EQ(*forgotten, 2u + 1 + 2 + exit_keys);
  auto after = agg->Read();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->pio, snap->pio);
  EXPECT_EQ(after->mmio, snap->mmio);
  EXPECT_EQ(after->uexits, snap->uexits);
  for (const auto& p : after->Pio()) EXPECT_EQ(p.tid, kept_tid);
}

TEST_F(BpfLive, ExitAndEntryProgramsCountAsTheAccountSays) {
  const std::string account = TempPath("bpf-exit.json");
  const uint64_t n = Iterations(2000);
  auto s = RunGuest({}, {"--pio", "0x3f8:1:w", "--mmio", "0xd0000:4:w", "--hlt", "--iterations", N(n), "--json", account}, true);
  auto agg = bpf::KvmAggregator::Open({});
  ASSERT_TRUE(agg.has_value()) << agg.error().message;
  EXPECT_EQ(s.events[AGG_EV_PIO], n + 1);
  if (!KvmExitFires()) {
    // This host's KVM does not emit kvm_exit (e.g. a PVM backend): the programs are built and
    // loaded where the tracepoint exists, and count nothing.
    if ((*agg)->exit_attached()) EXPECT_TRUE((*agg)->entry_attached()) << (*agg)->exit_status();
    EXPECT_EQ(s.events[AGG_EV_EXIT], 0u);
    return;
  }
  ASSERT_TRUE((*agg)->exit_attached()) << (*agg)->exit_status();
  EXPECT_TRUE((*agg)->entry_attached()) << (*agg)->exit_status();
  // Exits by reason equal the guest's own account (the rule in ExitsMatchGuestWork).
  auto bpf_exits = ExitsByName(s);
  EXPECT_TRUE(ExitsMatchGuestWork(bpf_exits, ReadGuestWork(account)));
  // Exit->entry latency: every exit is paired with the entry after it, reason by reason, but
  // the vCPU's last (its done write, an io exit: the VMM never enters again).
  static const auto names = kvm::ReasonTable::FromTracefs();
  std::map<std::string, uint64_t> paired;
  for (const auto& h : s.Latency()) paired[names.NameOf(kvm::ExitIsa(h.isa), h.reason)] += h.count;
  auto want = bpf_exits;
  --want[want.count("io") ? "io" : "IO_INSTRUCTION"];
  EXPECT_EQ(paired, want);
}

TEST_F(BpfLive, RecordAggregateWritesReportJsonEqualToTheAccounts) {
  const std::string out = TempPath("bpf-agg.json"), account = TempPath("bpf-agg-account.json");
  // The lab has 3 CPUs: 2 busy vCPUs there (more starve its kernel), 4 here.
  const uint64_t n = Iterations(4000), vcpus = InLab() ? 1 : 2, all = 2 * vcpus * n;
  auto r = RunGuestCommand(Exitprof() + " record --aggregate -o " + out + " -- " + Guest() +
                               " --pio 0x3f8:1:w --pio 0x71:1:r --mmio 0xd0000:4:w --hlt --iterations " + N(n) + " --vcpus " + N(vcpus) +
                               " --vms 2 --json " + account,
                           account);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("aggregated (BPF, "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not counted (maps full): 0"), std::string::npos) << r.err;
  std::ifstream in(out);
  json j = json::parse(in);
  Account want = ReadAccount(account);
  std::map<std::string, uint64_t> uexits, want_uexits, pio, want_pio, threads, want_threads;
  for (const auto& row : j["userspace_exits"]) uexits[row["reason"]] += row["count"].get<uint64_t>();
  for (const auto& [key, n] : want.uexits) {
    want_uexits[key.substr(key.rfind('/') + 1)] += n;
    want_threads[key.substr(0, key.rfind('/'))] += n;
  }
  EXPECT_EQ(uexits, want_uexits);
  for (const auto& row : j["userspace_exits_by_thread"])
    threads[std::to_string(row["pid"].get<int>()) + "/" + std::to_string(row["tid"].get<int>())] += row["count"].get<uint64_t>();
  EXPECT_EQ(threads, want_threads);
  EXPECT_EQ(threads.size(), 2 * vcpus);  // 2 VMs x vcpus
  for (const auto& row : j["pio_by_thread"])
    pio[std::to_string(row["pid"].get<int>()) + "/" + std::to_string(row["tid"].get<int>()) + "/" + row["port"].get<std::string>() +
        "/" + row["direction"].get<std::string>()] += row["count"].get<uint64_t>();
  EXPECT_EQ(pio, want.pio);
  std::map<std::string, uint64_t> ports;
  for (const auto& row : j["pio"]) ports[row["port"].get<std::string>() + "/" + row["direction"].get<std::string>()] = row["count"];
  EXPECT_EQ(ports["0x3f8/write"], all);
  EXPECT_EQ(ports["0x71/read"], all);
  EXPECT_EQ(j["events"]["kvm:kvm_mmio"], all);
  EXPECT_EQ(j["mmio"][0]["gpa"], "0xd0000");
  EXPECT_EQ(j["mmio"][0]["direction"], "write");
  EXPECT_EQ(j["mmio"][0]["count"], all);
  // Where kvm_exit fires, the BPF kvm_exit program's counts by reason equal the account too.
  std::map<std::string, uint64_t> exits;
  for (const auto& row : j["exits"]["by_reason"]) exits[row["reason"]] = row["count"].get<uint64_t>();
  if (KvmExitFires()) {
    EXPECT_TRUE(ExitsMatchGuestWork(exits, ReadGuestWork(account)));
  } else {
    EXPECT_EQ(j["exits"]["total"], 0);
  }
  // The same keys as report --format json.
  for (const char* key : {"events", "exits", "userspace_exits", "pio", "mmio", "lost_events"}) EXPECT_TRUE(j.contains(key)) << key;
}

TEST_F(BpfLive, RecordAggregateIntervalsAddUpToTheAccount) {
  const std::string out = TempPath("bpf-int.jsonl"), account = TempPath("bpf-int-account.json");
  const uint64_t n = Iterations(6000);
  auto r = RunGuestCommand(Exitprof() + " record --aggregate --interval 0.2 -o " + out + " -- " + Guest() + " --pio 0x3f8:1:w --iterations " +
                               N(n) + " --rate " + N(Iterations(10000)) + " --json " + account,
                           account);
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream in(out);
  std::string line;
  uint64_t lines = 0, pio = 0;
  while (std::getline(in, line)) {
    ++lines;
    json j = json::parse(line);
    EXPECT_GT(j["interval_s"].get<double>(), 0);
    for (const auto& row : j["pio"])
      if (row["port"] == "0x3f8") pio += row["count"].get<uint64_t>();
  }
  EXPECT_GE(lines, 2u);
  EXPECT_EQ(pio, n);
}

TEST_F(BpfLive, TopBpfCountsAGuestInsideItsWindow) {
  const std::string account = TempPath("bpf-top.json");
  // The guest starts once top's programs are attached (its bpf_link fds exist: loading takes
  // seconds in the lab), so that top's one window holds exactly what the guest did.
  const std::string window = InLab() ? "6" : "3";
  auto r = RunGuestCommand(Exitprof() + " top --bpf --json -n 1 -s " + window + " & t=$!; for i in $(seq 300); do " +
                               "[ $(ls -l /proc/$t/fd 2>/dev/null | grep -c bpf_link) -ge 3 ] && break; sleep 0.1; done; sleep 0.5; " + Guest() +
                               " --pio 0x3f8:1:w --mmio 0xd0000:4:w --hlt --iterations " + N(Iterations(2000)) + " --vcpus 2 --json " + account +
                               " >/dev/null 2>&1; wait $t",
                           account);
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  json j = json::parse(r.out);
  EXPECT_EQ(j["file"]["path"].get<std::string>().rfind("bpf:", 0), 0u);
  Account want = ReadAccount(account);
  std::map<std::string, uint64_t> got, expect;
  for (const auto& row : j["userspace_exits_by_thread"])
    got[std::to_string(row["pid"].get<int>()) + "/" + std::to_string(row["tid"].get<int>())] += row["count"].get<uint64_t>();
  for (const auto& [key, n] : want.uexits) expect[key.substr(0, key.rfind('/'))] += n;
  // Other VMs on the host may show up too; ours must be exact.
  for (const auto& [thread, n] : expect) EXPECT_EQ(got[thread], n) << thread;
  auto text = RunCommand(Exitprof() + " top --bpf --once -s 0.2");
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("aggregated in the kernel by BPF"), std::string::npos) << text.out;
}

TEST_F(BpfLive, WithoutBpfPrivilegeItSaysWhyAndFallsBackToPerfEvent) {
  if (RunCommand("command -v capsh").status != 0) EXITPROF_LIVE_SKIP("capsh (libcap2-bin) not installed");
  // Debian's kernel.perf_event_paranoid=3 lets only CAP_SYS_ADMIN use perf_event at all, and
  // this test drops that. The lab (Debian's kernel; a throwaway machine) is set to 2 for it.
  const std::string paranoid = RunCommand("cat /proc/sys/kernel/perf_event_paranoid").out;
  if (std::atoi(paranoid.c_str()) > 2) {
    if (!InLab()) EXITPROF_LIVE_SKIP("kernel.perf_event_paranoid=" + paranoid + ": perf_event needs CAP_SYS_ADMIN here, which this test drops");
    RunCommand("echo 2 > /proc/sys/kernel/perf_event_paranoid");
  }
  const std::string out = TempPath("bpf-fallback.json"), account = TempPath("bpf-fallback-account.json");
  // Root without CAP_BPF and CAP_SYS_ADMIN: BPF is refused, perf_event (CAP_PERFMON) still works.
  auto r = RunGuestCommand("capsh --drop=cap_bpf,cap_sys_admin -- -c '" + Exitprof() + " record --aggregate -o " + out + " -- " +
                               Guest() + " --pio 0x3f8:1:w --iterations 1500 --json " + account + "'",
                           account);
  EXPECT_NE(r.err.find("BPF is not available: this process lacks CAP_BPF"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("counting with perf_event instead"), std::string::npos) << r.err;
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("aggregated (perf_event)"), std::string::npos) << r.err;
  std::ifstream in(out);
  json j = json::parse(in);
  std::map<std::string, uint64_t> ports;
  for (const auto& row : j["pio"]) ports[row["port"]] += row["count"].get<uint64_t>();
  EXPECT_EQ(ports["0x3f8"], 1500u);
}

}  // namespace
}  // namespace exitprof::testing
