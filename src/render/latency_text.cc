#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "render/report_render.h"

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

namespace {

// One latency table: a row per reason (or port, MMIO address) with perf kvm stat's spread.
void LatencyTable(std::string& out, const char* label, const std::vector<analysis::LatencyRow>& rows, uint64_t res) {
  auto Duration = [res](double ns) { return render::Duration(ns, res); };
  bool approximate = false;
  for (const auto& r : rows) approximate |= !r.summary.exact;
  out += approximate ? "# percentiles: from a log-linear histogram (under 1.6% error) where marked ~\n"
                     : "# percentiles: exact (nearest rank)\n";
  out += "# +-: relative standard error of the mean, as perf kvm stat prints it\n#\n";
  out += fmt::format("# {:<26} {:>9} {:>7} {:>11} {:>10} {:>10} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10}\n", label, "Count",
                     "Time%", "Total", "Min", "Mean", "+-", "p50", "p90", "p99", "p99.9", "Max");
  for (const auto& r : rows) {
    const auto& s = r.summary;
    std::string mark = s.exact ? "" : "~";
    out += fmt::format("  {:<26} {:>9} {:>6.2f}% {:>11} {:>10} {:>10} {:>6.2f}% {:>10} {:>10} {:>10} {:>10} {:>10}\n",
                       r.reason + (r.idle ? " (idle)" : ""), s.count, r.time_percent, Duration(s.total_ns),
                       Duration(s.min_ns), Duration(s.mean_ns), s.rel_stderr_percent(), mark + Duration(s.p50_ns),
                       mark + Duration(s.p90_ns), mark + Duration(s.p99_ns), mark + Duration(s.p999_ns), Duration(s.max_ns));
  }
  out += "\n";
}

}  // namespace

std::string RenderLatencyText(const analysis::ReportModel& m, size_t histograms, const std::string& event) {
  std::string out;
  const uint64_t res = m.time_resolution_ns;
  auto Duration = [res](double ns) { return render::Duration(ns, res); };
  if (event == "ioport" || event == "mmio") {
    const bool io = event == "ioport";
    out += io ? "# Port IO cost: kvm_pio to the next kvm_entry on the same thread (as perf kvm stat --event=ioport)\n"
              : "# MMIO cost: writes kvm_mmio to kvm_entry, reads kvm_exit to kvm_mmio (as perf kvm stat --event=mmio)\n";
    out += fmt::format("# time in accesses: {}\n", Duration(io ? m.latency_ioport_total_ns : m.latency_mmio_total_ns));
    LatencyTable(out, io ? "IO Port Access" : "MMIO Access", io ? m.latency_ioport : m.latency_mmio, res);
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
  LatencyTable(out, "Reason", m.latency, res);
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
