// `exitprof stat` against real KVM guests of our own VMM (exitprof-guest --hold): after their
// work the vCPUs sit out of KVM_RUN, so their counters stand still while stat reads them, and the
// VMM then reports what its own stats fds say. Every number must be equal.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "test_support.h"

namespace exitprof::testing {
namespace {

using nlohmann::json;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An exitprof-guest run with --hold: Start() returns once every vCPU is holding.
class HeldGuest {
 public:
  explicit HeldGuest(std::string tag) : json_(TempPath(tag + ".json")), err_(TempPath(tag + ".err")) {}
  ~HeldGuest() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ::testing::AssertionResult Start(std::vector<std::string> args, bool hold = true) {
    args.insert(args.begin(), BinaryDir() + "/exitprof-guest");
    if (hold) args.push_back("--hold");
    args.push_back("--json");
    args.push_back(json_);
    ::unlink(json_.c_str());
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* err = std::freopen(err_.c_str(), "w", stderr);
      FILE* out = std::freopen("/dev/null", "w", stdout);
      (void)err, (void)out;
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (!hold) return ::testing::AssertionSuccess();
    for (int i = 0; i < 400; ++i) {
      if (ReadAll(err_).find("holding") != std::string::npos) return ::testing::AssertionSuccess();
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return ::testing::AssertionFailure() << "exitprof-guest ended early: " << ReadAll(err_);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return ::testing::AssertionFailure() << "exitprof-guest did not reach its hold: " << ReadAll(err_);
  }
  // Ends the hold (or waits for the run) and returns the guest's account.
  json Finish(bool signal = true) {
    if (signal) ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadAll(err_);
    return json::parse(ReadAll(json_), nullptr, false);
  }
  pid_t pid() const { return pid_; }

 private:
  std::string json_, err_;
  pid_t pid_ = -1;
};

class StatLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (pidfd_getfd of another process's stats fds)";
    if (::access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "needs /dev/kvm";
  }
};

// The stat JSON's VM (pid, index), or null.
// Forks the built-in guest (2 vCPUs, 1500 iterations, its account to `account_path`) held
// before exec until a byte is written to *gate, so counters can be opened on it first.
pid_t StartGatedGuest(const std::string& account_path, int* gate) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  pid_t child = ::fork();
  if (child < 0) return -1;
  if (child == 0) {
    ::close(fds[1]);
    char c;
    if (::read(fds[0], &c, 1) != 1) ::_exit(126);
    FILE* out = std::freopen("/dev/null", "w", stdout);
    (void)out;
    const std::string guest = BinaryDir() + "/exitprof-guest";
    ::execl(guest.c_str(), guest.c_str(), "--vcpus", "2", "--iterations", "1500", "--json", account_path.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[0]);
  *gate = fds[1];
  return child;
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
  EXPECT_EQ(counted["kvm_userspace_exit(KVM_EXIT_HLT)"], 3000u);
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
  ASSERT_TRUE(g.Start({"--iterations", "100000000", "--rate", "2000", "--duration-ms", "800"}, /*hold=*/false));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  auto run = RunCommand(Exitprof() + " stat -b --json -s 2 -p " + std::to_string(g.pid()));
  ASSERT_EQ(run.status, 0) << run.err;
  json stat = json::parse(run.out);
  ASSERT_EQ(stat["vms"].size(), 1u) << run.out;
  EXPECT_TRUE(stat["vms"][0]["gone"].get<bool>()) << run.out;
  EXPECT_EQ(stat["vms"][0]["error"], "the process exited");
  EXPECT_GT(stat["vms"][0]["vcpus"][0]["stats"]["exits"].get<uint64_t>(), 0u) << "its last numbers are kept";
  g.Finish(/*signal=*/false);
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
// the vCPU threads it creates), read after the guest finished: counts equal the guest's account.
TEST_F(StatLive, TracepointCountsEqualTheGuestsAccount) {
  const std::string account_path = TempPath("stat-t.json");
  int gate = -1;
  pid_t child = StartGatedGuest(account_path, &gate);
  ASSERT_GT(child, 0);
  CommandResult run;
  std::thread stat([&] {
    run = RunCommand(Exitprof() + " stat -t -b --json -s 3 -f '^kvm_(pio|mmio|userspace_exit)' -p " + std::to_string(child));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // counters open and first sample taken
  ASSERT_EQ(::write(gate, "g", 1), 1);
  ::close(gate);
  int status = 0;
  ::waitpid(child, &status, 0);
  stat.join();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(run.status, 0) << run.err;
  json stat_json = json::parse(run.out);
  ASSERT_EQ(stat_json["vms"].size(), 1u);
  EXPECT_EQ(stat_json["vms"][0]["source"], "tracepoints");
  const json& counted = stat_json["vms"][0]["delta"];
  ExpectTracepointCountsEqualAccount(counted, json::parse(ReadAll(account_path)));
}

// stat -t --bpf -p and stat -t -p side by side on one gated guest (both open before its first
// KVM_RUN): the BPF maps give every row -t gives, with the same numbers, and both equal the
// guest's own account of its port IO, MMIO and userspace exits.
TEST_F(StatLive, BpfCountsEqualTracepointCountsAndTheGuestsAccount) {
  const std::string account_path = TempPath("stat-t-bpf.json");
  int gate = -1;
  pid_t child = StartGatedGuest(account_path, &gate);
  ASSERT_GT(child, 0);
  // Every row --bpf can give: the five events it attaches and their exit reasons.
  const std::string args = " -b --json -s 5 -f '^kvm_(exit|entry|pio|mmio|userspace_exit)' -p " + std::to_string(child);
  CommandResult bpf, perf;
  std::thread bpf_thread([&] { bpf = RunCommand(Exitprof() + " stat -t --bpf" + args); });
  std::thread perf_thread([&] { perf = RunCommand(Exitprof() + " stat -t" + args); });
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // both opened and took their first sample
  ASSERT_EQ(::write(gate, "g", 1), 1);
  ::close(gate);
  int status = 0;
  ::waitpid(child, &status, 0);
  bpf_thread.join();
  perf_thread.join();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(bpf.status, 0) << bpf.err;
  ASSERT_EQ(perf.status, 0) << perf.err;
  EXPECT_EQ(bpf.err, "") << "no fallback line: BPF is allowed for root";
  json bpf_json = json::parse(bpf.out), perf_json = json::parse(perf.out);
  ASSERT_EQ(bpf_json["vms"].size(), 1u);
  ASSERT_EQ(perf_json["vms"].size(), 1u);
  const json& b = bpf_json["vms"][0];
  const json& t = perf_json["vms"][0];
  EXPECT_EQ(b["source"], "bpf");
  EXPECT_EQ(t["source"], "tracepoints");
  EXPECT_EQ(b["pid"], child);
  // Same rows in the same order, same counts (reasons nobody hit included, as zeros).
  ASSERT_EQ(b["delta"].size(), t["delta"].size());
  for (const auto& [name, n] : t["delta"].items()) {
    ASSERT_TRUE(b["delta"].contains(name)) << name << " missing with --bpf";
    EXPECT_EQ(b["delta"][name], n) << name;
    EXPECT_EQ(b["stats"][name], t["stats"][name]) << name;
  }
  const json& counted = b["delta"];
  ExpectTracepointCountsEqualAccount(counted, json::parse(ReadAll(account_path)));
  // Every exit has a reason row, and every exit is followed by an entry (the guest ran to its end).
  uint64_t reasons = 0;
  for (const auto& [name, n] : counted.items()) reasons += name.rfind("kvm_exit(", 0) == 0 ? n.get<uint64_t>() : 0;
  EXPECT_EQ(counted["kvm_exit"], reasons);
  // Hosts whose KVM does not fire kvm_exit (e.g. kvm_pvm) count none with either back end.
  if (counted["kvm_exit"].get<uint64_t>() > 0) {
    const std::string hlt = counted.contains("kvm_exit(HLT)") ? "kvm_exit(HLT)" : "kvm_exit(hlt)";
    EXPECT_GE(counted.value(hlt, uint64_t{0}), 3000u) << "one HLT exit per hlt at least";
  }
}

// Where BPF is not allowed (here: CAP_BPF and CAP_SYS_ADMIN dropped, CAP_PERFMON kept), --bpf
// says why in one line and counts with perf_event as -t does; misuse is exit status 2.
TEST_F(StatLive, BpfFallsBackToPerfEventWithOneLine) {
  if (RunCommand("command -v setpriv").status != 0) GTEST_SKIP() << "needs setpriv (Debian package util-linux)";
  auto run = RunCommand("setpriv --bounding-set -bpf,-sys_admin " + Exitprof() +
                        " stat -t --bpf -b --json -s 0.2 -f '^kvm_(pio|mmio)$'");
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_NE(run.err.find("--bpf: BPF is not available: this process lacks CAP_BPF"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("counting with perf_event tracepoints instead"), std::string::npos) << run.err;
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

// The interactive view, driven through tmux as a user would: start, p (pid), f (filter), q.
TEST_F(StatLive, InteractiveViewThroughTmux) {
  if (RunCommand("command -v tmux").status != 0) GTEST_SKIP() << "needs tmux (Debian package tmux)";
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
