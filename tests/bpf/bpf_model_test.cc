// One model builder: counts read from BPF maps fill the same ExitStats as a recording and go
// through the same analysis::BuildReportModel. A recording's counts, re-encoded as the BPF maps
// would hold them, must give `top --bpf` exactly report's rows, in report's order (ties too:
// the old BPF model broke them another way and had its own idle list and page folding).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "analysis/exit_stats.h"
#include "analysis/report_model.h"
#include "live/bpf_counts.h"
#include "recording_gen.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

namespace bpf = capture::bpf;

template <typename Key>
std::string Bytes(const Key& k) {
  return std::string(reinterpret_cast<const char*>(&k), sizeof k);
}

// What the BPF maps would hold after counting the recording's events: exits per (thread,
// reason) are any split that keeps report's per-thread and per-reason totals.
bpf::Snapshot AsSnapshot(const analysis::ExitStats& stats) {
  bpf::Snapshot s;
  const auto& c = stats.exits();
  std::vector<std::pair<uint32_t, uint64_t>> reasons;  // (id, count left)
  for (uint32_t id = 0; id < c.by_reason.size(); ++id) {
    if (c.by_reason[id]) reasons.push_back({id, c.by_reason[id]});
  }
  size_t r = 0;
  c.by_vcpu.ForEach([&](uint64_t thread, uint64_t vcpu, uint64_t n) {
    while (n > 0 && r < reasons.size()) {
      const uint64_t take = std::min(n, reasons[r].second);
      agg_exit_key k{static_cast<uint32_t>(thread >> 32), static_cast<uint32_t>(thread), static_cast<uint32_t>(vcpu),
                     reasons[r].first, 1, 0};
      s.exits[Bytes(k)] = {s.exits[Bytes(k)].empty() ? take : s.exits[Bytes(k)][0] + take};
      n -= take;
      if ((reasons[r].second -= take) == 0) ++r;
    }
  });
  c.by_reason_rip.ForEach([&](uint64_t id, uint64_t rip, uint64_t n) {
    s.rips[Bytes(agg_rip_key{static_cast<uint32_t>(id), 1, rip})] = {n};
  });
  stats.pio_by_thread().ForEach([&](uint64_t thread, uint64_t access, uint64_t n) {
    agg_pio_key k{static_cast<uint32_t>(thread >> 32), static_cast<uint32_t>(thread), static_cast<uint16_t>(access >> 16),
                  static_cast<uint8_t>(access & 0xff), static_cast<uint8_t>((access >> 8) & 1), 0};
    s.pio[Bytes(k)] = {n};
  });
  for (const auto& [key, n] : stats.mmio()) {
    const auto& [pid, gpa, len, type] = key;
    s.mmio[Bytes(agg_mmio_key{pid, pid, gpa, len, type})] = {n};
  }
  for (const auto& [tid, t] : stats.threads().threads()) s.threads[tid] = {t.pid, tid, t.comm};
  return s;
}

// kvm_exit's print fmt as the BPF side parses it, for reason numbers = report's reason ids.
std::string PrintFmt(const analysis::ExitStats& stats) {
  std::string fmt = "print fmt: \"reason %s\", __print_symbolic(REC->exit_reason";
  for (uint32_t id = 0; id < stats.kvm().reason_count(); ++id) fmt += fmt::format(", {{ {}, \"{}\" }}", id, stats.kvm().ReasonById(id));
  return fmt + ")";
}

template <typename Row, typename Fn>
std::vector<std::string> Rows(const std::vector<Row>& rows, Fn fn) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(fn(r));
  return out;
}

