// `exitprof stat` against real KVM guests of our own VMM (exitprof-guest --hold): after their
// work the vCPUs sit out of KVM_RUN, so their counters stand still while stat reads them, and the
// VMM then reports what its own stats fds say. Every number must be equal.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "stat/stat_live_support.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

using nlohmann::json;

class StatLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) EXITPROF_LIVE_SKIP("needs root (pidfd_getfd of another process's stats fds)");
    if (::access("/dev/kvm", R_OK | W_OK) != 0) EXITPROF_LIVE_SKIP("needs /dev/kvm");
  }
};

// Where kvm_exit fires (the lab: SVM names), when counted: each port access is one `io` exit,
// each HLT one `hlt` exit, each MMIO access one `npf` exit (nested page fault on the unbacked
// page). Also `npf`: the guest's first fetch from its code page faults it in, once per vCPU
// that gets there before the page is mapped (1 or 2 here, a race); and `interrupt` exits come
// from host interrupts, a number no guest controls.
void ExpectSvmExitsEqualAccount(const json& counted, const json& account) {
  if (counted.value("kvm_exit", uint64_t{0}) == 0) return;  // not counted, or not firing (PVM)
  uint64_t pio = 0, mmio = 0, hlt = 0, vcpus = 0;
  for (const auto& cpu : account["vms"][0]["vcpus"]) {
    ++vcpus;
    for (const auto& p : cpu["pio"]) pio += p["count"].get<uint64_t>();
    pio += cpu["done"]["count"].get<uint64_t>();
    for (const auto& m : cpu["mmio"]) mmio += m["count"].get<uint64_t>();
    hlt += cpu["hlt"].get<uint64_t>();
  }
  const bool svm = counted.contains("kvm_exit(npf)");  // -t lists every reason of the ISA
  EXPECT_EQ(counted[svm ? "kvm_exit(io)" : "kvm_exit(IO_INSTRUCTION)"], pio) << counted.dump();
  EXPECT_EQ(counted[svm ? "kvm_exit(hlt)" : "kvm_exit(HLT)"], hlt) << counted.dump();
  if (!svm) return;  // VMX: MMIO exits split into EPT_MISCONFIG and EPT_VIOLATION
  const uint64_t npf = counted.value("kvm_exit(npf)", uint64_t{0});
  EXPECT_GE(npf, mmio + 1);
  EXPECT_LE(npf, mmio + vcpus);
  uint64_t reasons = 0;
  for (const auto& [name, n] : counted.items()) reasons += name.rfind("kvm_exit(", 0) == 0 ? n.get<uint64_t>() : 0;
  EXPECT_EQ(counted["kvm_exit"], reasons) << "every exit has its reason row";
  EXPECT_EQ(reasons, pio + hlt + npf + counted.value("kvm_exit(interrupt)", uint64_t{0})) << counted.dump();
}

// kvm_pio, kvm_mmio (twice per read) and each kvm_userspace_exit reason counted over the guest's
// run equal what the guest says it did.
void ExpectTracepointCountsEqualAccount(const json& counted, const json& account) {
  uint64_t pio = 0, mmio_reads = 0, mmio_writes = 0;
  std::map<std::string, uint64_t> exits;
  for (const auto& cpu : account["vms"][0]["vcpus"]) {
    for (const auto& p : cpu["pio"]) pio += p["count"].get<uint64_t>();
    pio += cpu["done"]["count"].get<uint64_t>();
    for (const auto& m : cpu["mmio"]) (m["direction"] == "read" ? mmio_reads : mmio_writes) += m["count"].get<uint64_t>();
    for (const auto& [name, n] : cpu["userspace_exits"].items()) exits[name] += n.get<uint64_t>();
  }
  EXPECT_EQ(counted["kvm_pio"], pio);
  EXPECT_EQ(counted["kvm_mmio"], 2 * mmio_reads + mmio_writes) << "kvm_mmio fires twice per read";
  uint64_t all = 0;
  for (const auto& [name, n] : exits) {
    EXPECT_EQ(counted["kvm_userspace_exit(" + name + ")"], n) << name;
    all += n;
  }
  EXPECT_EQ(counted["kvm_userspace_exit"], all);
  EXPECT_EQ(counted["kvm_userspace_exit(KVM_EXIT_HLT)"], 2 * kGatedIterations);
  ExpectSvmExitsEqualAccount(counted, account);
}

