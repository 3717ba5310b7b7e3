#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
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

Table DiffTable(const analysis::DiffModel& d, const std::string& kind, size_t top) {
  // Exit cost rows compare nanoseconds: no rates, no per-vCPU columns.
  const bool cost = kind.rfind("latency", 0) == 0;
  const unsigned rates = cost ? 0u : unsigned{kAll};
  Table t{.name = kind, .title = Title(kind), .spaced = false};
  t.Add({.key = "kind", .show = kJson});
  t.Add({.key = "key", .width = 40, .left = true});
  t.Add({.key = "a", .header = "A", .width = 12, .digits = 0, .gap = 1});
  t.Add({.key = "b", .header = "B", .width = 12, .digits = 0, .gap = 1});
  t.Add({.key = "change", .header = "B-A", .width = 12, .digits = cost ? 0 : 1, .plus = true, .gap = 1});
  t.Add({.key = "change_percent", .show = kJson});
  t.Add({.key = "added", .show = kJson});
  t.Add({.key = "removed", .show = kJson});
  for (const char* key : {"a_per_s", "b_per_s", "a_per_vcpu", "b_per_vcpu"}) t.Add({.key = key, .show = rates & kJson, .skip_null = true});
  t.Add({.key = "change_text", .header = "Change", .show = kText, .width = 9, .gap = 1});
  for (const char* h : {"A/s", "B/s", "A/vCPU", "B/vCPU"}) t.Add({.key = h, .header = h, .show = rates & kText, .width = 11, .digits = 1, .gap = 1});
  t.text_order = {1, 2, 3, 4, 12, 13, 14, 15, 16};
  size_t shown = 0;
  for (const auto& r : d.rows) {
    if (!kind.empty() && r.kind != kind) continue;
    if (top && shown++ >= top) continue;
    const bool counts = r.kind.rfind("latency", 0) != 0;
    auto rate = [&](double v) { return counts ? Cell(v) : Cell(); };
    t.rows.push_back({{r.kind, r.key, r.a, r.b, r.change, std::isfinite(r.change_percent) ? Cell(r.change_percent) : Cell(), r.added,
                       r.removed, rate(r.a_rate), rate(r.b_rate), rate(r.a_per_vcpu), rate(r.b_per_vcpu), Change(r), r.a_rate, r.b_rate,
                       r.a_per_vcpu, r.b_per_vcpu}});
  }
  return t;
}

std::string RenderDiffText(const analysis::DiffModel& d, size_t top) {
  std::string out = fmt::format("# exitprof diff\n#   A: {} ({:.3f} s, {} vCPUs, {} exits)\n#   B: {} ({:.3f} s, {} vCPUs, {} exits)\n",
                                d.a_path, d.a_span_s, d.a_vcpus, d.a_exits, d.b_path, d.b_span_s, d.b_vcpus, d.b_exits);
  if (d.span_ratio > 2) {
    out += fmt::format("#   the spans differ {:.1f}x: counts are not comparable, changes are of the rates per second\n",
                       d.span_ratio);
  }
  out += d.by_rate ? "#   B-A and Change: of the rates per second (exit cost rows: of the nanoseconds)\n"
                   : "#   B-A and Change: of the counts (a span is unknown)\n";
  // One table per kind, in the model's order.
  std::vector<std::string> kinds;
  for (const auto& r : d.rows) {
    if (std::find(kinds.begin(), kinds.end(), r.kind) == kinds.end()) kinds.push_back(r.kind);
  }
  for (const auto& kind : kinds) out += "\n" + TableText(DiffTable(d, kind, top));
  return out;
}

std::string RenderDiffJson(const analysis::DiffModel& d) {
  nlohmann::ordered_json j;
  j["a"] = {{"path", d.a_path}, {"span_s", d.a_span_s}, {"vcpus", d.a_vcpus}, {"exits", d.a_exits}};
  j["b"] = {{"path", d.b_path}, {"span_s", d.b_span_s}, {"vcpus", d.b_vcpus}, {"exits", d.b_exits}};
  j["change_of"] = d.by_rate ? "rate" : "count";
  j["span_ratio"] = d.span_ratio;
  j["rows"] = TableJson(DiffTable(d, "", 0));
  return j.dump(1) + "\n";
}

}  // namespace exitprof::render
