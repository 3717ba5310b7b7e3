#include <nlohmann/json.hpp>

#include "render/report_render.h"

namespace exitprof::render {

using nlohmann::ordered_json;

std::string RenderJson(const analysis::ReportModel& m, bool compact) {
  ordered_json j;
  if (m.interval_s > 0) j["interval_s"] = m.interval_s;
  j["file"] = {{"path", m.path},           {"format", m.pipe_mode ? "pipe" : "file"},
               {"size_bytes", m.file_size}, {"hostname", m.hostname},
               {"os_release", m.os_release}, {"perf_version", m.perf_version},
               {"cpuid", m.cpu_id}};
  if (m.synthetic) j["file"]["synthetic"] = true;
  if (m.processes_unknown) j["file"]["processes_unknown"] = true;
  ordered_json events = ordered_json::object();
  for (const auto& e : m.events) events[e.name] = e.count;
  j["events"] = events;
  j["samples"] = m.samples;
  j["lost_events"] = m.lost_events;
  j["lost_samples"] = m.lost_samples;
  j["damaged_records"] = m.damaged_records;
  j["time"] = {{"first_ns", m.first_ns}, {"last_ns", m.last_ns}, {"span_s", m.span_s}};
  if (!m.trace_clock.empty()) j["time"]["clock"] = m.trace_clock;
  if (m.time_in_ticks) j["time"]["unit"] = "ticks";
  // How finely the input timed events: 1000 for perf script's microseconds.
  j["time"]["resolution_ns"] = m.time_resolution_ns ? m.time_resolution_ns : 1;
  if (!m.text_layout.empty()) {
    j["text_capture"] = {{"layout", m.text_layout},
                         {"lines", m.text_lines},
                         {"unparsed_lines", m.unparsed_lines},
                         {"first_unparsed_line", m.first_unparsed_line},
                         {"first_unparsed_text", m.first_unparsed_text}};
  }
  if (!m.notes.empty()) j["notes"] = m.notes;
  if (!m.warnings.empty()) j["warnings"] = m.warnings;
  ordered_json exits;
  exits["total"] = m.exits_total;
  exits["isa"] = m.isa;
  exits["by_reason"] = ordered_json::array();
  for (const auto& r : m.by_reason)
    exits["by_reason"].push_back({{"reason", r.reason}, {"count", r.count}, {"percent", r.percent}, {"rate_per_s", r.rate_per_s}});
  exits["by_rip"] = ordered_json::array();
  for (const auto& r : m.by_rip) {
    ordered_json row = {{"reason", r.reason}, {"rip", Hex(r.rip)}, {"count", r.count}};
    if (!r.symbol.empty()) {
      row["symbol"] = r.symbol;
      row["offset"] = Hex(r.symbol_offset);
      if (!r.module.empty()) row["module"] = r.module;
      if (!r.srcline.empty()) row["srcline"] = r.srcline;
      if (!r.inline_chain.empty()) row["inline_chain"] = r.inline_chain;
    }
    exits["by_rip"].push_back(row);
  }
  if (!m.guest_symbols.empty()) {
    exits["guest_symbols"] = m.guest_symbols;
    exits["by_sym"] = ordered_json::array();
    for (const auto& r : m.by_sym) {
      ordered_json row = {{"reason", r.reason}, {"symbol", r.symbol}, {"count", r.count}, {"percent", r.percent_of_reason}, {"rips", r.rips}};
      if (!r.module.empty()) row["module"] = r.module;
      exits["by_sym"].push_back(row);
    }
  }
  exits["by_vcpu"] = ordered_json::array();
  for (const auto& r : m.by_vcpu) {
    ordered_json row = {{"pid", r.pid}, {"vcpu", r.vcpu}, {"tid", r.tid}, {"comm", r.comm}, {"count", r.count}};
    if (r.vcpu < 0) row["vcpu"] = nullptr;
    exits["by_vcpu"].push_back(row);
  }
  exits["by_cpu"] = ordered_json::array();
  for (const auto& r : m.by_cpu) exits["by_cpu"].push_back({{"cpu", r.cpu}, {"count", r.count}});
  exits["by_vm"] = ordered_json::array();
  for (const auto& r : m.by_vm)
    exits["by_vm"].push_back({{"pid", r.pid}, {"comm", r.comm}, {"name", r.name.empty() ? ordered_json(nullptr) : ordered_json(r.name)},
                              {"vcpus", r.vcpus}, {"count", r.count}});
  if (m.has_latency) {
    auto latency_rows = [](const std::vector<analysis::LatencyRow>& rows, const char* label) {
      ordered_json lat = ordered_json::array();
      for (const auto& r : rows) {
        const auto& s = r.summary;
        ordered_json hist = ordered_json::array();
        for (int b = 0; b < 64; ++b) {
          if (s.log2_histogram[b]) hist.push_back({{"from_ns", b == 0 ? 0 : (1ULL << b)}, {"count", s.log2_histogram[b]}});
        }
        ordered_json row = {{label, r.reason}};
        if (std::string(label) == "reason") row["idle"] = r.idle;
        row.update(ordered_json{{"count", s.count}, {"total_ns", s.total_ns}, {"time_percent", r.time_percent},
                                {"min_ns", s.min_ns}, {"max_ns", s.max_ns}, {"mean_ns", s.mean_ns},
                                {"stddev_ns", s.stddev_ns}, {"rel_stderr_percent", s.rel_stderr_percent()},
                                {"p50_ns", s.p50_ns}, {"p90_ns", s.p90_ns}, {"p99_ns", s.p99_ns}, {"p999_ns", s.p999_ns},
                                {"percentiles", s.exact ? "exact" : "approximate"}, {"histogram_log2", hist}});
        lat.push_back(row);
      }
      return lat;
    };
    ordered_json lat = latency_rows(m.latency, "reason");
    exits["latency_ioport"] = latency_rows(m.latency_ioport, "key");
    exits["latency_mmio"] = latency_rows(m.latency_mmio, "key");
    exits["latency"] = lat;
    exits["latency_summary"] = {{"total_ns", m.latency_total_ns}, {"idle_ns", m.latency_idle_ns},
                                {"overhead_ns", m.latency_total_ns - m.latency_idle_ns},
                                {"exits_before_first_entry", m.exits_before_first_entry},
                                {"unpaired_exits", m.unpaired_exits}, {"entries_without_exit", m.entries_without_exit},
                                {"resolution_ns", m.time_resolution_ns ? m.time_resolution_ns : 1}};
    j["latency"] = lat;  // also at the top level: the key scripts look for
  }
  j["exits"] = exits;
  j["userspace_exits"] = ordered_json::array();
  for (const auto& r : m.userspace_exits) j["userspace_exits"].push_back({{"reason", r.name}, {"count", r.count}});
  j["userspace_exits_by_thread"] = ordered_json::array();
  for (const auto& r : m.userspace_exits_by_thread)
    j["userspace_exits_by_thread"].push_back({{"pid", r.pid}, {"tid", r.tid}, {"comm", r.comm}, {"count", r.count}});
  j["pio"] = ordered_json::array();
  for (const auto& r : m.pio)
    j["pio"].push_back({{"port", Hex(r.port)}, {"direction", r.write ? "write" : "read"}, {"size", r.size}, {"count", r.count}, {"name", r.name}, {"device", DeviceJson(r.device)}});
  j["pio_from_exits"] = ordered_json::array();
  for (const auto& r : m.pio_from_exits)
    j["pio_from_exits"].push_back({{"port", Hex(r.port)}, {"direction", r.write ? "write" : "read"}, {"size", r.size}, {"count", r.count}, {"name", r.name}, {"device", DeviceJson(r.device)}});
  j["pio_by_thread"] = ordered_json::array();
  for (const auto& r : m.pio_by_thread)
    j["pio_by_thread"].push_back({{"pid", r.pid}, {"tid", r.tid}, {"comm", r.comm}, {"port", Hex(r.access.port)},
                                  {"direction", r.access.write ? "write" : "read"}, {"size", r.access.size}, {"count", r.access.count},
                                  {"device", DeviceJson(r.access.device)}});
  j["mmio"] = ordered_json::array();
  for (const auto& r : m.mmio) {
    // kvm_mmio's types: read, write and unsatisfied-read (the exit half of a read).
    std::string direction = r.type == "write" ? "write" : "read";
    j["mmio"].push_back({{"gpa", Hex(r.gpa)}, {"direction", direction}, {"type", r.type}, {"len", r.len}, {"count", r.count}, {"name", r.name},
                          {"device", DeviceJson(r.device)}});
  }
  j["mmio_by_pid"] = ordered_json::array();
  for (const auto& r : m.mmio_by_pid) {
    const auto& a = r.access;
    j["mmio_by_pid"].push_back({{"pid", r.pid}, {"gpa", Hex(a.gpa)}, {"direction", a.type == "write" ? "write" : "read"}, {"type", a.type},
                                {"len", a.len}, {"count", a.count}, {"device", DeviceJson(a.device)}});
  }
  j["mmio_pages"] = ordered_json::array();
  for (const auto& r : m.mmio_pages)
    j["mmio_pages"].push_back({{"page", Hex(r.page)}, {"reads", r.reads}, {"writes", r.writes}, {"name", r.name}});
  j["injected"] = ordered_json::array();
  for (const auto& r : m.injected) j["injected"].push_back({{"vector", r.vector}, {"soft", r.soft}, {"count", r.count}});
  j["msr"] = ordered_json::array();
  for (const auto& r : m.msr)
    j["msr"].push_back({{"index", Hex(r.index)}, {"direction", r.write ? "write" : "read"}, {"count", r.count}, {"name", r.name}});
  AddDeviceJson(j, m);
  if (m.has_timeline) {
    ordered_json series = ordered_json::object();
    for (const auto& s : m.timeline.series) series[s.name] = s.counts;
    j["timeline"] = {{"of", m.timeline.of}, {"bucket_ns", m.timeline.bucket_ns}, {"first_ns", m.timeline.first_ns}, {"series", series}};
  }
  if (!m.explain.empty()) {
    j["explain"] = ordered_json::array();
    for (const auto& e : m.explain)
      j["explain"].push_back({{"source", e.source}, {"count", e.count}, {"percent", e.percent}, {"what", e.what}, {"remedy", e.remedy}});
  }
  return j.dump(compact ? -1 : 1) + "\n";
}

}  // namespace exitprof::render
