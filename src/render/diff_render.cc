#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "render/diff_render.h"

namespace exitprof::render {

namespace {

const char* Title(const std::string& kind) {
  if (kind == "reason") return "Exits by reason";
  if (kind == "userspace") return "Exits to userspace by reason";
  if (kind == "port") return "Port IO";
  if (kind == "mmio") return "MMIO";
  if (kind == "rip") return "Exits by guest RIP";
  if (kind == "latency_p50") return "Exit cost, median (ns)";
  if (kind == "latency_p99") return "Exit cost, p99 (ns)";
  return "Other";
}

std::string Change(const analysis::DiffRow& r) {
  if (r.added) return "new";
  if (r.removed) return "gone";
  return fmt::format("{:+.1f}%", r.change_percent);
}

}  // namespace

std::string RenderDiffText(const analysis::DiffModel& d, size_t top) {
  std::string out = fmt::format("# exitprof diff\n#   A: {} ({:.3f} s, {} vCPUs, {} exits)\n#   B: {} ({:.3f} s, {} vCPUs, {} exits)\n",
                                d.a_path, d.a_span_s, d.a_vcpus, d.a_exits, d.b_path, d.b_span_s, d.b_vcpus, d.b_exits);
  if (d.span_ratio > 2) {
    out += fmt::format("#   the spans differ {:.1f}x: counts are not comparable, changes are of the rates per second\n",
                       d.span_ratio);
  }
  out += d.by_rate ? "#   B-A and Change: of the rates per second (exit cost rows: of the nanoseconds)\n"
                   : "#   B-A and Change: of the counts (a span is unknown)\n";
  std::string kind;
  size_t shown = 0;
  for (const auto& r : d.rows) {
    if (r.kind != kind) {
      kind = r.kind;
      shown = 0;
      bool counts = kind.rfind("latency", 0) != 0;
      out += fmt::format("\n# {}\n# {:<40} {:>12} {:>12} {:>12} {:>9}{}\n", Title(kind), "", "A", "B", "B-A", "Change",
                         counts ? fmt::format(" {:>11} {:>11} {:>11} {:>11}", "A/s", "B/s", "A/vCPU", "B/vCPU") : "");
    }
    if (top && shown++ >= top) continue;
    if (r.kind.rfind("latency", 0) == 0) {
      out += fmt::format("  {:<40} {:>12.0f} {:>12.0f} {:>+12.0f} {:>9}\n", r.key, r.a, r.b, r.change, Change(r));
    } else {
      out += fmt::format("  {:<40} {:>12.0f} {:>12.0f} {:>+12.1f} {:>9} {:>11.1f} {:>11.1f} {:>11.1f} {:>11.1f}\n", r.key, r.a, r.b,
                         r.change, Change(r), r.a_rate, r.b_rate, r.a_per_vcpu, r.b_per_vcpu);
    }
  }
  return out;
}

std::string RenderDiffJson(const analysis::DiffModel& d) {
  nlohmann::ordered_json j;
  j["a"] = {{"path", d.a_path}, {"span_s", d.a_span_s}, {"vcpus", d.a_vcpus}, {"exits", d.a_exits}};
  j["b"] = {{"path", d.b_path}, {"span_s", d.b_span_s}, {"vcpus", d.b_vcpus}, {"exits", d.b_exits}};
  j["change_of"] = d.by_rate ? "rate" : "count";
  j["span_ratio"] = d.span_ratio;
  j["rows"] = nlohmann::ordered_json::array();
  for (const auto& r : d.rows) {
    nlohmann::ordered_json row = {{"kind", r.kind}, {"key", r.key}, {"a", r.a}, {"b", r.b}, {"change", r.change}};
    if (std::isfinite(r.change_percent)) row["change_percent"] = r.change_percent;
    else row["change_percent"] = nullptr;
    row["added"] = r.added;
    row["removed"] = r.removed;
    if (r.kind.rfind("latency", 0) != 0) {
      row["a_per_s"] = r.a_rate;
      row["b_per_s"] = r.b_rate;
      row["a_per_vcpu"] = r.a_per_vcpu;
      row["b_per_vcpu"] = r.b_per_vcpu;
    }
    j["rows"].push_back(row);
  }
  return j.dump(1) + "\n";
}

}  // namespace exitprof::render
