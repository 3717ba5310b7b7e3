// Pieces of the BPF path that need no kernel: intervals as differences of snapshots,
// per-process counts for `stat` (exit reason names: tests/kvm/reason_table_test.cc).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "capture/bpf/kvm_aggregator.h"

namespace exitprof::capture::bpf {
namespace {

template <typename Key>
std::string Bytes(const Key& k) {
  return std::string(reinterpret_cast<const char*>(&k), sizeof k);
}

TEST(Snapshot, DeltaKeepsOnlyWhatHappenedInTheInterval) {
  Snapshot before, now;
  agg_pio_key a{1, 2, 0x3f8, 1, 1, 0}, b{1, 3, 0x70, 1, 1, 0};
  before.pio[Bytes(a)] = {10};
  now.pio[Bytes(a)] = {25};
  now.pio[Bytes(b)] = {4};
  before.pio[Bytes(b)] = {4};
  agg_lat_key l{30, 1};
  before.latency[Bytes(l)] = std::vector<uint64_t>(4 + AGG_LOG2_SLOTS, 0);
  before.latency[Bytes(l)][0] = 2;
  before.latency[Bytes(l)][2] = 100;  // min
  now.latency[Bytes(l)] = before.latency[Bytes(l)];
  now.latency[Bytes(l)][0] = 5;
  now.latency[Bytes(l)][2] = 50;
  now.latency[Bytes(l)][4 + 7] = 3;
  before.events[AGG_EV_PIO] = 14;
  now.events[AGG_EV_PIO] = 29;
  now.drops[AGG_MAP_MMIO] = 2;
  Snapshot d = Delta(now, before);
  auto pio = d.Pio();
  ASSERT_EQ(pio.size(), 1u);  // b did nothing new
  EXPECT_EQ(pio[0].port, 0x3f8);
  EXPECT_EQ(pio[0].count, 15u);
  EXPECT_EQ(d.events[AGG_EV_PIO], 15u);
  EXPECT_EQ(d.dropped(), 2u);
  auto lat = d.Latency();
  ASSERT_EQ(lat.size(), 1u);
  EXPECT_EQ(lat[0].count, 3u);
  EXPECT_EQ(lat[0].min_ns, 50u);  // min/max are kept as they are, not subtracted
  EXPECT_EQ(lat[0].slots[7], 3u);
}

TEST(Snapshot, CountsByPidForStat) {
  Snapshot s;
  agg_uexit_key u1{100, 101, 2, 0}, u2{100, 102, 2, 0}, u3{200, 201, AGG_UEXIT_RESTART, 0};
  s.uexits[Bytes(u1)] = {7};
  s.uexits[Bytes(u2)] = {5};
  s.uexits[Bytes(u3)] = {1};
  agg_exit_key e{100, 101, 0, 30, 1, 0};
  s.exits[Bytes(e)] = {9};
  auto counts = CountsByPid(s);
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_EQ(counts[0].pid, 100u);
  EXPECT_EQ(counts[0].event, "kvm_exit");
  EXPECT_EQ(counts[0].reason, "1:30");
  EXPECT_EQ(counts[1].event, "kvm_userspace_exit");
  EXPECT_EQ(counts[1].reason, "KVM_EXIT_IO");
  EXPECT_EQ(counts[1].count, 12u);
  EXPECT_EQ(counts[2].pid, 200u);
  EXPECT_EQ(counts[2].reason, "restart");
}

TEST(UserspaceExitName, KnownAndUnknown) {
  EXPECT_EQ(UserspaceExitName(2), "KVM_EXIT_IO");
  EXPECT_EQ(UserspaceExitName(5), "KVM_EXIT_HLT");
  EXPECT_EQ(UserspaceExitName(6), "KVM_EXIT_MMIO");
  EXPECT_EQ(UserspaceExitName(999), "KVM_EXIT_999");
}

}  // namespace
}  // namespace exitprof::capture::bpf

#include "test_support.h"

namespace exitprof::testing {
namespace {

TEST(BpfCli, BadUsageIsOneLineAndStatus2) {
  struct Case {
    std::string args, says;
  };
  const Case cases[] = {
      {"record --aggregate -e kvm:kvm_pio", "--aggregate counts the kvm events it knows"},
      {"record --interval 1 -o /dev/null -- true", "--interval and --no-bpf go with --aggregate"},
      {"record --aggregate -p 999999999 --duration 0.1", "-p 999999999: no such process"},
      {"record --aggregate -a -p 1", "-a and -p exclude each other"},
      {"top --bpf -e kvm:kvm_pio --once", "-e applies without --bpf"},
      {"top --bpf --once -p 999999999", "-p 999999999: no such process"},
  };
  for (const auto& c : cases) {
    auto r = RunCommand(Exitprof() + " " + c.args);
    EXPECT_EQ(r.status, 2) << c.args << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << ": " << r.err;
  }
}

}  // namespace
}  // namespace exitprof::testing