json FindVm(const json& stat, pid_t pid, int index) {
  for (const auto& vm : stat["vms"]) {
    if (vm["pid"] == pid && vm["index"] == index) return vm;
  }
  return nullptr;
}

// Every scalar the guest's stats fd gave equals what stat printed, and no scalar is missing.
void ExpectSameStats(const json& guest, const json& stat, const std::string& where) {
  ASSERT_TRUE(guest.is_object()) << where << ": the guest reported no kvm_stats";
  size_t scalars = 0;
  for (const auto& [name, value] : stat.items()) scalars += value.is_number() ? 1 : 0;
  EXPECT_EQ(scalars, guest.size()) << where;
  for (const auto& [name, value] : guest.items()) {
    ASSERT_TRUE(stat.contains(name)) << where << ": " << name << " missing";
    EXPECT_EQ(stat[name], value) << where << ": " << name;
  }
}

void ExpectStatEqualsGuest(const json& stat, const json& account) {
  for (const auto& vm : account["vms"]) {
    json seen = FindVm(stat, vm["pid"].get<pid_t>(), vm["vm"].get<int>());
    ASSERT_FALSE(seen.is_null()) << "VM " << vm["pid"] << "/" << vm["vm"] << " not listed";
    EXPECT_EQ(seen["source"], "stats-fd");
    EXPECT_FALSE(seen["gone"].get<bool>());
    ExpectSameStats(vm["kvm_stats"], seen["stats"], "VM-wide");
    ASSERT_EQ(seen["vcpus"].size(), vm["vcpus"].size());
    for (size_t i = 0; i < vm["vcpus"].size(); ++i) {
      const auto& want = vm["vcpus"][i];
      const auto& got = seen["vcpus"][i];
      EXPECT_EQ(got["vcpu"], want["vcpu"]);
      EXPECT_EQ(got["tid"], want["tid"]);
      ExpectSameStats(want["kvm_stats"], got["stats"], "vcpu " + std::to_string(i));
      // The guest's own account of the work: one HLT exit per hlt, one MMIO exit per access.
      uint64_t mmio = 0;
      for (const auto& m : want["mmio"]) mmio += m["count"].get<uint64_t>();
      EXPECT_EQ(got["stats"]["halt_exits"], want["hlt"]);
      EXPECT_EQ(got["stats"]["mmio_exits"], mmio);
    }
  }
}

TEST_F(StatLive, TwoVmsOneWithTwoVcpusEqualTheirStatsFds) {
  HeldGuest a("stat-a"), b("stat-b");
  ASSERT_TRUE(a.Start({"--vcpus", "2", "--iterations", "300"}));
  ASSERT_TRUE(b.Start({"--vcpus", "1", "--iterations", "700", "--mmio", "0xd0000:4:r", "--hlt", "--pio", "0x70:1:w"}));
  const std::string pids = " -p " + std::to_string(a.pid()) + " -p " + std::to_string(b.pid());
  auto json_run = RunCommand(Exitprof() + " stat --once --json -s 0.1" + pids);
  ASSERT_EQ(json_run.status, 0) << json_run.err;
  auto text_run = RunCommand(Exitprof() + " stat -1 -i -s 0.1 -f '^(exits|halt_exits|mmio_exits)$'" + pids);
  ASSERT_EQ(text_run.status, 0) << text_run.err;
  json stat = json::parse(json_run.out);
  ASSERT_EQ(stat["vms"].size(), 2u);
  json account_a = a.Finish(), account_b = b.Finish();
  ExpectStatEqualsGuest(stat, account_a);
  ExpectStatEqualsGuest(stat, account_b);
  for (const auto& vm : stat["vms"]) {
    for (const auto& c : vm["vcpus"]) EXPECT_EQ(c["delta"]["exits"], 0) << "held vCPUs do not exit";
  }

  // The summary table's totals (-i: since each VM started) are the sums over all three vCPUs.
  std::map<std::string, uint64_t> sums;
  for (const auto* account : {&account_a, &account_b}) {
    for (const auto& cpu : (*account)["vms"][0]["vcpus"]) {
      for (const char* name : {"exits", "halt_exits", "mmio_exits"}) sums[name] += cpu["kvm_stats"][name].get<uint64_t>();
    }
  }
  std::istringstream lines(text_run.out);
  std::string line;
  std::map<std::string, uint64_t> totals;
  while (std::getline(lines, line) && line.rfind("# ", 0) != 0) {
    std::istringstream row(line);
    std::string name;
    uint64_t total = 0;
    if (row >> name >> total) totals[name] = total;
  }
  EXPECT_EQ(totals, sums) << text_run.out;
  EXPECT_NE(text_run.out.find("source: stats-fd"), std::string::npos) << text_run.out;
}

