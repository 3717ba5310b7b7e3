#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "render/report_render.h"
#include "render/report_tables.h"

namespace exitprof::render {

using analysis::ReportModel;

namespace {

bool Want(const TextOptions& o, const char* section) {
  return o.sections.empty() || std::find(o.sections.begin(), o.sections.end(), section) != o.sections.end();
}

std::string Span(double s) {
  if (s >= 1) return fmt::format("{:.3f} s", s);
  return fmt::format("{:.3f} ms", s * 1e3);
}

void Header(std::string& out, const ReportModel& m) {
  if (m.interval_s > 0) {
    out += fmt::format("# live: the last {:.2f} s (", m.interval_s);
    // BPF snapshots name their source "bpf:MODE" (kernel aggregation, nothing copied per event).
    out += m.path.rfind("bpf:", 0) == 0 ? "aggregated in the kernel by BPF, " + m.path.substr(4) : "captured by exitprof";
  } else {
    // "(12.3 MB, file mode": a pipe or stdin has no size to give.
    out += fmt::format("# exitprof report: {} (", m.path);
    if (m.file_size) out += fmt::format("{:.1f} MB, ", m.file_size / 1e6);
    out += !m.text_layout.empty() ? "text capture, " + m.text_layout + " layout"
           : m.pipe_mode          ? "pipe mode"
                                  : "file mode";
    // Text says how finely it timed events: perf script's default is the microsecond.
    if (m.time_resolution_ns > 1) out += ", timestamps to " + Duration(0, m.time_resolution_ns).substr(1);
  }
  if (!m.perf_version.empty() && m.interval_s == 0) {
    const bool other_tool = m.perf_version.rfind("exitprof", 0) == 0 || m.perf_version.rfind("trace-cmd", 0) == 0;
    out += (m.synthetic ? ", written by " : other_tool ? ", recorded by " : ", perf ") + m.perf_version;
  }
  if (!m.hostname.empty()) out += ", host " + m.hostname;
  if (!m.os_release.empty()) out += ", kernel " + m.os_release;
  out += ")\n# events:";
  bool first = true;
  for (const auto& e : m.events) {
    out += fmt::format("{} {} {}", first ? "" : ",", e.name, e.count);
    first = false;
  }
  if (m.events.empty()) out += " none";
  // Without kvm_exit, the threads that exit to userspace stand for the vCPUs.
  size_t vms = m.by_vm.size(), vcpus = m.by_vcpu.size();
  if (!m.has_kvm_exit) {
    std::set<uint32_t> pids;
    for (const auto& r : m.userspace_exits_by_thread) pids.insert(r.pid);
    vms = pids.size();
    vcpus = m.userspace_exits_by_thread.size();
  }
  const std::string span = m.time_in_ticks ? fmt::format("{} ticks", m.last_ns - m.first_ns) : Span(m.span_s);
  // Without process ids every vCPU thread looks like a VM: say how many threads, not VMs.
  const std::string vm_count = m.processes_unknown ? fmt::format("unknown ({} threads, no process ids)", vms)
                                                   : std::to_string(vms);
  out += fmt::format("\n# samples: {}  span: {}  VMs: {}  vCPUs: {}  lost events: {}", m.samples, span, vm_count, vcpus,
                     m.lost_events);
  if (m.lost_samples) out += fmt::format("  lost samples: {}", m.lost_samples);
  if (m.damaged_records) out += fmt::format("  damaged records: {}", m.damaged_records);
  if (m.unknown_sample_ids) out += fmt::format("  samples of unknown events: {}", m.unknown_sample_ids);
  if (!m.guest_symbols.empty()) out += "\n# " + m.guest_symbols;
  if (m.time_in_ticks) {
    out += fmt::format("\n# timestamps are {} ticks (the file has no tsc2nsec conversion): times and rates below\n"
                       "# count ticks as if they were nanoseconds", m.trace_clock);
  }
  if (m.synthetic) {
    out += "\n# synthetic: written by exitprof-gen to show what a report looks like, not recorded from a kernel";
  }
  for (const auto& note : m.notes) out += "\n# " + note;
  for (const auto& warning : m.warnings) out += "\n# warning: " + warning;
  out += "\n#\n";
}

bool Asked(const TextOptions& o, const std::string& name) {
  return std::find(o.sections.begin(), o.sections.end(), name) != o.sections.end();
}

// A table; one asked for by name (--by) that has no row says why instead of showing nothing.
std::string Section(const Table& t, const TextOptions& o) {
  if (!t.rows.empty() || !Asked(o, t.name) || t.why_empty.empty()) return TableText(t);
  return "# " + t.title.substr(0, t.title.find('\n')) + "\n#   no rows: " + t.why_empty + "\n\n";
}

}  // namespace

std::string Hex(uint64_t value) { return fmt::format("{:#x}", value); }

std::string RenderText(const ReportModel& m, const TextOptions& o) {
  const TableOptions table{.top = o.top, .inline_chain = o.inline_chain, .latency_event = o.latency_event};
  std::string out;
  Header(out, m);
  if (m.has_kvm_exit) {
    if (Want(o, "reason")) out += Section(ReasonTable(m, table), o);
    if (m.has_latency && Want(o, "latency")) out += RenderLatencyText(m, o.histograms, o.latency_event);
    if (!m.has_latency && Asked(o, "latency")) out += "# Exit cost\n#   no rows: needs --latency\n\n";
    if (Want(o, "cpu") && !o.sections.empty()) out += Section(CpuTable(m, table), o);
    if (Want(o, "vm")) out += Section(VmTable(m, table), o);
    if (Want(o, "vcpu")) out += Section(VcpuTable(m, table), o);
    if (Want(o, "rip")) out += Section(RipTable(m, table), o);
    if (Want(o, "sym")) out += Section(SymbolTable(m, table), o);
  } else if (m.has_other_kvm) {
    out += "# This recording has no kvm:kvm_exit events (not recorded, or this host's KVM does not\n"
           "# emit them, e.g. a PVM backend): showing userspace exits, port IO and MMIO instead.\n#\n";
  } else if (m.kvm_events_recorded) {
    out += "# No kvm events were recorded: the kvm tracepoints were enabled but none fired (no VM ran, or\n"
           "# none of the recorded processes ran one). Record while a guest runs: exitprof record -- exitprof-guest\n";
  } else {
    out += "# This recording has no kvm events. Record some with:\n"
           "#   perf record -e 'kvm:*' -a -- sleep 1   (or: exitprof record)\n";
  }
  if (Want(o, "userspace")) out += Section(UserspaceTable(m, table), o);
  if (!m.userspace_exits.empty() && Want(o, "userspace") && !m.has_kvm_exit && Want(o, "vcpu")) {
    out += TableText(UserspaceThreadTable(m, table));
  }
  if (Want(o, "pio")) out += Section(PioTable(m, table), o);
  if (Want(o, "mmio")) out += Section(MmioTable(m, table), o);
  if (std::find(o.sections.begin(), o.sections.end(), "device") != o.sections.end() ||
      (o.sections.empty() && !m.device_map_source.empty())) {
    out += Section(DeviceTable(m, table), o);
  }
  if (Want(o, "pio") || Want(o, "mmio")) RenderUnattributedText(out, m);
  if (Want(o, "mmio")) out += Section(MmioPageTable(m, table), o);
  if (Want(o, "injected")) out += Section(InjectedTable(m, table), o);
  if (Want(o, "msr")) out += Section(MsrTable(m, table), o);
  if (!m.has_timeline && Asked(o, "timeline")) out += "# Timeline\n#   no rows: needs --timeline (a bucket width, or auto)\n\n";
  if (m.has_timeline && Want(o, "timeline")) {
    const auto& t = m.timeline_compact;
    static const char* const kBars[] = {" ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"};
    size_t width = t.series.empty() ? 0 : t.series[0].counts.size();
    out += fmt::format("# Timeline of {}: {} buckets of {} from {}.{:06} s\n#\n", t.of == "exits" ? "exits" : "exits to userspace",
                       width, Duration(static_cast<double>(t.bucket_ns)), t.first_ns / 1000000000, (t.first_ns % 1000000000) / 1000);
    for (const auto& s : t.series) {
      uint64_t peak = 0, total = 0;
      for (uint64_t c : s.counts) {
        peak = std::max(peak, c);
        total += c;
      }
      std::string line;
      for (uint64_t c : s.counts) line += kBars[c == 0 ? 0 : 1 + (c * 7) / peak];  // 1..8: any exit shows
      out += fmt::format("  {:<22} |{}| peak {}/bucket, {} total\n", s.name, line, peak, total);
    }
    out += "\n";
  }
  if (!m.explain.empty()) {
    out += m.has_latency ? "# What the costliest exits are, and what usually removes them\n#\n"
                         : "# What the most frequent exits are, and what usually removes them\n#\n";
    for (const auto& e : m.explain) {
      out += fmt::format("  {} ({} exits, {:.1f}%{})\n", e.source, e.count, e.percent, m.has_latency ? " of exit time" : "");
      out += "    What: " + e.what + "\n    Remedy: " + e.remedy + "\n\n";
    }
  }
  return out;
}

}  // namespace exitprof::render
