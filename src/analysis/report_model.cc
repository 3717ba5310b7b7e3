#include "analysis/report_model.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "kvm/explanations.h"
#include "kvm/known_names.h"

namespace exitprof::analysis {

namespace {

double Percent(uint64_t part, uint64_t whole) { return whole ? 100.0 * part / whole : 0.0; }

template <typename Row>
void SortByCount(std::vector<Row>& rows, auto tie) {
  std::sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    if (a.count != b.count) return a.count > b.count;
    return tie(a, b);
  });
}

}  // namespace

namespace {

TimelineModel ToModel(const Timeline& t, size_t columns, const std::string& of,
                      const std::function<std::string(uint32_t)>& name_of) {
  TimelineModel out;
  out.of = of;
  Timeline::Dense d = t.Build(columns);
  out.bucket_ns = d.bucket_ns;
  out.first_ns = d.first_bucket_ns;
  for (uint32_t s = 0; s < d.counts.size(); ++s) {
    uint64_t total = 0;
    for (uint64_t c : d.counts[s]) total += c;
    if (total) out.series.push_back({name_of(s), d.counts[s]});
  }
  std::stable_sort(out.series.begin(), out.series.end(), [](const TimelineSeries& a, const TimelineSeries& b) {
    uint64_t ta = 0, tb = 0;
    for (uint64_t c : a.counts) ta += c;
    for (uint64_t c : b.counts) tb += c;
    return ta > tb;
  });
  return out;
}

}  // namespace

bool SortLatency(ReportModel& m, const std::string& key) {
  std::function<double(const LatencySummary&)> value;
  if (key == "sample" || key == "count") value = [](const LatencySummary& s) { return static_cast<double>(s.count); };
  else if (key == "total") value = [](const LatencySummary& s) { return static_cast<double>(s.total_ns); };
  else if (key == "max") value = [](const LatencySummary& s) { return static_cast<double>(s.max_ns); };
  else if (key == "min") value = [](const LatencySummary& s) { return static_cast<double>(s.min_ns); };
  else if (key == "mean" || key == "time") value = [](const LatencySummary& s) { return s.mean_ns; };
  else return false;
  for (auto* rows : {&m.latency, &m.latency_ioport, &m.latency_mmio}) {
    std::sort(rows->begin(), rows->end(), [&](const LatencyRow& a, const LatencyRow& b) {
      double va = value(a.summary), vb = value(b.summary);
      return va != vb ? va > vb : a.reason < b.reason;
    });
  }
  return true;
}

void SetInterval(ReportModel& m, double seconds) {
  m.interval_s = seconds;
  m.span_s = seconds;
  for (auto& r : m.by_reason) r.rate_per_s = seconds > 0 ? r.count / seconds : 0.0;
}

