#include "render/stat_render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <unordered_map>

namespace exitprof::render {
namespace {

using analysis::Aggregate;
using analysis::FieldSelected;
using analysis::ForEachTable;
using analysis::StatRow;
using analysis::Summable;
using analysis::VmSelected;
using kvmstat::StatMeta;
using kvmstat::StatTable;
using kvmstat::StatType;
using kvmstat::VmSnapshot;
using Json = nlohmann::ordered_json;

std::string VmLabel(const VmSnapshot& vm) {
  if (vm.vms_in_process > 1) return fmt::format("{}[{}]", vm.name, vm.index);
  return vm.name;
}

std::string Histogram(const std::string& name, const StatMeta& m, const std::vector<uint64_t>& buckets) {
  uint64_t peak = *std::max_element(buckets.begin(), buckets.end());
  if (peak == 0) return "";
  std::string out = fmt::format("\n# {}: {} histogram{}\n", name, m.type == StatType::kLogHist ? "log2" : "linear",
                                m.unit.empty() ? "" : fmt::format(" ({})", m.unit));
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i] == 0) continue;
    uint64_t lo, hi;
    if (m.type == StatType::kLogHist) {
      lo = i == 0 ? 0 : uint64_t{1} << (i - 1);
      hi = i == 0 ? 1 : uint64_t{1} << i;
      if (i >= 64) lo = hi = UINT64_MAX;
    } else {
      lo = uint64_t{m.bucket_size} * i;
      hi = lo + m.bucket_size;
    }
    int bar = static_cast<int>(40.0 * static_cast<double>(buckets[i]) / static_cast<double>(peak) + 0.5);
    out += fmt::format("  {:>12} -> {:<12} {:>10}  |{:<40}|\n", lo, hi, buckets[i], std::string(static_cast<size_t>(bar), '*'));
  }
  return out;
}

}  // namespace

std::string RenderStatTable(const std::vector<VmSnapshot>& vms, const analysis::StatHistory& history,
                        const analysis::StatViewOptions& options, double seconds) {
  auto table = [&](std::vector<StatRow> rows) {
    if (options.skip_zero) std::erase_if(rows, [](const StatRow& r) { return r.total == 0 && r.delta == 0; });
    // Plain counts first (kvm_stat's order: CurAvg/s, then Total); nanoseconds, pages and
    // other measures after them, or halt_wait_ns would head every table.
    std::stable_sort(rows.begin(), rows.end(), [](const StatRow& a, const StatRow& b) {
      const bool ma = !a.unit.empty(), mb = !b.unit.empty();
      return std::tie(mb, a.delta, a.total) > std::tie(ma, b.delta, b.total);
    });
    uint64_t sum = 0;
    for (const auto& r : rows) {
      // Per-reason counters ("kvm_exit(HLT)") repeat their parent's count: not summed again.
      if (r.type == StatType::kCumulative && r.unit.empty() && r.name.find('(') == std::string::npos) sum += r.total;
    }
    std::string out = fmt::format(" {:<40} {:>14} {:>7} {:>12}  {}\n", "Event", "Total", "%Total", "CurAvg/s", "Unit");
    for (const auto& r : rows) {
      std::string share = r.type == StatType::kCumulative && r.unit.empty() && sum > 0
                              ? fmt::format("{:.1f}", 100.0 * static_cast<double>(r.total) / static_cast<double>(sum))
                              : "";
      std::string rate = r.type == StatType::kCumulative && seconds > 0
                             ? fmt::format("{:.0f}", static_cast<double>(r.delta) / seconds)
                             : "";
      out += fmt::format(" {:<40} {:>14} {:>7} {:>12}  {}{}\n", r.name, r.total, share, rate, r.unit,
                         r.type == StatType::kCumulative ? "" : fmt::format(" ({})", kvmstat::TypeName(r.type)));
    }
    return out;
  };

  size_t live = 0, gone = 0;
  for (const auto& vm : vms) (vm.gone ? gone : live) += VmSelected(vm, options) ? 1 : 0;
  std::string out = fmt::format("kvm statistics - summary of {} VM(s){}, last {:.2f} s, totals since {}\n\n", live,
                                gone ? fmt::format(" ({} gone)", gone) : "", seconds,
                                options.include_past ? "each VM started" : "exitprof stat started");
  out += table(Aggregate(vms, history, options));
  out += "\n";
  for (const auto& vm : vms) {
    if (!VmSelected(vm, options)) continue;
    out += fmt::format("# pid {:<7} {:<24} {} vCPU(s), source: {}{}{}{}\n", vm.pid, VmLabel(vm), vm.vcpus.size(),
                       vm.source.empty() ? "none" : vm.source,
                       vm.source_detail.empty() ? "" : fmt::format(" ({})", vm.source_detail), vm.gone ? ", gone" : "",
                       vm.error.empty() ? "" : fmt::format(": {}", vm.error));
  }
  if (options.vcpus) {
    for (const auto& vm : vms) {
      if (!VmSelected(vm, options)) continue;
      for (const auto& c : vm.vcpus) {
        out += fmt::format("\n# pid {} {} vcpu {}{}\n", vm.pid, VmLabel(vm), c.vcpu, c.tid ? fmt::format(" (tid {})", c.tid) : "");
        out += table(Aggregate(std::vector<VmSnapshot>{vm}, history, options, c.vcpu));
      }
    }
  }
  if (options.histograms) {
    // Histograms summed bucket by bucket over every selected table.
    std::map<std::string, std::pair<StatMeta, std::vector<uint64_t>>> hists;
    for (const auto& vm : vms) {
      if (!VmSelected(vm, options)) continue;
      ForEachTable(vm, -1, [&](int, const StatTable& t) {
        if (t.empty()) return;
        for (const auto& m : *t.meta) {
          if (Summable(m) || !FieldSelected(m.name, options)) continue;
          auto& [meta, buckets] = hists[m.name];
          meta = m;
          buckets.resize(std::max<size_t>(buckets.size(), m.size));
          for (uint32_t k = 0; k < m.size; ++k) buckets[k] += t.values[m.first + k];
        }
      });
    }
    for (const auto& [name, h] : hists) out += Histogram(name, h.first, h.second);
  }
  return out;
}