void ExpectSameTables(const analysis::ReportModel& want, const analysis::ReportModel& got) {
  auto vcpu = [](const auto& r) { return fmt::format("{} {} {} {} {} {:.6f}", r.pid, r.tid, r.vcpu, r.comm, r.count, r.percent); };
  auto pio = [](const auto& r) { return fmt::format("{:#x} {} {} {} {}", r.port, r.write, r.size, r.count, r.name); };
  auto mmio = [](const auto& r) { return fmt::format("{:#x} {} {} {} {}", r.gpa, r.type, r.len, r.count, r.name); };
  EXPECT_EQ(got.exits_total, want.exits_total);
  EXPECT_EQ(Rows(got.by_reason, [](const auto& r) { return fmt::format("{} {} {:.6f} {:.6f}", r.reason, r.count, r.percent, r.rate_per_s); }),
            Rows(want.by_reason, [](const auto& r) { return fmt::format("{} {} {:.6f} {:.6f}", r.reason, r.count, r.percent, r.rate_per_s); }));
  auto rip = [](const auto& r) { return fmt::format("{} {:#x} {} {:.6f}", r.reason, r.rip, r.count, r.percent_of_reason); };
  EXPECT_EQ(Rows(got.by_rip, rip), Rows(want.by_rip, rip));
  EXPECT_EQ(Rows(got.by_vcpu, vcpu), Rows(want.by_vcpu, vcpu));
  auto vm = [](const auto& r) { return fmt::format("{} {} {} {:.6f} {}", r.pid, r.comm, r.count, r.percent, r.vcpus); };
  EXPECT_EQ(Rows(got.by_vm, vm), Rows(want.by_vm, vm));
  EXPECT_EQ(Rows(got.pio, pio), Rows(want.pio, pio));
  auto pio_thread = [&](const auto& r) { return fmt::format("{} {} {} ", r.pid, r.tid, r.comm) + pio(r.access); };
  EXPECT_EQ(Rows(got.pio_by_thread, pio_thread), Rows(want.pio_by_thread, pio_thread));
  EXPECT_EQ(Rows(got.mmio, mmio), Rows(want.mmio, mmio));
  auto mmio_pid = [&](const auto& r) { return fmt::format("{} ", r.pid) + mmio(r.access); };
  EXPECT_EQ(Rows(got.mmio_by_pid, mmio_pid), Rows(want.mmio_by_pid, mmio_pid));
  auto page = [](const auto& r) { return fmt::format("{:#x} {} {} {}", r.page, r.reads, r.writes, r.name); };
  EXPECT_EQ(Rows(got.mmio_pages, page), Rows(want.mmio_pages, page));
}

class BpfModelTest : public ::testing::TestWithParam<const char*> {};

TEST_P(BpfModelTest, SameCountsGiveReportsRowsInReportsOrder) {
  gen::GenOptions o;
  o.formats_dir = FormatsDir();
  if (*GetParam()) o.kvm_exit_format = FormatsDir() + "/" + GetParam();
  o.exits = 6000;
  o.seed = 11;
  const std::string path = TempPath(std::string("bpf_model_") + (*GetParam() ? "old" : "new") + ".data");
  auto truth = gen::GenerateRecording(o, path);
  ASSERT_TRUE(truth) << truth.error().message;
  auto reader = perfdata::Reader::Open(path);
  ASSERT_TRUE(reader) << reader.error().message;
  analysis::ExitStats stats({});
  auto read = (*reader)->Run(stats);
  ASSERT_TRUE(read) << read.error().message;
  auto report = analysis::BuildReportModel((*reader)->info(), *read, stats, 5);
  ASSERT_GT(report.by_rip.size(), 10u);
  ASSERT_GT(report.by_vcpu.size(), 3u);

  const auto names = kvm::ReasonTable::FromFormats(PrintFmt(stats));
  live::BpfModelContext ctx;
  ctx.reasons = &names;
  ctx.top = 5;
  auto model = live::BuildBpfModel(AsSnapshot(stats), report.span_s, ctx);
  ExpectSameTables(report, model);
}

// This kernel's kvm_exit (with vcpu_id), and 4.19's (without: the thread stands for the vCPU).
INSTANTIATE_TEST_SUITE_P(Formats, BpfModelTest, ::testing::Values("", "linux-4.19/kvm_exit"),
                         [](const auto& info) { return *info.param ? std::string("linux_4_19") : std::string("current"); });

}  // namespace
}  // namespace exitprof::testing