ReportModel BuildReportModel(const recording::SessionInfo& info, const recording::ReadStats& stats,
                             const ExitStats& exits, size_t top_n) {
  ReportModel m;
  m.path = info.path;
  m.pipe_mode = info.pipe_mode;
  m.file_size = info.file_size;
  m.hostname = info.hostname;
  m.os_release = info.os_release;
  m.perf_version = info.perf_version;
  m.cpu_id = info.cpu_id;
  m.trace_clock = info.trace_clock;
  m.time_in_ticks = info.time_in_ticks;
  m.time_resolution_ns = info.time_resolution_ns;
  m.text_layout = info.text_layout;
  m.text_lines = info.text_lines;
  m.unparsed_lines = info.unparsed_lines;
  m.first_unparsed_line = info.first_unparsed_line;
  m.first_unparsed_text = info.first_unparsed_text;
  m.notes = info.notes;
  m.warnings = info.warnings;
  m.processes_unknown = info.processes_unknown;
  // exitprof-gen signs its files in the VERSION feature, where perf puts its own version.
  m.synthetic = info.perf_version.rfind("exitprof-gen", 0) == 0;
  const auto& kvm = exits.kvm();
  for (size_t i = 0; i < kvm.attr_count(); ++i) {
    uint64_t n = i < exits.samples_by_attr().size() ? exits.samples_by_attr()[i] : 0;
    // perf's system-wide dummy event never has samples: leave it out of the summary.
    if (n == 0 && kvm.NameOf(static_cast<int>(i)).rfind("dummy", 0) == 0) continue;
    m.events.push_back({kvm.NameOf(static_cast<int>(i)), n});
  }
  m.samples = exits.filtered_samples();
  m.lost_events = stats.lost_events;
  m.lost_samples = stats.lost_samples;
  m.damaged_records = stats.damaged_records;
  m.unknown_sample_ids = stats.unknown_sample_ids;
  m.first_ns = exits.first_time();
  m.last_ns = exits.last_time();
  m.span_s = m.last_ns > m.first_ns ? (m.last_ns - m.first_ns) / 1e9 : 0.0;
  m.isa = kvm.isa_name();
  if (m.isa.empty() && !info.cpu_id.empty()) {
    // As perf kvm stat does: the CPU vendor decides when the format has no isa field.
    if (info.cpu_id.find("Intel") != std::string::npos) m.isa = "VMX";
    else if (info.cpu_id.find("AMD") != std::string::npos || info.cpu_id.find("Hygon") != std::string::npos) m.isa = "SVM";
  }
  using kvm::KvmEvent;
  // A kvm_exit attr with no samples while other kvm events fired is the PVM case: say so.
  m.has_kvm_exit = false;
  for (size_t i = 0; i < kvm.attr_count() && i < stats.samples_by_attr.size(); ++i) {
    if (kvm.KindOf(static_cast<int>(i)) == KvmEvent::kExit && stats.samples_by_attr[i] > 0) m.has_kvm_exit = true;
  }
  // Other kvm events that fired: recorded but silent ones say nothing about kvm_exit.
  m.has_other_kvm = false;
  for (size_t i = 0; i < kvm.attr_count() && i < stats.samples_by_attr.size(); ++i) {
    KvmEvent kind = kvm.KindOf(static_cast<int>(i));
    if (kind != KvmEvent::kOther) m.kvm_events_recorded = true;
    if (kind != KvmEvent::kOther && kind != KvmEvent::kExit && stats.samples_by_attr[i] > 0) m.has_other_kvm = true;
  }

  const ExitCounts& c = exits.exits();
  m.exits_total = c.total;
  for (uint32_t id = 0; id < c.by_reason.size(); ++id) {
    if (!c.by_reason[id]) continue;
    m.by_reason.push_back({kvm.ReasonById(id), c.by_reason[id], Percent(c.by_reason[id], c.total),
                           m.span_s > 0 ? c.by_reason[id] / m.span_s : 0.0});
  }
  SortByCount(m.by_reason, [](const ReasonRow& a, const ReasonRow& b) { return a.reason < b.reason; });

  if (exits.latency_enabled()) {
    const ExitLatency& lat = exits.latency();
    m.has_latency = true;
    m.unpaired_exits = lat.unpaired_exits();
    m.entries_without_exit = lat.entries_without_exit();
    m.exits_before_first_entry = lat.exits_before_first_entry();
    for (uint32_t id = 0; id < lat.reason_slots(); ++id) {
      if (!exits.ReasonShown(id)) continue;
      LatencySummary s = lat.Summarize(id);
      if (s.count == 0) continue;
      LatencyRow row{kvm.ReasonById(id), kvm::IsIdle(kvm.ReasonById(id)), 0, s};
      m.latency_total_ns += s.total_ns;
      if (row.idle) m.latency_idle_ns += s.total_ns;
      m.latency.push_back(row);
    }
    for (auto& row : m.latency) row.time_percent = Percent(row.summary.total_ns, m.latency_total_ns);
    auto access_rows = [](const std::vector<AccessLatency::Row>& rows, std::vector<LatencyRow>& out, uint64_t& total) {
      for (const auto& r : rows) {
        out.push_back(LatencyRow{r.key, false, 0, r.summary});
        total += r.summary.total_ns;
      }
      for (auto& row : out) row.time_percent = Percent(row.summary.total_ns, total);
    };
    access_rows(exits.access_latency().IoRows(), m.latency_ioport, m.latency_ioport_total_ns);
    access_rows(exits.access_latency().MmioRows(), m.latency_mmio, m.latency_mmio_total_ns);
    SortLatency(m, "total");
  }
  for (uint32_t cpu = 0; cpu < c.by_cpu.size(); ++cpu) {
    if (c.by_cpu[cpu]) m.by_cpu.push_back({cpu, c.by_cpu[cpu], Percent(c.by_cpu[cpu], c.total)});
  }
  for (const auto& [cpu, count] : c.by_cpu_beyond) m.by_cpu.push_back({cpu, count, Percent(count, c.total)});
  SortByCount(m.by_cpu, [](const CpuRow& a, const CpuRow& b) { return a.cpu < b.cpu; });

  if (exits.timeline_enabled()) {
    const bool of_exits = !exits.exit_timeline().empty();
    const Timeline& t = of_exits ? exits.exit_timeline() : exits.userspace_timeline();
    auto name_of = [&](uint32_t s) { return of_exits ? kvm.ReasonById(s) : exits.userspace_series()[s]; };
    m.has_timeline = !t.empty();
    m.timeline = ToModel(t, 0, of_exits ? "exits" : "userspace_exits", name_of);
    m.timeline_compact = ToModel(t, 60, m.timeline.of, name_of);
  }

  std::vector<std::vector<RipRow>> rips(c.by_reason.size());
  c.by_reason_rip.ForEach([&](uint64_t reason, uint64_t rip, uint64_t count) {
    RipRow row;
    row.reason = kvm.ReasonById(static_cast<uint32_t>(reason));
    row.rip = rip;
    row.count = count;
    row.percent_of_reason = Percent(count, c.by_reason[reason]);
    rips[reason].push_back(std::move(row));
  });
  for (const auto& reason : m.by_reason) {
    for (auto& list : rips) {
      if (list.empty() || list[0].reason != reason.reason) continue;
      SortByCount(list, [](const RipRow& a, const RipRow& b) { return a.rip < b.rip; });
      size_t keep = top_n == 0 ? list.size() : std::min(top_n, list.size());
      m.by_rip.insert(m.by_rip.end(), list.begin(), list.begin() + static_cast<long>(keep));
    }
  }

  std::map<uint32_t, std::set<uint64_t>> vcpus_of_pid;
  std::map<uint32_t, uint64_t> by_pid;
  c.by_vcpu.ForEach([&](uint64_t thread, uint64_t vcpu, uint64_t count) {
    VcpuRow row;
    row.pid = static_cast<uint32_t>(thread >> 32);
    row.tid = static_cast<uint32_t>(thread);
    row.vcpu = vcpu == ~0ULL ? -1 : static_cast<int64_t>(vcpu);
    row.comm = exits.CommOf(row.tid);
    row.count = count;
    row.percent = Percent(count, c.total);
    m.by_vcpu.push_back(row);
    vcpus_of_pid[row.pid].insert(row.vcpu < 0 ? row.tid : static_cast<uint64_t>(row.vcpu));
    by_pid[row.pid] += count;
  });
  SortByCount(m.by_vcpu, [](const VcpuRow& a, const VcpuRow& b) {
    return std::tie(a.pid, a.vcpu, a.tid) < std::tie(b.pid, b.vcpu, b.tid);
  });
  for (const auto& [pid, count] : by_pid) {
    m.by_vm.push_back({pid, exits.CommOf(pid), "", count, Percent(count, c.total),
                       static_cast<uint32_t>(vcpus_of_pid[pid].size())});
  }
  SortByCount(m.by_vm, [](const VmRow& a, const VmRow& b) { return a.pid < b.pid; });

  for (const auto& [name, count] : exits.userspace_exits()) m.userspace_exits.push_back({name, count});
  uint64_t uexit_total = 0;
  for (const auto& [key, count] : exits.userspace_exits_by_thread()) uexit_total += count;
  for (const auto& [key, count] : exits.userspace_exits_by_thread()) {
    VcpuRow row;
    row.pid = static_cast<uint32_t>(key >> 32);
    row.tid = static_cast<uint32_t>(key);
    row.comm = exits.CommOf(row.tid);
    row.count = count;
    row.percent = Percent(count, uexit_total);
    m.userspace_exits_by_thread.push_back(row);
  }
  SortByCount(m.userspace_exits_by_thread, [](const VcpuRow& a, const VcpuRow& b) {
    return std::tie(a.pid, a.tid) < std::tie(b.pid, b.tid);
  });
  SortByCount(m.userspace_exits, [](const NamedCount& a, const NamedCount& b) { return a.name < b.name; });
  for (const auto& [key, count] : exits.pio())
    m.pio.push_back({key.first, key.second.second, key.second.first, count, kvm::PortName(key.first), {}});
  for (const auto& [key, count] : exits.pio_from_exits())
    m.pio_from_exits.push_back({key.first, key.second.second, key.second.first, count, kvm::PortName(key.first), {}});
  SortByCount(m.pio_from_exits, [](const PioRow& a, const PioRow& b) {
    return std::tie(a.port, a.write, a.size) < std::tie(b.port, b.write, b.size);
  });
  SortByCount(m.pio, [](const PioRow& a, const PioRow& b) {
    return std::tie(a.port, a.write, a.size) < std::tie(b.port, b.write, b.size);
  });
  exits.pio_by_thread().ForEach([&](uint64_t thread, uint64_t access, uint64_t count) {
    PioThreadRow row;
    row.pid = static_cast<uint32_t>(thread >> 32);
    row.tid = static_cast<uint32_t>(thread);
    row.comm = exits.CommOf(row.tid);
    row.access = {static_cast<uint16_t>(access >> 16), ((access >> 8) & 1) != 0, static_cast<uint8_t>(access & 0xff), count,
                  kvm::PortName(static_cast<uint16_t>(access >> 16)), {}};
    m.pio_by_thread.push_back(row);
  });
  std::sort(m.pio_by_thread.begin(), m.pio_by_thread.end(), [](const PioThreadRow& a, const PioThreadRow& b) {
    return std::tie(a.pid, a.tid, a.access.port, a.access.write, a.access.size) <
           std::tie(b.pid, b.tid, b.access.port, b.access.write, b.access.size);
  });
  std::map<std::tuple<uint64_t, uint32_t, uint32_t>, uint64_t> mmio_all;  // (gpa, len, type)
  for (const auto& [key, count] : exits.mmio()) {
    const auto& [pid, gpa, len, type] = key;
    mmio_all[{gpa, len, type}] += count;
    m.mmio_by_pid.push_back({pid, {gpa, exits.MmioTypeName(type), len, count, kvm::MmioName(gpa), {}}});
  }
  for (const auto& [key, count] : mmio_all) {
    const auto& [gpa, len, type] = key;
    m.mmio.push_back({gpa, exits.MmioTypeName(type), len, count, kvm::MmioName(gpa), {}});
  }
  SortByCount(m.mmio, [](const MmioRow& a, const MmioRow& b) {
    return std::tie(a.gpa, a.type, a.len) < std::tie(b.gpa, b.type, b.len);
  });
  std::map<uint64_t, ReportModel::MmioPageRow> pages;
  for (const auto& r : m.mmio) {
    if (r.type == "unsatisfied-read") continue;
    auto& page = pages[r.gpa & ~0xfffULL];
    page.page = r.gpa & ~0xfffULL;
    (r.type == "write" ? page.writes : page.reads) += r.count;
    if (page.name.empty()) page.name = kvm::MmioName(page.page);
  }
  for (const auto& [addr, row] : pages) m.mmio_pages.push_back(row);
  std::sort(m.mmio_pages.begin(), m.mmio_pages.end(), [](const auto& a, const auto& b) {
    return a.reads + a.writes != b.reads + b.writes ? a.reads + a.writes > b.reads + b.writes : a.page < b.page;
  });
  for (const auto& [key, count] : exits.injected()) m.injected.push_back({key.first, key.second, count});
  std::sort(m.injected.begin(), m.injected.end(), [](const auto& a, const auto& b) {
    return a.count != b.count ? a.count > b.count : a.vector < b.vector;
  });
  for (const auto& [key, count] : exits.msr()) m.msr.push_back({key.first, key.second, count, kvm::MsrName(key.first)});
  SortByCount(m.msr, [](const MsrRow& a, const MsrRow& b) {
    return std::tie(a.index, a.write) < std::tie(b.index, b.write);
  });
  return m;
}

