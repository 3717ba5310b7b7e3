// The numbers `exitprof stat` prints, from two successive samples: per VM and per vCPU, each
// statistic's total (since the VM started, or since stat started as kvm_stat shows it) and its
// change in the interval. render/stat_render.h prints them (kvm_stat's table, log, CSV, JSON).
#pragma once

#include <map>
#include <optional>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

#include "kvmstat/stat_model.h"

namespace exitprof::analysis {

struct StatViewOptions {
  std::optional<std::regex> fields;  // -f REGEX: names searched as kvm_stat does (re.search)
  std::string guest;                 // -g NAME
  pid_t pid = 0;                     // the TUI's p key: only this process's VMs
  bool include_past = false;         // -i: totals since the VM started
  bool skip_zero = false;            // -z
  bool vcpus = false;                // --vcpu rows
  bool histograms = false;           // draw histograms under the table
};

// One row of the aggregated table (kvm_stat's Event | Total | %Total | CurAvg/s).
struct StatRow {
  std::string name;
  std::string unit;
  kvmstat::StatType type = kvmstat::StatType::kCumulative;
  uint64_t total = 0;
  uint64_t delta = 0;
};

// Remembers earlier samples so each refresh yields deltas and kvm_stat-style totals.
class StatHistory {
 public:
  explicit StatHistory(bool include_past) : include_past_(include_past) {}
  // Records `vms` as the newest sample; afterwards Delta/Total refer to it.
  void Push(const std::vector<kvmstat::VmSnapshot>& vms);
  // Values of stat i of this table: change since the previous sample (instant and peak: the value
  // itself) and the total (since the VM started with -i or in JSON, else since the first sample).
  uint64_t Delta(const kvmstat::VmSnapshot& vm, int vcpu, const kvmstat::StatTable& t, const kvmstat::StatMeta& m, uint32_t k) const;
  uint64_t SinceStart(const kvmstat::VmSnapshot& vm, int vcpu, const kvmstat::StatTable& t, const kvmstat::StatMeta& m, uint32_t k) const;

 private:
  using Key = std::tuple<pid_t, int, int>;  // pid, VM index, vcpu (-1 = VM-wide)
  const kvmstat::StatTable* Find(const std::map<Key, kvmstat::StatTable>& from, const kvmstat::VmSnapshot& vm, int vcpu,
                             const kvmstat::StatTable& t) const;
  bool include_past_;
  std::map<Key, kvmstat::StatTable> previous_, current_, first_;
};

// A statistic with one value (not a histogram): what tables sum.
inline bool Summable(const kvmstat::StatMeta& m) { return m.size == 1; }

// The tables of one VM a row set covers: VM-wide (vcpu -1) and each vCPU (only `only_vcpu` if >= 0).
template <typename F>
void ForEachTable(const kvmstat::VmSnapshot& vm, int only_vcpu, F&& f) {
  if (only_vcpu < 0) f(-1, vm.stats);
  for (const auto& c : vm.vcpus) {
    if (only_vcpu < 0 || c.vcpu == only_vcpu) f(c.vcpu, c.stats);
  }
}

// Whether the VM passes -g; whether a statistic passes -f.
bool VmSelected(const kvmstat::VmSnapshot& vm, const StatViewOptions& options);
bool FieldSelected(const std::string& name, const StatViewOptions& options);

// Scalar statistics summed over `vms` (VM-wide and every vCPU), in the order first seen.
// `vcpu` >= 0 restricts to that vCPU of a single VM (for --vcpu rows).
std::vector<StatRow> Aggregate(const std::vector<kvmstat::VmSnapshot>& vms, const StatHistory& history,
                               const StatViewOptions& options, int only_vcpu = -1);

// kvm_stat -l's fields: the cumulative statistics selected, in the order first seen.
std::vector<std::string> LogFields(const std::vector<kvmstat::VmSnapshot>& vms, const StatViewOptions& options);

}  // namespace exitprof::analysis
