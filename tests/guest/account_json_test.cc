#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "guest/guest.h"

namespace exitprof::guest {
namespace {

VcpuAccount Account(int vm, int vcpu, pid_t tid) {
  VcpuAccount a;
  a.vm = vm;
  a.vcpu = vcpu;
  a.pid = 100;
  a.tid = tid;
  a.pio[{0x3f8, 1, Direction::kWrite}] = 10;
  a.pio[{0x71, 1, Direction::kRead}] = 10;
  a.mmio[{0xd0000, 4, Direction::kRead}] = 10;
  a.hlt = 10;
  a.done = 1;
  a.userspace_exits = {{"KVM_EXIT_IO", 21}, {"KVM_EXIT_MMIO", 10}, {"KVM_EXIT_HLT", 10}};
  a.iterations = 10;
  a.completed = true;
  a.stop_reason = "done";
  a.vm_stats_fd = true;
  a.vcpu_stats_fd = true;
  a.elapsed_ns = 12345;
  return a;
}

TEST(AccountJsonTest, GroupsVcpusByVmInTheDocumentedLayout) {
  auto json = nlohmann::json::parse(AccountToJson({Account(0, 0, 101), Account(0, 1, 102), Account(1, 0, 103)}));
  ASSERT_EQ(json["vms"].size(), 2u);
  EXPECT_EQ(json["vms"][0]["vm"], 0);
  EXPECT_EQ(json["vms"][0]["pid"], 100);
  ASSERT_EQ(json["vms"][0]["vcpus"].size(), 2u);
  ASSERT_EQ(json["vms"][1]["vcpus"].size(), 1u);
  EXPECT_EQ(json["vms"][1]["vcpus"][0]["tid"], 103);

  auto expected = nlohmann::json::parse(R"({
    "vcpu": 1, "tid": 102,
    "pio": [{"port": "0x71", "size": 1, "direction": "read", "count": 10},
            {"port": "0x3f8", "size": 1, "direction": "write", "count": 10}],
    "mmio": [{"gpa": "0xd0000", "len": 4, "direction": "read", "count": 10}],
    "hlt": 10,
    "done": {"port": "0x501", "count": 1},
    "userspace_exits": {"KVM_EXIT_HLT": 10, "KVM_EXIT_IO": 21, "KVM_EXIT_MMIO": 10},
    "iterations": 10, "completed": true, "stop_reason": "done",
    "stats_fds": {"vm": true, "vcpu": true},
    "elapsed_ns": 12345})");
  EXPECT_EQ(json["vms"][0]["vcpus"][1], expected);
}

TEST(AccountJsonTest, AVcpuKvmStoppedSaysWhyAfterItsStopReason) {
  VcpuAccount stopped = Account(0, 1, 102), aborted = Account(0, 0, 101);
  stopped.completed = aborted.completed = false;
  stopped.stop_reason = "KVM_EXIT_INTERNAL_ERROR";
  stopped.error = "vm 0 vcpu 1: stopped by KVM_EXIT_INTERNAL_ERROR (17): suberror 1 at rip 0x100c, iteration 7, op 1";
  aborted.stop_reason = "stopped";
  auto json = nlohmann::ordered_json::parse(AccountToJson({aborted, stopped}));
  const auto& v = json["vms"][0]["vcpus"];
  EXPECT_FALSE(v[0].contains("error"));
  EXPECT_EQ(v[1]["stop_reason"], "KVM_EXIT_INTERNAL_ERROR");
  EXPECT_EQ(v[1]["error"], stopped.error);
  std::vector<std::string> keys;
  for (auto& [key, value] : v[1].items()) keys.push_back(key);
  EXPECT_EQ(std::find(keys.begin(), keys.end(), "error") - std::find(keys.begin(), keys.end(), "stop_reason"), 1);
  EXPECT_EQ(FirstVcpuError({aborted, stopped}), stopped.error);
  EXPECT_EQ(FirstVcpuError({aborted}), "");
}

TEST(AccountJsonTest, EmptyListIsEmptyVms) {
  EXPECT_EQ(nlohmann::json::parse(AccountToJson({})), nlohmann::json::parse(R"({"vms": []})"));
}

TEST(ExitReasonNameTest, KnownAndUnknown) {
  EXPECT_EQ(ExitReasonName(2), "KVM_EXIT_IO");
  EXPECT_EQ(ExitReasonName(5), "KVM_EXIT_HLT");
  EXPECT_EQ(ExitReasonName(6), "KVM_EXIT_MMIO");
  EXPECT_EQ(ExitReasonName(17), "KVM_EXIT_INTERNAL_ERROR");
  EXPECT_EQ(ExitReasonName(37), "KVM_EXIT_NOTIFY");
  EXPECT_EQ(ExitReasonName(1000), "KVM_EXIT_1000");
}

}  // namespace
}  // namespace exitprof::guest
