#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "render/report_render.h"
#include "render/report_tables.h"

namespace exitprof::render {

namespace {
std::string UnitName(uint64_t resolution_ns) {
  if (resolution_ns == 1000) return "microsecond";
  if (resolution_ns == 1000000) return "millisecond";
  return fmt::format("{} ns", resolution_ns);
}
}  // namespace

std::string Duration(double ns) {
  if (ns < 1e3) return fmt::format("{:.0f} ns", ns);
  if (ns < 1e6) return fmt::format("{:.2f} us", ns / 1e3);
  if (ns < 1e9) return fmt::format("{:.2f} ms", ns / 1e6);
  return fmt::format("{:.2f} s", ns / 1e9);
}

std::string Duration(double ns, uint64_t resolution_ns) {
  if (resolution_ns <= 1) return Duration(ns);
  if (ns >= static_cast<double>(resolution_ns)) return Duration(ns);
  if (resolution_ns % 1000000 == 0) return fmt::format("<{} ms", resolution_ns / 1000000);
  if (resolution_ns % 1000 == 0) return fmt::format("<{} us", resolution_ns / 1000);
  return fmt::format("<{} ns", resolution_ns);
}

Table LatencyTable(const analysis::ReportModel& m, const TableOptions& o) {
  const bool io = o.latency_event == "ioport", by_reason = o.latency_event != "ioport" && o.latency_event != "mmio";
  const auto& rows = io ? m.latency_ioport : by_reason ? m.latency : m.latency_mmio;
  const uint64_t res = m.time_resolution_ns;
  auto Duration = [res](double ns) { return render::Duration(ns, res); };
  bool approximate = false;
  for (const auto& r : rows) approximate |= !r.summary.exact;
  Table t{.name = "latency"};
  t.title = std::string(approximate ? "percentiles: from a log-linear histogram (under 1.6% error) where marked ~"
                                    : "percentiles: exact (nearest rank)") +
            "\n+-: relative standard error of the mean, as perf kvm stat prints it";
  // Data columns as CSV and JSON give them (in their two orders), then text's (durations).
  t.Add({.key = by_reason ? "reason" : "key", .show = kData});
  t.Add({.key = "idle", .show = by_reason ? kData : 0u});
  t.Add({.key = "count", .header = "Count", .width = 9, .gap = 1});
  t.Add({.key = "total_ns", .show = kData});
  t.Add({.key = "time_percent", .header = "Time%", .show = kJson | kText, .width = 7, .digits = 2, .percent = true, .gap = 1});
  t.Add({.key = "min_ns", .show = kData});
  t.Add({.key = "max_ns", .show = kJson});
  t.Add({.key = "mean_ns", .show = kData, .csv_digits = 1});
  t.Add({.key = "stddev_ns", .show = kJson});
  t.Add({.key = "rel_stderr_percent", .header = "+-", .show = kJson | kText, .width = 7, .digits = 2, .percent = true, .gap = 1});
  for (const char* p : {"p50_ns", "p90_ns", "p99_ns", "p999_ns"}) t.Add({.key = p, .show = kData});
  t.Add({.key = "max_ns", .show = kCsv});
  t.Add({.key = "percentiles", .show = kData});
  t.Add({.key = "rel_stderr_percent", .show = kCsv, .csv_digits = 2});
  t.Add({.key = "histogram_log2", .show = kJson});
  t.Add({.key = "label", .header = by_reason ? "Reason" : io ? "IO Port Access" : "MMIO Access", .show = kText, .width = 26, .left = true});
  t.Add({.key = "total", .header = "Total", .show = kText, .width = 11, .gap = 1});
  for (const char* h : {"Min", "Mean", "p50", "p90", "p99", "p99.9", "Max"}) t.Add({.key = h, .header = h, .show = kText, .width = 10, .gap = 1});
  t.text_order = {18, 2, 4, 19, 20, 21, 9, 22, 23, 24, 25, 26};
  for (const auto& r : rows) {
    const auto& s = r.summary;
    nlohmann::ordered_json hist = nlohmann::ordered_json::array();
    for (int b = 0; b < 64; ++b) {
      if (s.log2_histogram[b]) hist.push_back({{"from_ns", b == 0 ? 0 : (1ULL << b)}, {"count", s.log2_histogram[b]}});
    }
    const std::string mark = s.exact ? "" : "~";
    t.rows.push_back({{r.reason, r.idle, s.count, s.total_ns, r.time_percent, s.min_ns, s.max_ns, s.mean_ns, s.stddev_ns,
                       s.rel_stderr_percent(), s.p50_ns, s.p90_ns, s.p99_ns, s.p999_ns, s.max_ns, s.exact ? "exact" : "approximate",
                       s.rel_stderr_percent(), Cell::Json(std::move(hist)), r.reason + (r.idle ? " (idle)" : ""),
                       Duration(static_cast<double>(s.total_ns)), Duration(static_cast<double>(s.min_ns)), Duration(s.mean_ns),
                       mark + Duration(static_cast<double>(s.p50_ns)), mark + Duration(static_cast<double>(s.p90_ns)),
                       mark + Duration(static_cast<double>(s.p99_ns)), mark + Duration(static_cast<double>(s.p999_ns)),
                       Duration(static_cast<double>(s.max_ns))}});
  }
  t.why_empty = "needs --latency (kvm_exit and kvm_entry recorded)";
  return t;
}

std::string RenderLatencyText(const analysis::ReportModel& m, size_t histograms, const std::string& event) {
  std::string out;
  const uint64_t res = m.time_resolution_ns;
  auto Duration = [res](double ns) { return render::Duration(ns, res); };
  if (event == "ioport" || event == "mmio") {
    const bool io = event == "ioport";
    out += io ? "# Port IO cost: kvm_pio to the next kvm_entry on the same thread (as perf kvm stat --event=ioport)\n"
              : "# MMIO cost: writes kvm_mmio to kvm_entry, reads kvm_exit to kvm_mmio (as perf kvm stat --event=mmio)\n";
    out += fmt::format("# time in accesses: {}\n", Duration(io ? m.latency_ioport_total_ns : m.latency_mmio_total_ns));
    out += TableText(LatencyTable(m, {.latency_event = event}));
    return out;
  }
  out += "# Exit cost: kvm_exit to the next kvm_entry on the same thread (paired as perf kvm stat pairs them)\n";
  if (res > 1) {
    out += fmt::format("# timestamps in the input are to the {}: costs are too, \"{}\" is an exit and its entry in the same {}\n",
                       UnitName(res), Duration(0), UnitName(res));
  }
  out += fmt::format("# time in exits: {}; idle (HLT, MWAIT, PAUSE): {}; overhead: {}\n", Duration(m.latency_total_ns),
                     Duration(m.latency_idle_ns), Duration(m.latency_total_ns - m.latency_idle_ns));
  if (m.exits_before_first_entry || m.unpaired_exits) {
    out += fmt::format("# not paired: {} exits before their thread's first kvm_entry, {} exits followed by another exit\n",
                       m.exits_before_first_entry, m.unpaired_exits);
  }
  out += TableText(LatencyTable(m, {}));
  for (size_t i = 0; i < m.latency.size() && i < histograms; ++i) {
    const auto& r = m.latency[i];
    const auto& h = r.summary.log2_histogram;
    uint64_t peak = *std::max_element(h.begin(), h.end());
    out += fmt::format("# {}: exit cost, log2 histogram\n#   {:>21}  {:>9}  distribution\n", r.reason, "range", "count");
    int first = 0, last = 63;
    while (first < 63 && h[first] == 0) ++first;
    while (last > 0 && h[last] == 0) --last;
    for (int b = first; b <= last; ++b) {
      size_t bar = peak ? static_cast<size_t>(40.0 * h[b] / peak + 0.5) : 0;
      out += fmt::format("    {:>9} -> {:<9}  {:>9}  |{:<40}|\n", Duration(b == 0 ? 0 : static_cast<double>(1ULL << b)),
                         Duration(static_cast<double>((2ULL << b) - 1)), h[b], std::string(bar, '*'));
    }
    out += "\n";
  }
  return out;
}

}  // namespace exitprof::render
