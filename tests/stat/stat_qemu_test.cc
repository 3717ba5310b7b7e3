// `exitprof stat` against a third-party VMM: Debian's QEMU (7.1+ serves query-stats) runs a tiny
// guest that does known MMIO reads and then halts with interrupts off; the test then pauses it. exitprof finds the QMP
// socket in QEMU's command line; its numbers must equal QMP query-stats asked right after.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "nested_rerun.h"
#include "test_support.h"
#include "qemu/qmp.h"

namespace exitprof::testing {
namespace {

using nlohmann::json;
constexpr const char* kQboot = "/usr/share/qemu/qboot.rom";

class StatQemu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = QemuGuestSkipReason(); !why.empty()) EXITPROF_LIVE_SKIP(why);
    socket_ = TempPath("stat-qmp.sock");
  }
  void TearDown() override { Stop(); }
  void Launch() {
    ::unlink(socket_.c_str());
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      std::string qmp = "unix:" + socket_ + ",server=on,wait=off";
      ::execlp("qemu-system-x86_64", "qemu-system-x86_64", "-name", "guest=stat-test,debug-threads=on", "-enable-kvm",
               "-cpu", "qemu64,pni=off", "-nodefaults", "-display", "none", "-smp", "2", "-bios", kQboot, "-kernel",
               STAT_GUEST_ELF, "-qmp", qmp.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 400 && !FileExists(socket_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    ASSERT_TRUE(FileExists(socket_)) << "QEMU did not create " << socket_;
  }
  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  // QEMU's run state ("running", "internal-error" where nested SVM stopped a vCPU, ...).
  std::string RunState() {
    auto client = qemu::QmpClient::Connect(socket_, 10000);
    if (!client) return "";
    auto status = client->Execute("query-status");
    return status ? (*status)["status"].get<std::string>() : "";
  }
  // query-stats of every vCPU: qom-path -> {name: value}.
  std::map<std::string, json> VcpuStats() {
    std::map<std::string, json> out;
    auto client = qemu::QmpClient::Connect(socket_);
    if (!client) return out;
    auto answer = client->Execute("query-stats", {{"target", "vcpu"}, {"providers", {{{"provider", "kvm"}}}}});
    if (!answer) return out;
    for (const auto& entry : *answer) {
      json stats = json::object();
      for (const auto& s : entry["stats"]) stats[s["name"].get<std::string>()] = s["value"];
      out[entry["qom-path"].get<std::string>()] = stats;
    }
    return out;
  }
  std::string socket_;
  pid_t pid_ = -1;
};

TEST_F(StatQemu, EqualsQmpQueryStats) {
  // Wait until the boot vCPU has done its reads and halted (again, should nested SVM stop it).
  std::map<std::string, json> before;
  for (int attempt = 0; attempt < kNestedAttempts; ++attempt) {
    ASSERT_NO_FATAL_FAILURE(Launch());
    bool halted = false;
    for (int i = 0; i < 400 && !halted; ++i) {
      before = VcpuStats();
      for (const auto& [path, stats] : before) halted |= stats.value("halt_exits", 0) >= 1 && stats.value("mmio_exits", 0) >= STAT_GUEST_MMIO_READS;
      if (!halted) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (RunState() != "internal-error") break;
    NoteNestedRerun("qemu-system-x86_64 (query-status: internal-error)");
    Stop();
  }
  // Paused, the vCPU threads wait in QEMU, out of KVM_RUN: query-stats no longer needs to kick
  // them (which would add a signal_exit per query), so every counter stands still.
  ASSERT_TRUE(qemu::QmpClient::Connect(socket_)->Execute("stop"));
  before = VcpuStats();
  ASSERT_EQ(before.size(), 2u) << "QMP query-stats should list 2 vCPUs";

  auto run = RunCommand(Exitprof() + " stat --once --json -s 0.1 -p " + std::to_string(pid_));
  ASSERT_EQ(run.status, 0) << run.err;
  auto after = VcpuStats();
  json stat = json::parse(run.out);
  ASSERT_EQ(stat["vms"].size(), 1u) << run.out;
  const auto& vm = stat["vms"][0];
  EXPECT_EQ(vm["name"], "stat-test");
  EXPECT_EQ(vm["source"], "qmp");
  EXPECT_EQ(vm["source_detail"], socket_);
  ASSERT_EQ(vm["vcpus"].size(), 2u);
  // The halted vCPUs' counters stood still from before to after; stat saw those values.
  auto cpus = qemu::QmpClient::Connect(socket_)->Execute("query-cpus-fast");
  ASSERT_TRUE(cpus);
  uint64_t mmio = 0, halts = 0;
  for (const auto& cpu : *cpus) {
    const std::string path = cpu["qom-path"];
    const int index = cpu["cpu-index"];
    const auto& got = vm["vcpus"][static_cast<size_t>(index)];
    EXPECT_EQ(got["vcpu"], index);
    EXPECT_EQ(got["tid"], cpu["thread-id"]);
    for (const char* name : {"exits", "halt_exits", "mmio_exits", "io_exits", "insn_emulation", "irq_exits",
                             "signal_exits", "halt_wakeup"}) {
      ASSERT_TRUE(after[path].contains(name)) << name;
      const uint64_t b = before[path][name], a = after[path][name], g = got["stats"][name];
      EXPECT_EQ(b, a) << path << " " << name << " moved while paused";
      EXPECT_EQ(g, a) << path << " " << name;
    }
    // Every other statistic QMP lists (histograms too) is the same as well.
    // (QMP gives boolean statistics as true/false; stat as the stats fd does, 1/0.)
    for (const auto& [name, value] : after[path].items()) {
      EXPECT_EQ(got["stats"][name], value.is_boolean() ? json(value.get<bool>() ? 1 : 0) : value) << path << " " << name;
    }
    mmio += got["stats"]["mmio_exits"].get<uint64_t>();
    halts += got["stats"]["halt_exits"].get<uint64_t>();
  }
  // The guest's own reads are there (firmware adds its own MMIO accesses before them).
  EXPECT_GE(mmio, static_cast<uint64_t>(STAT_GUEST_MMIO_READS));
  EXPECT_GE(halts, 1u);
  EXPECT_EQ(stat["units"]["halt_wait_ns"], "ns");
}

}  // namespace
}  // namespace exitprof::testing
