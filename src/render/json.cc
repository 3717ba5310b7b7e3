#include <nlohmann/json.hpp>

#include "render/report_render.h"
#include "render/report_tables.h"

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
  const TableOptions all;  // JSON holds every row the model has
  exits["by_reason"] = TableJson(ReasonTable(m, all));
  exits["by_rip"] = TableJson(RipTable(m, all));
  if (!m.guest_symbols.empty()) {
    exits["guest_symbols"] = m.guest_symbols;
    exits["by_sym"] = TableJson(SymbolTable(m, all));
  }
  exits["by_vcpu"] = TableJson(VcpuTable(m, all));
  exits["by_cpu"] = TableJson(CpuTable(m, all));
  exits["by_vm"] = TableJson(VmTable(m, all));
  if (m.has_latency) {
    ordered_json lat = TableJson(LatencyTable(m, all));
    exits["latency_ioport"] = TableJson(LatencyTable(m, {.latency_event = "ioport"}));
    exits["latency_mmio"] = TableJson(LatencyTable(m, {.latency_event = "mmio"}));
    exits["latency"] = lat;
    exits["latency_summary"] = {{"total_ns", m.latency_total_ns}, {"idle_ns", m.latency_idle_ns},
                                {"overhead_ns", m.latency_total_ns - m.latency_idle_ns},
                                {"exits_before_first_entry", m.exits_before_first_entry},
                                {"unpaired_exits", m.unpaired_exits}, {"entries_without_exit", m.entries_without_exit},
                                {"resolution_ns", m.time_resolution_ns ? m.time_resolution_ns : 1}};
    j["latency"] = lat;  // also at the top level: the key scripts look for
  }
  j["exits"] = exits;
  j["userspace_exits"] = TableJson(UserspaceTable(m, all));
  j["userspace_exits_by_thread"] = TableJson(UserspaceThreadTable(m, all));
  j["pio"] = TableJson(PioRowsTable(m.pio, "", 0));
  j["pio_from_exits"] = TableJson(PioRowsTable(m.pio_from_exits, "", 0));
  j["pio_by_thread"] = TableJson(PioThreadTable(m, all));
  j["mmio"] = TableJson(MmioTable(m, all));
  j["mmio_by_pid"] = TableJson(MmioPidTable(m, all));
  j["mmio_pages"] = TableJson(MmioPageTable(m, all));
  j["injected"] = TableJson(InjectedTable(m, all));
  j["msr"] = TableJson(MsrTable(m, all));
  AddDeviceJson(j, m);
  if (m.has_timeline) {
    ordered_json series = ordered_json::object();
    for (const auto& s : m.timeline.series) series[s.name] = s.counts;
    j["timeline"] = {{"of", m.timeline.of}, {"bucket_ns", m.timeline.bucket_ns}, {"first_ns", m.timeline.first_ns}, {"series", series}};
  }
  if (!m.explain.empty()) j["explain"] = TableJson(ExplainTable(m, all));
  return j.dump(compact ? -1 : 1) + "\n";
}

}  // namespace exitprof::render
