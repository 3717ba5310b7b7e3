#include "analysis/stat_view.h"

#include <algorithm>
#include <unordered_map>

namespace exitprof::analysis {

using kvmstat::StatMeta;
using kvmstat::StatTable;
using kvmstat::StatType;
using kvmstat::VmSnapshot;

void StatHistory::Push(const std::vector<VmSnapshot>& vms) {
  previous_ = std::move(current_);
  current_.clear();
  for (const auto& vm : vms) {
    ForEachTable(vm, -1, [&](int vcpu, const StatTable& t) {
      if (t.empty()) return;
      Key key{vm.pid, vm.index, vcpu};
      current_[key] = t;
      first_.try_emplace(key, t);
    });
  }
}

const StatTable* StatHistory::Find(const std::map<Key, StatTable>& from, const VmSnapshot& vm, int vcpu,
                                   const StatTable& t) const {
  auto it = from.find(Key{vm.pid, vm.index, vcpu});
  if (it == from.end() || it->second.empty() || t.empty()) return nullptr;
  const StatTable& old = it->second;
  // Same source layout: binary stats share one meta; QMP answers list names in a fixed order.
  if (old.meta != t.meta && (old.meta->size() != t.meta->size() || old.values.size() != t.values.size())) return nullptr;
  return &old;
}

uint64_t StatHistory::Delta(const VmSnapshot& vm, int vcpu, const StatTable& t, const StatMeta& m, uint32_t k) const {
  const uint64_t now = t.values[m.first + k];
  if (m.type == StatType::kInstant || m.type == StatType::kPeak) return now;
  const StatTable* old = Find(previous_, vm, vcpu, t);
  if (old == nullptr) return 0;
  const uint64_t before = old->values[m.first + k];
  return now >= before ? now - before : 0;
}

uint64_t StatHistory::SinceStart(const VmSnapshot& vm, int vcpu, const StatTable& t, const StatMeta& m, uint32_t k) const {
  const uint64_t now = t.values[m.first + k];
  if (include_past_ || m.type == StatType::kInstant || m.type == StatType::kPeak) return now;
  const StatTable* first = Find(first_, vm, vcpu, t);
  if (first == nullptr) return 0;
  const uint64_t before = first->values[m.first + k];
  return now >= before ? now - before : 0;
}

bool VmSelected(const VmSnapshot& vm, const StatViewOptions& options) {
  return (options.guest.empty() || vm.name == options.guest) && (options.pid == 0 || vm.pid == options.pid);
}

bool FieldSelected(const std::string& name, const StatViewOptions& options) {
  return !options.fields || std::regex_search(name, *options.fields);
}

std::vector<StatRow> Aggregate(const std::vector<VmSnapshot>& vms, const StatHistory& history,
                               const StatViewOptions& options, int only_vcpu) {
  std::vector<StatRow> rows;
  std::unordered_map<std::string, size_t> index;
  for (const auto& vm : vms) {
    if (!VmSelected(vm, options)) continue;
    ForEachTable(vm, only_vcpu, [&](int vcpu, const StatTable& t) {
      if (t.empty()) return;
      for (const auto& m : *t.meta) {
        if (!Summable(m) || !FieldSelected(m.name, options)) continue;
        auto [it, added] = index.try_emplace(m.name, rows.size());
        if (added) rows.push_back(StatRow{.name = m.name, .unit = m.unit, .type = m.type});
        StatRow& row = rows[it->second];
        const uint64_t total = history.SinceStart(vm, vcpu, t, m, 0), delta = history.Delta(vm, vcpu, t, m, 0);
        if (m.type == StatType::kPeak) {  // a peak of peaks, not a sum
          row.total = std::max(row.total, total);
          row.delta = std::max(row.delta, delta);
        } else {
          row.total += total;
          row.delta += delta;
        }
      }
    });
  }
  return rows;
}

std::vector<std::string> LogFields(const std::vector<VmSnapshot>& vms, const StatViewOptions& options) {
  StatHistory none(true);
  std::vector<std::string> fields;
  for (const auto& r : Aggregate(vms, none, options)) {
    if (r.type == StatType::kCumulative) fields.push_back(r.name);
  }
  return fields;
}

}  // namespace exitprof::analysis