void AddExplanations(ReportModel& m, size_t n) {
  m.explain.clear();
  auto add = [&](const std::string& source, uint64_t count, double percent, kvm::Explanation e, const std::string& detail) {
    if (m.explain.size() >= n || !e.known()) return;
    if (!detail.empty()) e.remedy += " Here: " + detail + ".";
    m.explain.push_back({source, count, percent, e.what, e.remedy});
  };
  std::string top_port_detail;
  const auto& ports = m.pio.empty() ? m.pio_from_exits : m.pio;
  if (!ports.empty()) {
    const auto& p = ports.front();
    std::string advice = kvm::AdviceForPort(p.port);
    const std::string name = p.device.attributed() ? p.device.Label() : p.name;
    top_port_detail = fmt::format("port {:#x}{} takes {} of them{}", p.port, name.empty() ? "" : " (" + name + ")",
                                  p.count, advice.empty() ? "" : "; " + advice);
  }
  std::string top_msr_detail;
  if (!m.msr.empty()) {
    const auto& r = m.msr.front();
    std::string advice = kvm::AdviceForMsr(r.index);
    top_msr_detail = fmt::format("MSR {:#x}{} takes {} of them{}", r.index, r.name.empty() ? "" : " (" + r.name + ")",
                                 r.count, advice.empty() ? "" : "; " + advice);
  }
  std::string top_mmio_detail;
  for (const auto& r : m.mmio) {
    if (r.type == "unsatisfied-read") continue;
    const std::string name = r.device.attributed() ? r.device.Label() : r.name;
    std::string advice = kvm::AdviceForMmio(r.gpa);
    top_mmio_detail = fmt::format("{:#x}{} is the busiest address ({} accesses){}", r.gpa, name.empty() ? "" : " (" + name + ")",
                                  r.count, advice.empty() ? "" : "; " + advice);
    break;
  }
  auto detail_for = [&](const std::string& reason) -> std::string {
    switch (kvm::ClassOf(reason)) {
      case kvm::ReasonClass::kIo: return top_port_detail;
      case kvm::ReasonClass::kMsr: return top_msr_detail;
      case kvm::ReasonClass::kMmio: return top_mmio_detail;
      default: return {};
    }
  };
  if (m.has_latency && !m.latency.empty()) {
    for (const auto& r : m.latency)
      add(r.reason, r.summary.count, r.time_percent, kvm::ExplainReason(r.reason), detail_for(r.reason));
  } else if (!m.by_reason.empty()) {
    for (const auto& r : m.by_reason) add(r.reason, r.count, r.percent, kvm::ExplainReason(r.reason), detail_for(r.reason));
  } else {
    uint64_t total = 0;
    for (const auto& r : m.userspace_exits) total += r.count;
    for (const auto& r : m.userspace_exits)
      add(r.name, r.count, Percent(r.count, total), kvm::ExplainReason(r.name), detail_for(r.name));
  }
}

}  // namespace exitprof::analysis
