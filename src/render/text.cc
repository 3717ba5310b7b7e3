#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "render/report_render.h"

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

}  // namespace

std::string Hex(uint64_t value) { return fmt::format("{:#x}", value); }

std::string RenderText(const ReportModel& m, const TextOptions& o) {
  std::string out;
  Header(out, m);
  if (m.has_kvm_exit) {
    if (Want(o, "reason")) {
      out += fmt::format("# Exits by reason{}: {} exits\n#\n", m.isa.empty() ? "" : " (" + m.isa + ")", m.exits_total);
      out += fmt::format("# {:>10}  {:>7}  {:>10}  {}\n", "Count", "Share", "Rate/s", "Reason");
      for (const auto& r : m.by_reason)
        out += fmt::format("  {:>10}  {:>6.2f}%  {:>10.1f}  {}\n", r.count, r.percent, r.rate_per_s, r.reason);
      out += "\n";
    }
    if (m.has_latency && Want(o, "latency")) out += RenderLatencyText(m, o.histograms, o.latency_event);
    if (Want(o, "cpu") && !o.sections.empty()) {
      out += "# Exits by host CPU\n#\n";
      out += fmt::format("# {:>10}  {:>7}  {:>5}\n", "Count", "Share", "CPU");
      for (const auto& r : m.by_cpu) out += fmt::format("  {:>10}  {:>6.2f}%  {:>5}\n", r.count, r.percent, r.cpu);
      out += "\n";
    }
    if (Want(o, "vm")) {
      out += "# Exits by VM\n#\n";
      out += fmt::format("# {:>10}  {:>7}  {:>8}  {:>5}  {}\n", "Count", "Share", "PID", "vCPUs", "VM (process)");
      for (const auto& r : m.by_vm)
        out += fmt::format("  {:>10}  {:>6.2f}%  {:>8}  {:>5}  {}\n", r.count, r.percent, r.pid, r.vcpus,
                           r.name.empty() ? r.comm : r.name + " (" + r.comm + ")");
      out += "\n";
    }
    if (Want(o, "vcpu")) {
      out += "# Exits by vCPU\n#\n";
      out += fmt::format("# {:>10}  {:>7}  {:>8}  {:>5}  {:>8}  {}\n", "Count", "Share", "PID", "vCPU", "TID", "Thread");
      for (const auto& r : m.by_vcpu)
        out += fmt::format("  {:>10}  {:>6.2f}%  {:>8}  {:>5}  {:>8}  {}\n", r.count, r.percent, r.pid,
                           r.vcpu < 0 ? std::string("-") : std::to_string(r.vcpu), r.tid, r.comm);
      out += "\n";
    }
    if (Want(o, "rip")) {
      out += o.top ? fmt::format("# Top {} guest RIPs per reason\n", o.top) : std::string("# Guest RIPs per reason\n");
      std::string current;
      for (const auto& r : m.by_rip) {
        if (r.reason != current) {
          current = r.reason;
          out += fmt::format("#\n# {}\n# {:>10}  {:>7}  {}\n", current, "Count", "Share", "Guest RIP");
        }
        // The RIP as perf script prints it (and as JSON and CSV give it), right-aligned.
        out += fmt::format("  {:>10}  {:>6.2f}%  {:>18}", r.count, r.percent_of_reason, Hex(r.rip));
        if (!r.symbol.empty()) {
          out += fmt::format("  {}+{:#x}", r.symbol, r.symbol_offset);
          if (!r.module.empty()) out += " [" + r.module + "]";
          if (!r.srcline.empty()) out += "  " + r.srcline;
        }
        out += "\n";
        if (o.inline_chain) {
          for (size_t i = 0; i < r.inline_chain.size(); ++i)
            out += fmt::format("  {:>10}   {:>6}   {:>18}  {} {}\n", "", "", "", i == 0 ? "inlined:" : "     by:", r.inline_chain[i]);
        }
      }
      out += "\n";
    }
    if (Want(o, "sym") && !m.by_sym.empty()) {
      out += "# Exits by guest function\n";
      std::string current;
      for (const auto& r : m.by_sym) {
        if (r.reason != current) {
          current = r.reason;
          out += fmt::format("#\n# {}\n# {:>10}  {:>7}  {:>6}  {}\n", current, "Count", "Share", "RIPs", "Function");
        }
        std::string name = r.symbol.empty() ? std::string("[unknown]") : r.symbol;
        if (!r.module.empty()) name += " [" + r.module + "]";
        out += fmt::format("  {:>10}  {:>6.2f}%  {:>6}  {}\n", r.count, r.percent_of_reason, r.rips, name);
      }
      out += "\n";
    }
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
  if (!m.userspace_exits.empty() && Want(o, "userspace")) {
    uint64_t total = 0;
    for (const auto& r : m.userspace_exits) total += r.count;
    out += fmt::format("# Exits to userspace (kvm_userspace_exit): {}\n#\n", total);
    out += fmt::format("# {:>10}  {:>7}  {:>10}  {}\n", "Count", "Share", "Rate/s", "Reason");
    for (const auto& r : m.userspace_exits)
      out += fmt::format("  {:>10}  {:>6.2f}%  {:>10.1f}  {}\n", r.count, total ? 100.0 * r.count / total : 0.0,
                         m.span_s > 0 ? r.count / m.span_s : 0.0, r.name);
    out += "\n";
    if (!m.has_kvm_exit && Want(o, "vcpu")) {
      out += "# Exits to userspace by vCPU thread\n#\n";
      out += fmt::format("# {:>10}  {:>7}  {:>8}  {:>8}  {}\n", "Count", "Share", "PID", "TID", "Thread");
      for (const auto& r : m.userspace_exits_by_thread)
        out += fmt::format("  {:>10}  {:>6.2f}%  {:>8}  {:>8}  {}\n", r.count, r.percent, r.pid, r.tid, r.comm);
      out += "\n";
    }
  }
  auto pio_table = [&](const std::vector<analysis::PioRow>& rows, const char* title) {
    out += title;
    out += fmt::format("#\n# {:>10}  {:>6}  {:>5}  {:>4}  {}\n", "Count", "Port", "Dir", "Size", "Device");
    for (const auto& r : rows)
      out += fmt::format("  {:>10}  {:>#6x}  {:>5}  {:>4}  {}\n", r.count, r.port, r.write ? "write" : "read", r.size,
                         DeviceText(r.device, r.name));
    out += "\n";
  };
  if (!m.pio.empty() && Want(o, "pio")) pio_table(m.pio, "# Port IO (kvm_pio)\n");
  if (m.pio.empty() && !m.pio_from_exits.empty() && Want(o, "pio"))
    pio_table(m.pio_from_exits, "# Port IO (decoded from kvm_exit IO exit qualifications)\n");
  if (!m.mmio.empty() && Want(o, "mmio")) {
    out += "# MMIO (kvm_mmio)\n#\n";
    out += fmt::format("# {:>10}  {:>18}  {:>16}  {:>4}  {}\n", "Count", "GPA", "Type", "Len", "Region");
    for (const auto& r : m.mmio)
      out += fmt::format("  {:>10}  {:>#18x}  {:>16}  {:>4}  {}\n", r.count, r.gpa, r.type, r.len, DeviceText(r.device, r.name));
    out += "\n";
  }
  RenderDeviceText(out, m, Want(o, "pio") || Want(o, "mmio"),
                   std::find(o.sections.begin(), o.sections.end(), "device") != o.sections.end() ||
                       (o.sections.empty() && !m.device_map_source.empty()));
  if (!m.mmio_pages.empty() && Want(o, "mmio")) {
    out += "# MMIO by 4 KiB page\n#\n";
    out += fmt::format("# {:>10}  {:>10}  {:>18}  {}\n", "Reads", "Writes", "Page", "Region");
    for (const auto& r : m.mmio_pages) out += fmt::format("  {:>10}  {:>10}  {:>#18x}  {}\n", r.reads, r.writes, r.page, r.name);
    out += "\n";
  }
  if (!m.injected.empty() && Want(o, "injected")) {
    out += "# Injected interrupts (kvm_inj_virq)\n#\n";
    out += fmt::format("# {:>10}  {:>6}  {}\n", "Count", "Vector", "Kind");
    for (const auto& r : m.injected) out += fmt::format("  {:>10}  {:>#6x}  {}\n", r.count, r.vector, r.soft ? "soft (INTn)" : "IRQ");
    out += "\n";
  }
  if (!m.msr.empty() && Want(o, "msr")) {
    out += "# MSR accesses (kvm_msr)\n#\n";
    out += fmt::format("# {:>10}  {:>10}  {:>5}  {}\n", "Count", "MSR", "Dir", "Name");
    for (const auto& r : m.msr)
      out += fmt::format("  {:>10}  {:>#10x}  {:>5}  {}\n", r.count, r.index, r.write ? "write" : "read", r.name);
    out += "\n";
  }
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
