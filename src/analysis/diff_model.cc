#include "analysis/diff_model.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>

namespace exitprof::analysis {

namespace {

uint64_t Vcpus(const ReportModel& m) {
  return m.has_kvm_exit ? m.by_vcpu.size() : m.userspace_exits_by_thread.size();
}

uint64_t Exits(const ReportModel& m) {
  if (m.has_kvm_exit) return m.exits_total;
  uint64_t n = 0;
  for (const auto& r : m.userspace_exits) n += r.count;
  return n;
}

struct Side {
  double span_s;
  uint64_t vcpus;
};

void AddKind(DiffModel& d, const std::string& kind, const std::map<std::string, double>& a,
             const std::map<std::string, double>& b, Side sa, Side sb, bool counts) {
  std::vector<DiffRow> rows;
  std::map<std::string, std::pair<double, double>> all;
  for (const auto& [k, v] : a) all[k].first = v;
  for (const auto& [k, v] : b) all[k].second = v;
  for (const auto& [key, v] : all) {
    DiffRow r;
    r.kind = kind;
    r.key = key;
    r.a = v.first;
    r.b = v.second;
    r.added = !a.count(key);
    r.removed = !b.count(key);
    if (counts) {
      r.a_rate = sa.span_s > 0 ? r.a / sa.span_s : 0;
      r.b_rate = sb.span_s > 0 ? r.b / sb.span_s : 0;
      r.a_per_vcpu = sa.vcpus ? r.a / static_cast<double>(sa.vcpus) : 0;
      r.b_per_vcpu = sb.vcpus ? r.b / static_cast<double>(sb.vcpus) : 0;
    }
    const bool by_rate = counts && sa.span_s > 0 && sb.span_s > 0;
    const double before = by_rate ? r.a_rate : r.a, after = by_rate ? r.b_rate : r.b;
    r.change = after - before;
    r.change_percent = before != 0 ? 100.0 * r.change / before : (after != 0 ? INFINITY : 0);
    rows.push_back(r);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const DiffRow& x, const DiffRow& y) {
    return std::fabs(x.change) > std::fabs(y.change);
  });
  d.rows.insert(d.rows.end(), rows.begin(), rows.end());
}

}  // namespace

DiffModel BuildDiff(const ReportModel& a, const ReportModel& b) {
  DiffModel d;
  d.a_path = a.path;
  d.b_path = b.path;
  d.a_span_s = a.span_s;
  d.b_span_s = b.span_s;
  d.a_vcpus = Vcpus(a);
  d.b_vcpus = Vcpus(b);
  d.a_exits = Exits(a);
  d.b_exits = Exits(b);
  const Side sa{a.span_s, d.a_vcpus}, sb{b.span_s, d.b_vcpus};
  d.by_rate = a.span_s > 0 && b.span_s > 0;
  if (d.by_rate) d.span_ratio = std::max(a.span_s, b.span_s) / std::min(a.span_s, b.span_s);
  auto collect = [](const ReportModel& m, auto&& fn) {
    std::map<std::string, double> out;
    fn(m, out);
    return out;
  };
  auto reasons = [](const ReportModel& m, std::map<std::string, double>& out) {
    for (const auto& r : m.by_reason) out[r.reason] += static_cast<double>(r.count);
  };
  auto uexits = [](const ReportModel& m, std::map<std::string, double>& out) {
    for (const auto& r : m.userspace_exits) out[r.name] += static_cast<double>(r.count);
  };
  auto rips = [](const ReportModel& m, std::map<std::string, double>& out) {
    for (const auto& r : m.by_rip) {
      std::string where = r.symbol.empty() ? fmt::format("{:#x}", r.rip) : fmt::format("{}+{:#x}", r.symbol, r.symbol_offset);
      if (!r.module.empty()) where += " [" + r.module + "]";
      out[r.reason + " " + where] += static_cast<double>(r.count);
    }
  };
  auto ports = [](const ReportModel& m, std::map<std::string, double>& out) {
    for (const auto& r : m.pio.empty() ? m.pio_from_exits : m.pio)
      out[fmt::format("{:#x} {}", r.port, r.write ? "write" : "read")] += static_cast<double>(r.count);
  };
  auto mmio = [](const ReportModel& m, std::map<std::string, double>& out) {
    for (const auto& r : m.mmio)
      if (r.type != "unsatisfied-read") out[fmt::format("{:#x} {}", r.gpa, r.type)] += static_cast<double>(r.count);
  };
  AddKind(d, "reason", collect(a, reasons), collect(b, reasons), sa, sb, true);
  AddKind(d, "userspace", collect(a, uexits), collect(b, uexits), sa, sb, true);
  AddKind(d, "port", collect(a, ports), collect(b, ports), sa, sb, true);
  AddKind(d, "mmio", collect(a, mmio), collect(b, mmio), sa, sb, true);
  AddKind(d, "rip", collect(a, rips), collect(b, rips), sa, sb, true);
  if (a.has_latency && b.has_latency) {
    for (auto [kind, pick] : {std::pair<const char*, uint64_t LatencySummary::*>{"latency_p50", &LatencySummary::p50_ns},
                              {"latency_p99", &LatencySummary::p99_ns}}) {
      std::map<std::string, double> la, lb;
      for (const auto& r : a.latency) la[r.reason] = static_cast<double>(r.summary.*pick);
      for (const auto& r : b.latency) lb[r.reason] = static_cast<double>(r.summary.*pick);
      AddKind(d, kind, la, lb, sa, sb, false);
    }
  }
  return d;
}

}  // namespace exitprof::analysis