std::string RenderStatJson(const std::vector<VmSnapshot>& vms, const analysis::StatHistory& history,
                       const analysis::StatViewOptions& options, double seconds) {
  Json units = Json::object();
  auto tables = [&](const VmSnapshot& vm, int vcpu, const StatTable& t, Json& stats, Json& delta) {
    stats = Json::object();
    delta = Json::object();
    if (t.empty()) return;
    for (const auto& m : *t.meta) {
      if (!FieldSelected(m.name, options)) continue;
      if (!m.unit.empty()) units[m.name] = m.unit;
      if (m.size == 1) {
        stats[m.name] = t.values[m.first];
        delta[m.name] = history.Delta(vm, vcpu, t, m, 0);
      } else {
        Json s = Json::array(), d = Json::array();
        for (uint32_t k = 0; k < m.size; ++k) {
          s.push_back(t.values[m.first + k]);
          d.push_back(history.Delta(vm, vcpu, t, m, k));
        }
        stats[m.name] = std::move(s);
        delta[m.name] = std::move(d);
      }
    }
  };
  Json list = Json::array();
  for (const auto& vm : vms) {
    if (!VmSelected(vm, options)) continue;
    Json j = {{"pid", vm.pid}, {"index", vm.index}, {"name", vm.name}, {"comm", vm.comm},
              {"source", vm.source.empty() ? Json(nullptr) : Json(vm.source)}, {"gone", vm.gone}};
    if (!vm.source_detail.empty()) j["source_detail"] = vm.source_detail;
    if (!vm.error.empty()) j["error"] = vm.error;
    Json stats, delta;
    tables(vm, -1, vm.stats, stats, delta);
    j["stats"] = std::move(stats);
    j["delta"] = std::move(delta);
    Json cpus = Json::array();
    for (const auto& c : vm.vcpus) {
      Json jc = {{"vcpu", c.vcpu}, {"tid", c.tid}};
      Json cstats, cdelta;
      tables(vm, c.vcpu, c.stats, cstats, cdelta);
      jc["stats"] = std::move(cstats);
      jc["delta"] = std::move(cdelta);
      cpus.push_back(std::move(jc));
    }
    j["vcpus"] = std::move(cpus);
    list.push_back(std::move(j));
  }
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  Json out = {{"time", now}, {"interval_s", seconds}, {"vms", std::move(list)}, {"units", std::move(units)}};
  return out.dump() + "\n";
}

std::string RenderStatLogHeader(const std::vector<std::string>& fields, bool csv) {
  std::string out = csv ? "timestamp" : fmt::format("{:<20}", "timestamp");
  for (const auto& f : fields) out += csv ? "," + f : fmt::format(" {:>{}}", f, std::max<size_t>(10, f.size()));
  return out + "\n";
}

std::string RenderStatLogLine(const std::vector<VmSnapshot>& vms, const analysis::StatHistory& history,
                          const analysis::StatViewOptions& options, const std::vector<std::string>& fields, bool csv) {
  auto rows = Aggregate(vms, history, options);
  std::unordered_map<std::string, uint64_t> delta;
  for (const auto& r : rows) delta[r.name] = r.delta;
  // Only the fields the line prints count: a gauge such as pages_4k is no record of activity.
  bool any = std::any_of(fields.begin(), fields.end(), [&](const std::string& f) {
    auto it = delta.find(f);
    return it != delta.end() && it->second != 0;
  });
  if (options.skip_zero && !any) return "";
  std::time_t now = std::time(nullptr);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  std::string out = csv ? std::string(when) : fmt::format("{:<20}", when);
  for (const auto& f : fields) {
    uint64_t v = delta.count(f) ? delta[f] : 0;
    out += csv ? fmt::format(",{}", v) : fmt::format(" {:>{}}", v, std::max<size_t>(10, f.size()));
  }
  return out + "\n";
}

}  // namespace exitprof::render
