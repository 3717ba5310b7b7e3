#include "live/bpf_counts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "perfdata/abi.h"

namespace exitprof::live {

namespace bpf = capture::bpf;
using analysis::ReportModel;

namespace {

// A percentile from a log2 histogram: the middle of the bucket holding that rank (the map
// keeps no values, so percentiles are approximate, within a factor of 1.5 of the truth).
uint64_t Log2Percentile(const std::array<uint64_t, AGG_LOG2_SLOTS>& slots, uint64_t count, double p) {
  if (count == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count)));
  uint64_t seen = 0;
  for (size_t k = 0; k < slots.size(); ++k) {
    seen += slots[k];
    if (seen >= rank && slots[k]) return k == 0 ? 0 : (1ULL << k) + (1ULL << k) / 2;
  }
  return 0;
}

analysis::LatencySummary Summary(const bpf::LatencyHistogram& h) {
  analysis::LatencySummary sum;
  sum.count = h.count;
  sum.total_ns = h.total_ns;
  sum.min_ns = h.min_ns;
  sum.max_ns = h.max_ns;
  sum.mean_ns = h.count ? static_cast<double>(h.total_ns) / h.count : 0;
  sum.p50_ns = Log2Percentile(h.slots, h.count, 50);
  sum.p90_ns = Log2Percentile(h.slots, h.count, 90);
  sum.p99_ns = Log2Percentile(h.slots, h.count, 99);
  sum.p999_ns = Log2Percentile(h.slots, h.count, 99.9);
  sum.exact = false;
  std::copy(h.slots.begin(), h.slots.end(), sum.log2_histogram.begin());
  return sum;
}

// kvm_mmio's type names (the maps hold the number).
const char* MmioType(uint32_t type) {
  static const char* const kNames[] = {"unsatisfied-read", "read", "write"};
  return type < 3 ? kNames[type] : "unknown";
}

}  // namespace

void AddSnapshot(const bpf::Snapshot& s, const kvm::ReasonTable& names, analysis::ExitStats& stats) {
  for (const auto& [tid, t] : s.threads) {
    perfdata::Event comm;  // as a COMM record would name it: the one thread table
    comm.type = perfdata::kRecordComm;
    comm.pid = t.pid;
    comm.tid = tid;
    comm.comm = t.comm;
    stats.OnEvent(comm);
  }
  auto& kvm = stats.kvm();
  for (const auto& e : s.Exits()) {
    stats.AddExits(e.pid, e.tid, e.vcpu == ~0u ? ~0ULL : e.vcpu, kvm.ReasonIdByName(names.NameOf(kvm::ExitIsa(e.isa), e.reason)), e.count);
  }
  for (const auto& r : s.Rips()) stats.AddExitRip(kvm.ReasonIdByName(names.NameOf(kvm::ExitIsa(r.isa), r.reason)), r.rip, r.count);
  if (stats.latency_enabled()) {
    for (const auto& h : s.Latency()) stats.AddLatency(kvm.ReasonIdByName(names.NameOf(kvm::ExitIsa(h.isa), h.reason)), Summary(h));
  }
  for (const auto& p : s.Pio()) stats.AddPio(p.pid, p.tid, p.port, p.size, p.write, p.count);
  for (const auto& a : s.Mmio()) {
    stats.NameMmioType(a.type, MmioType(a.type));
    stats.AddMmio(a.pid, a.gpa, a.len, a.type, a.count);
  }
  for (const auto& u : s.UserspaceExits()) stats.AddUserspaceExits(u.pid, u.tid, bpf::UserspaceExitName(u.reason), u.count);
}

ReportModel BuildBpfModel(const bpf::Snapshot& s, double seconds, const BpfModelContext& ctx) {
  const auto* agg = ctx.aggregator;
  analysis::ExitFilter filter;
  filter.latency = agg && agg->entry_attached() && agg->exit_attached();
  analysis::ExitStats stats(filter);
  AddSnapshot(s, ctx.reasons ? *ctx.reasons : kvm::ReasonTable::Builtin(), stats);

  recording::SessionInfo info;
  info.path = std::string("bpf:") + (agg ? bpf::AttachModeName(agg->mode()) : "?");
  info.hostname = ctx.hostname;
  info.os_release = ctx.os_release;
  info.cpu_id = ctx.cpu_id;
  ReportModel m = analysis::BuildReportModel(info, recording::ReadStats{}, stats, ctx.top);

  // What was counted: the events BPF attached to, not a recording's attrs.
  struct Ev {
    const char* name;
    int index;
    bool attached;
  };
  const Ev evs[] = {{"kvm:kvm_exit", AGG_EV_EXIT, agg && agg->exit_attached()},
                    {"kvm:kvm_entry", AGG_EV_ENTRY, agg && agg->entry_attached()},
                    {"kvm:kvm_pio", AGG_EV_PIO, true},
                    {"kvm:kvm_mmio", AGG_EV_MMIO, true},
                    {"kvm:kvm_userspace_exit", AGG_EV_UEXIT, true}};
  m.events.clear();
  m.samples = 0;
  for (const auto& e : evs) {
    if (!e.attached) continue;
    m.events.push_back({e.name, s.events[e.index]});
    m.samples += s.events[e.index];
  }
  m.lost_events = s.dropped();
  m.has_kvm_exit = s.events[AGG_EV_EXIT] > 0;
  m.has_other_kvm = true;
  m.isa.clear();
  for (const auto& e : s.Exits()) {
    if (m.isa.empty()) m.isa = kvm::IsaName(kvm::ExitIsa(e.isa));
  }
  analysis::SetInterval(m, seconds);
  return m;
}

void WarnIfMapsFull(const char* command, const bpf::Snapshot& counts) {
  static const char* const kMaps[] = {"exits", "rips", "latency", "pending", "pio", "mmio", "uexits", "threads"};
  for (size_t i = 0; i < counts.drops.size(); ++i) {
    const uint64_t full = counts.drops[i] - std::min(counts.drops[i], counts.busy[i]);
    if (full)
      std::fprintf(stderr, "%s: BPF map \"%s\" was full: %llu events not counted in it (too many distinct keys)\n", command,
                   kMaps[i], static_cast<unsigned long long>(full));
    if (counts.busy[i])  // the kernel refused the insert twice with room left (its bucket lock busy)
      std::fprintf(stderr, "%s: BPF map \"%s\" refused %llu inserts with room left (kernel busy): those events are not counted\n",
                   command, kMaps[i], static_cast<unsigned long long>(counts.busy[i]));
  }
}

}  // namespace exitprof::live