TEST_F(StatLive, TwoVmsInOneProcessAreKeptApart) {
  HeldGuest g("stat-two");
  // vCPUs of VM 1 do twice the work of VM 0's? No: the same program, but vCPU counts differ per VM
  // only by their own exits, so a swapped fd would show as unequal 'exits' or tids.
  ASSERT_TRUE(g.Start({"--vms", "2", "--vcpus", "2", "--iterations", "250"}));
  auto run = RunCommand(Exitprof() + " stat --once --json -s 0.1 --vcpu -p " + std::to_string(g.pid()));
  ASSERT_EQ(run.status, 0) << run.err;
  json stat = json::parse(run.out);
  ASSERT_EQ(stat["vms"].size(), 2u);
  ExpectStatEqualsGuest(stat, g.Finish());
}

// A VM that starts while stat runs is picked up, with every vCPU (a scan may catch a VMM
// between creating its VM and its vCPUs; young VMs are looked at again).
TEST_F(StatLive, AVmThatStartsLaterIsPickedUpWhole) {
  CommandResult run;
  std::thread stat([&] { run = RunCommand(Exitprof() + " stat --json -n 6 -s 0.3 --source stats-fd"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  HeldGuest g("stat-late");
  ASSERT_TRUE(g.Start({"--vcpus", "4", "--iterations", "50"}));
  stat.join();
  ASSERT_EQ(run.status, 0) << run.err;
  std::istringstream lines(run.out);
  std::string line, last;
  int seen = 0;
  while (std::getline(lines, line)) {
    if (!FindVm(json::parse(line), g.pid(), 0).is_null()) ++seen;
    last = line;
  }
  EXPECT_GE(seen, 1) << run.out;
  json account = g.Finish();
  json vm = FindVm(json::parse(last), account["vms"][0]["pid"].get<pid_t>(), 0);
  ASSERT_FALSE(vm.is_null()) << last;
  ASSERT_EQ(vm["vcpus"].size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(vm["vcpus"][i]["stats"]["exits"], account["vms"][0]["vcpus"][i]["kvm_stats"]["exits"]);
  }
}

TEST_F(StatLive, AVmThatExitsMidRefreshIsReportedGone) {
  HeldGuest g("stat-gone");
  ASSERT_TRUE(g.Start({"--iterations", "100"}));
  const pid_t pid = g.pid();
  StatStream stat("stat-gone", "stat --json -s 0.3 -p " + std::to_string(pid));
  ASSERT_TRUE(stat.WaitForLines(1)) << stat.err();  // it has seen the VM
  g.Finish();  // the VMM exits between two refreshes
  size_t seen = stat.Lines().size();
  ASSERT_TRUE(stat.WaitForLines(seen + 2)) << stat.err();
  EXPECT_EQ(stat.Interrupt(), 0) << stat.err();
  json gone;
  for (const auto& line : stat.Lines()) {
    json vm = FindVm(json::parse(line), pid, 0);
    if (!vm.is_null() && vm["gone"].get<bool>()) gone = vm;
  }
  ASSERT_FALSE(gone.is_null()) << "no refresh reported the VM gone";
  EXPECT_EQ(gone["error"], "the process exited");
  EXPECT_EQ(gone["vcpus"][0]["stats"]["halt_exits"], 100u) << "its last numbers are kept";
}

TEST_F(StatLive, FieldsLogCsvAndErrors) {
  HeldGuest g("stat-log");
  ASSERT_TRUE(g.Start({"--iterations", "100"}));
  const std::string pid = std::to_string(g.pid());
  auto help = RunCommand(Exitprof() + " stat -f help -p " + pid);
  ASSERT_EQ(help.status, 0) << help.err;
  for (const char* name : {"exits", "halt_exits", "mmio_exits", "insn_emulation", "remote_tlb_flush"}) {
    EXPECT_NE(help.out.find(std::string("  ") + name + "\n"), std::string::npos) << name;
  }
  auto csv = RunCommand(Exitprof() + " stat -l -c -n 2 -s 0.05 -f '^(exits|halt_exits)$' -p " + pid);
  ASSERT_EQ(csv.status, 0) << csv.err;
  std::istringstream lines(csv.out);
  std::string line;
  std::vector<std::string> got;
  while (std::getline(lines, line)) got.push_back(line);
  ASSERT_EQ(got.size(), 3u) << csv.out;
  EXPECT_EQ(got[0], "timestamp,exits,halt_exits");  // the kernel's order
  EXPECT_TRUE(got[1].ends_with(",0,0")) << got[1];
  auto zero = RunCommand(Exitprof() + " stat -l -z -n 2 -s 0.05 -p " + pid);
  EXPECT_EQ(zero.status, 0);
  EXPECT_EQ(std::count(zero.out.begin(), zero.out.end(), '\n'), 0) << "-z leaves out all-zero lines: " << zero.out;

  const std::string log_file = TempPath("stat.log");
  ::unlink(log_file.c_str());
  auto to_file = RunCommand(Exitprof() + " stat -L " + log_file + " -n 2 -s 0.05 -f '^exits$' -p " + pid);
  ASSERT_EQ(to_file.status, 0) << to_file.err;
  EXPECT_EQ(to_file.out, "") << "-L writes the log to the file only";
  std::string logged = ReadAll(log_file);
  EXPECT_EQ(std::count(logged.begin(), logged.end(), '\n'), 3) << logged;  // header + 2 lines
  EXPECT_EQ(logged.rfind("timestamp ", 0), 0u) << logged;

  auto bad = RunCommand(Exitprof() + " stat -1 -f '(' -p " + pid);
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("not a valid regular expression"), std::string::npos) << bad.err;
  auto none = RunCommand(Exitprof() + " stat -1 -s 0.05 -p " + std::to_string(::getpid()));
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.err.find("no KVM VM"), std::string::npos) << none.err;
  auto guest = RunCommand(Exitprof() + " stat -1 -s 0.05 --source stats-fd -g no-such-guest");
  EXPECT_EQ(guest.status, 1);
  // No /dev/kvm (a private mount namespace with an empty /dev): one line saying so.
  auto no_kvm = RunCommand("unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /dev && exec " + Exitprof() + " stat -1'");
  if (no_kvm.err.find("unshare:") == std::string::npos) {
    EXPECT_EQ(no_kvm.status, 1);
    EXPECT_NE(no_kvm.err.find("no /dev/kvm"), std::string::npos) << no_kvm.err;
  }
  if (RunCommand("command -v setpriv").status == 0) {
    auto nobody = RunCommand("setpriv --reuid=65534 --regid=65534 --clear-groups " + Exitprof() + " stat -1 -s 0.05 -p " + pid);
    EXPECT_EQ(nobody.status, 1);
    EXPECT_NE(nobody.err.find("CAP_SYS_PTRACE"), std::string::npos) << nobody.err;
  }
  g.Finish();
}

// stat -t -p: counters on a process that has not started its guest yet (inherit carries them to
// the vCPU threads it creates), summed over its refreshes until after the guest finished: counts
// equal the guest's account (and, where kvm_exit fires, so do the exits by reason).
TEST_F(StatLive, TracepointCountsEqualTheGuestsAccount) {
  GatedRun run;
  ASSERT_TRUE(RunGated("stat-t", {"stat -t --json -s 0.5 -f '^kvm_(exit|pio|mmio|userspace_exit)'"}, &run));
  EXPECT_EQ(run.sources[0], "tracepoints");
  ExpectTracepointCountsEqualAccount(run.counted[0], run.account);
}

// stat -t --bpf -p and stat -t -p side by side on one gated guest (both open before its first
// KVM_RUN): the BPF maps give every row -t gives, with the same numbers, and both equal the
// guest's own account of its port IO, MMIO and userspace exits.
TEST_F(StatLive, BpfCountsEqualTracepointCountsAndTheGuestsAccount) {
  // Every row --bpf can give: the five events it attaches and their exit reasons.
  const std::string args = " --json -s 0.5 -f '^kvm_(exit|entry|pio|mmio|userspace_exit)'";
  GatedRun run;
  ASSERT_TRUE(RunGated("stat-t-bpf", {"stat -t --bpf" + args, "stat -t" + args}, &run));
  const json& b = run.counted[0];
  const json& t = run.counted[1];
  EXPECT_EQ(run.sources[0], "bpf");
  EXPECT_EQ(run.sources[1], "tracepoints");
  // Same rows, same counts (reasons nobody hit included, as zeros).
  ASSERT_EQ(b.size(), t.size());
  // Open: in the lab, -t's perf_event counters of kvm_exit/kvm_entry (inherited by the vCPU
  // threads) counted none in a run where BPF counted every exit the guest made; those rows are
  // compared where -t counted them, and BPF's against the guest's account below.
  const bool t_exits = t.value("kvm_exit", uint64_t{0}) > 0;
  for (const auto& [name, n] : t.items()) {
    ASSERT_TRUE(b.contains(name)) << name << " missing with --bpf";
    if (!t_exits && (name.rfind("kvm_exit", 0) == 0 || name == "kvm_entry")) continue;
    EXPECT_EQ(b[name], n) << name;
  }
  ExpectTracepointCountsEqualAccount(b, run.account);
  // Every exit has a reason row.
  uint64_t reasons = 0;
  for (const auto& [name, n] : b.items()) reasons += name.rfind("kvm_exit(", 0) == 0 ? n.get<uint64_t>() : 0;
  EXPECT_EQ(b["kvm_exit"], reasons);
}

// Where BPF is not allowed (here: CAP_BPF and CAP_SYS_ADMIN dropped, CAP_PERFMON kept), --bpf
// says why in one line and counts with perf_event as -t does; misuse is exit status 2.
TEST_F(StatLive, BpfFallsBackToPerfEventWithOneLine) {
  if (RunCommand("command -v setpriv").status != 0) EXITPROF_LIVE_SKIP("needs setpriv (Debian package util-linux)");
  // Debian's perf_event_paranoid=3 (its default, the lab's) refuses perf_event_open to all
  // without CAP_SYS_ADMIN, CAP_PERFMON or not: 2 for this test (upstream's default), then back.
  const std::string paranoid_file = "/proc/sys/kernel/perf_event_paranoid";
  const std::string paranoid = ReadAll(paranoid_file);
  const bool lowered = std::atoi(paranoid.c_str()) > 2 && RunCommand("echo 2 > " + paranoid_file).status == 0;
  auto run = RunCommand("setpriv --bounding-set -bpf,-sys_admin " + Exitprof() +
                        " stat -t --bpf -b --json -s 0.2 -f '^kvm_(pio|mmio)$'");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_NE(run.err.find("--bpf: BPF is not available: this process lacks CAP_BPF"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("counting with perf_event tracepoints instead"), std::string::npos) << run.err;
  if (lowered) RunCommand("echo " + paranoid.substr(0, paranoid.find('\n')) + " > " + paranoid_file);
  json out = json::parse(run.out);
  EXPECT_EQ(out["vms"][0]["source"], "tracepoints");
  EXPECT_EQ(out["vms"][0]["delta"].size(), 2u);

  auto no_t = RunCommand(Exitprof() + " stat --bpf -1");
  EXPECT_EQ(no_t.status, 2);
  EXPECT_NE(no_t.err.find("use it with -t"), std::string::npos) << no_t.err;
  auto other = RunCommand(Exitprof() + " stat -t --bpf -1 -f '^kvm_msr$'");
  EXPECT_EQ(other.status, 2);
  EXPECT_NE(other.err.find("leave out --bpf"), std::string::npos) << other.err;
}

// stat -d (kvm_stat -d): debugfs's per-VM files equal the guest's own stats fds, read at its
// hold: a VM-wide statistic as it is, a vCPU statistic summed over the vCPUs (as KVM sums it
// for debugfs), and each vCPU's debugfs "pid" its thread.
TEST_F(StatLive, DebugfsEqualsTheStatsFds) {
  HeldGuest g("stat-debugfs");
  ASSERT_TRUE(g.Start({"--vcpus", "2", "--iterations", "200"}));
  auto run = RunCommand(Exitprof() + " stat -d --once --json -s 0.1 -p " + std::to_string(g.pid()));
  if (run.status != 0 && run.err.find("debugfs") != std::string::npos) {
    g.Finish();
    EXITPROF_LIVE_SKIP("debugfs KVM statistics do not read here: " + run.err);
  }
  ASSERT_EQ(run.status, 0) << run.err;
  json account = g.Finish();
  json vm = FindVm(json::parse(run.out), account["vms"][0]["pid"].get<pid_t>(), 0);
  ASSERT_FALSE(vm.is_null()) << run.out;
  EXPECT_EQ(vm["source"], "debugfs");
  const json& want_vm = account["vms"][0];
  std::map<std::string, uint64_t> want;
  for (const auto& [name, v] : want_vm["kvm_stats"].items()) {
    if (v.is_number()) want[name] = v;
  }
  for (const auto& cpu : want_vm["vcpus"]) {
    for (const auto& [name, v] : cpu["kvm_stats"].items()) {
      if (v.is_number()) want[name] += v.get<uint64_t>();
    }
  }
  ASSERT_GT(want["exits"], 0u);
  EXPECT_EQ(want["halt_exits"], 400u);
  size_t compared = 0;
  for (const auto& [name, n] : want) {
    if (!vm["stats"].contains(name)) continue;  // e.g. histograms: debugfs has no scalar for them
    EXPECT_EQ(vm["stats"][name], n) << name;
    ++compared;
  }
  EXPECT_GE(compared, 30u) << vm["stats"].dump();
  ASSERT_EQ(vm["vcpus"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(vm["vcpus"][i]["stats"]["pid"], want_vm["vcpus"][i]["tid"]);
}

// The interactive view, driven through tmux as a user would: start, p (pid), f (filter), q.
TEST_F(StatLive, InteractiveViewThroughTmux) {
  if (RunCommand("command -v tmux").status != 0) EXITPROF_LIVE_SKIP("needs tmux (Debian package tmux)");
  HeldGuest g("stat-tui");
  ASSERT_TRUE(g.Start({"--vcpus", "2", "--iterations", "200"}));  // 400 HLT exits in all
  const std::string pid = std::to_string(g.pid());
  TmuxSession tmux("stat", Exitprof() + " stat -i -s 0.3 --source stats-fd");
  ASSERT_TRUE(tmux.ok());
  std::string s = tmux.WaitFor("kvm statistics - summary");
  EXPECT_NE(s.find("Event"), std::string::npos) << s;
  EXPECT_NE(s.find("CurAvg/s"), std::string::npos) << s;

  tmux.Keys("p");
  tmux.WaitFor("Show only the VM(s) of pid");
  tmux.Keys(pid + " Enter");
  s = tmux.WaitFor("pid: " + pid);
  EXPECT_NE(s.find("(1 VM(s)"), std::string::npos) << s;

  tmux.Keys("f");
  tmux.WaitFor("Show statistics matching");
  tmux.Keys("'^halt_exits$' Enter");
  s = tmux.WaitForGone("remote_tlb_flush");
  std::istringstream lines(s);
  std::string line;
  std::vector<std::string> rows;
  while (std::getline(lines, line)) {
    std::istringstream row(line);
    std::string name;
    uint64_t total = 0;
    if (row >> name >> total) rows.push_back(name + " " + std::to_string(total));
  }
  EXPECT_EQ(rows, std::vector<std::string>{"halt_exits 400"}) << s;

  tmux.Keys("q");
  EXPECT_TRUE(tmux.Ended()) << "q should end exitprof stat";
  g.Finish();
}

}  // namespace
}  // namespace exitprof::testing
