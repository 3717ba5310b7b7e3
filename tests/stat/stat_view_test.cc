// StatHistory and the table: deltas, totals since stat started or since the VM started (-i),
// instant and peak values, per-reason rows, -f and -g, from hand-made samples.
#include <gtest/gtest.h>

#include "analysis/stat_view.h"
#include "render/stat_render.h"

namespace exitprof::testing {
namespace {

using kvmstat::StatType;

std::shared_ptr<const std::vector<kvmstat::StatMeta>> Meta() {
  auto m = std::make_shared<std::vector<kvmstat::StatMeta>>();
  m->push_back({.name = "exits", .type = StatType::kCumulative, .unit = "", .bucket_size = 0, .first = 0, .size = 1});
  m->push_back({.name = "pages_4k", .type = StatType::kInstant, .unit = "pages", .bucket_size = 0, .first = 1, .size = 1});
  m->push_back({.name = "max_rmap", .type = StatType::kPeak, .unit = "", .bucket_size = 0, .first = 2, .size = 1});
  m->push_back({.name = "halt_wait_hist", .type = StatType::kLogHist, .unit = "ns", .bucket_size = 0, .first = 3, .size = 2});
  return m;
}

kvmstat::VmSnapshot Vm(pid_t pid, const std::string& name, std::vector<std::vector<uint64_t>> vcpu_values) {
  static auto meta = Meta();
  kvmstat::VmSnapshot vm;
  vm.pid = pid;
  vm.name = name;
  vm.source = "stats-fd";
  for (size_t i = 0; i < vcpu_values.size(); ++i) {
    vm.vcpus.push_back({.vcpu = static_cast<int>(i), .tid = 0, .stats = {meta, vcpu_values[i]}});
  }
  return vm;
}

uint64_t Total(const std::vector<analysis::StatRow>& rows, const std::string& name, bool delta = false) {
  for (const auto& r : rows) {
    if (r.name == name) return delta ? r.delta : r.total;
  }
  return UINT64_MAX;
}

TEST(StatView, DeltasTotalsInstantAndPeak) {
  analysis::StatViewOptions options;
  analysis::StatHistory since_stat(false), since_vm(true);
  std::vector<kvmstat::VmSnapshot> first = {Vm(10, "a", {{100, 7, 3, 1, 1}, {50, 7, 9, 0, 0}}), Vm(20, "b", {{5, 1, 1, 0, 0}})};
  std::vector<kvmstat::VmSnapshot> second = {Vm(10, "a", {{130, 8, 4, 2, 1}, {60, 6, 9, 0, 0}}), Vm(20, "b", {{6, 1, 2, 0, 0}})};
  for (auto* h : {&since_stat, &since_vm}) {
    h->Push(first);
    h->Push(second);
  }
  auto rows = analysis::Aggregate(second, since_stat, options);
  EXPECT_EQ(Total(rows, "exits"), 41u) << "30 + 10 + 1 since stat started";
  EXPECT_EQ(Total(rows, "exits", true), 41u);
  EXPECT_EQ(Total(rows, "pages_4k"), 15u) << "instant values are summed as they are now";
  EXPECT_EQ(Total(rows, "max_rmap"), 9u) << "a peak of peaks";
  EXPECT_EQ(Total(rows, "halt_wait_hist"), UINT64_MAX) << "histograms are not table rows";
  auto past = analysis::Aggregate(second, since_vm, options);
  EXPECT_EQ(Total(past, "exits"), 196u) << "-i: 130 + 60 + 6 since each VM started";
  auto one_cpu = analysis::Aggregate({second[0]}, since_vm, options, 1);
  EXPECT_EQ(Total(one_cpu, "exits"), 60u);

  options.guest = "b";
  EXPECT_EQ(Total(analysis::Aggregate(second, since_vm, options), "exits"), 6u);
  options.guest.clear();
  options.fields.emplace("^ex", std::regex::extended);
  auto filtered = analysis::Aggregate(second, since_vm, options);
  ASSERT_EQ(filtered.size(), 1u);
  EXPECT_EQ(filtered[0].name, "exits");

  std::string json = render::RenderStatJson(second, since_stat, {}, 1.0);
  EXPECT_NE(json.find(R"("stats":{"exits":130,"pages_4k":8,"max_rmap":4,"halt_wait_hist":[2,1]},"delta":{"exits":30,"pages_4k":8,"max_rmap":4,"halt_wait_hist":[1,0]})"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("units":{"pages_4k":"pages","halt_wait_hist":"ns"})"), std::string::npos) << json;
}

TEST(StatView, NewVmHasNoDeltaYetAndLogSkipsZeroLines) {
  analysis::StatHistory history(false);
  analysis::StatViewOptions options;
  history.Push({Vm(10, "a", {{100, 0, 0, 0, 0}})});
  std::vector<kvmstat::VmSnapshot> now = {Vm(10, "a", {{100, 0, 0, 0, 0}}), Vm(30, "c", {{999, 0, 0, 0, 0}})};
  history.Push(now);
  auto rows = analysis::Aggregate(now, history, options);
  EXPECT_EQ(Total(rows, "exits"), 0u) << "c counts from its first sample";
  options.skip_zero = true;
  auto fields = analysis::LogFields(now, options);
  EXPECT_EQ(fields, std::vector<std::string>{"exits"});
  EXPECT_EQ(render::RenderStatLogLine(now, history, options, fields, true), "");
  EXPECT_EQ(render::RenderStatLogHeader(fields, true), "timestamp,exits\n");
}

}  // namespace
}  // namespace exitprof::testing
