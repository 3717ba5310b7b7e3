// shared/fixtures: kvm_exit recordings (VMX and SVM) checked against real perf, with truth.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "test_support.h"

namespace exitprof::testing {
namespace {

using nlohmann::json;

json Truth(const std::string& name) {
  std::ifstream in(SharedDir() + "/fixtures/" + name + ".truth.json");
  return json::parse(in);
}

class FixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureTest, CountsEqualTruth) {
  const std::string path = SharedDir() + "/fixtures/" + GetParam();
  if (!FileExists(path)) GTEST_SKIP() << "needs " << path;
  json truth = Truth(GetParam());
  auto report = ReadReport(path);
  ASSERT_TRUE(report) << report.error().message;
  const auto& m = report->model;

  std::map<std::string, uint64_t> events;
  for (const auto& e : m.events) events[e.name] = e.count;
  for (auto& [name, count] : truth["samples_by_event"].items()) EXPECT_EQ(events[name], count.get<uint64_t>()) << name;
  EXPECT_EQ(m.samples, truth["total_samples"].get<uint64_t>());
  EXPECT_EQ(m.first_ns, truth["time"]["first_ns"].get<uint64_t>());
  EXPECT_EQ(m.last_ns, truth["time"]["last_ns"].get<uint64_t>());

  EXPECT_EQ(m.exits_total, truth["kvm_exit"]["total"].get<uint64_t>());
  EXPECT_EQ(m.isa, truth["kvm_exit"]["isa"].get<int>() == 1 ? "VMX" : "SVM");
  std::map<std::string, uint64_t> by_reason;
  for (const auto& r : m.by_reason) by_reason[r.reason] = r.count;
  EXPECT_EQ(by_reason.size(), truth["kvm_exit"]["by_reason"].size());
  for (auto& [reason, count] : truth["kvm_exit"]["by_reason"].items()) EXPECT_EQ(by_reason[reason], count.get<uint64_t>()) << reason;

  std::map<std::pair<std::string, uint64_t>, uint64_t> by_rip;
  for (const auto& r : m.by_rip) by_rip[{r.reason, r.rip}] = r.count;
  for (auto& [reason, rows] : truth["kvm_exit"]["by_reason_rip"].items()) {
    for (const auto& row : rows) {
      uint64_t rip = std::stoull(row["rip"].get<std::string>(), nullptr, 16);
      EXPECT_EQ((by_rip[{reason, rip}]), row["count"].get<uint64_t>()) << reason << " " << row["rip"];
    }
  }

  ASSERT_EQ(m.by_vcpu.size(), truth["kvm_exit"]["by_vcpu"].size());
  std::map<uint32_t, const analysis::VcpuRow*> by_tid;
  for (const auto& r : m.by_vcpu) by_tid[r.tid] = &r;
  for (const auto& t : truth["kvm_exit"]["by_vcpu"]) {
    const auto* row = by_tid[t["tid"].get<uint32_t>()];
    ASSERT_NE(row, nullptr);
    EXPECT_EQ(row->pid, t["pid"].get<uint32_t>());
    EXPECT_EQ(row->vcpu, t["vcpu_id"].get<int64_t>());
    EXPECT_EQ(row->comm, t["comm"].get<std::string>());  // "CPU 0/KVM": a name with a space
    EXPECT_EQ(row->count, t["count"].get<uint64_t>());
  }
  for (auto& [pid, v] : truth["kvm_exit"]["by_pid"].items()) {
    bool found = false;
    for (const auto& r : m.by_vm) {
      if (std::to_string(r.pid) == pid) {
        found = true;
        EXPECT_EQ(r.count, v["count"].get<uint64_t>());
        EXPECT_EQ(r.comm, "qemu-system-x86");
      }
    }
    EXPECT_TRUE(found) << pid;
  }

  std::map<std::pair<uint16_t, bool>, uint64_t> pio;
  for (const auto& r : m.pio) pio[{r.port, r.write}] += r.count;
  for (const auto& row : truth["kvm_pio"]["by_port_dir"])
    EXPECT_EQ((pio[{row["port_int"].get<uint16_t>(), row["rw"].get<int>() == 1}]), row["count"].get<uint64_t>());
  std::map<std::pair<uint64_t, std::string>, uint64_t> mmio;
  for (const auto& r : m.mmio) mmio[{r.gpa, r.type}] += r.count;
  for (const auto& row : truth["kvm_mmio"]["by_gpa_type"]) {
    uint64_t gpa = std::stoull(row["gpa"].get<std::string>(), nullptr, 16);
    EXPECT_EQ((mmio[{gpa, row["type_name"].get<std::string>()}]), row["count"].get<uint64_t>());
  }
}

TEST_P(FixtureTest, ReasonFilterKeepsOnlyThatReason) {
  const std::string path = SharedDir() + "/fixtures/" + GetParam();
  if (!FileExists(path)) GTEST_SKIP() << "needs " << path;
  json truth = Truth(GetParam());
  std::string reason = truth["kvm_exit"]["by_reason"].begin().key();
  std::string lower = reason;
  for (auto& c : lower) c = static_cast<char>(std::tolower(c));
  analysis::ExitFilter filter;
  filter.reasons = {lower};
  auto report = ReadReport(path, filter);
  ASSERT_TRUE(report);
  ASSERT_EQ(report->model.by_reason.size(), 1u);
  EXPECT_EQ(report->model.by_reason[0].reason, reason);
  EXPECT_EQ(report->model.exits_total, truth["kvm_exit"]["by_reason"][reason].get<uint64_t>());
}

TEST_P(FixtureTest, PidAndVcpuFilters) {
  const std::string path = SharedDir() + "/fixtures/" + GetParam();
  if (!FileExists(path)) GTEST_SKIP() << "needs " << path;
  json truth = Truth(GetParam());
  auto first = truth["kvm_exit"]["by_pid"].begin();
  analysis::ExitFilter filter;
  filter.pid = static_cast<uint32_t>(std::stoul(first.key()));
  auto report = ReadReport(path, filter);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->model.exits_total, first.value()["count"].get<uint64_t>());

  analysis::ExitFilter vcpu_filter;
  vcpu_filter.vcpu = 0;
  report = ReadReport(path, vcpu_filter);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->model.exits_total, truth["kvm_exit"]["by_vcpu_id"]["0"].get<uint64_t>());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureTest, ::testing::Values("small-vmx.data", "small-svm.data"));

}  // namespace
}  // namespace exitprof::testing
