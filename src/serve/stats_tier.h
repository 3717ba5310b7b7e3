// The stats tier: KVM's own statistics (binary stats fds borrowed from the VMM, else QMP
// query-stats) as metrics named from the kernel's descriptors. It needs neither tracefs nor
// debugfs, so it works under lockdown. Cumulative counters become kvm_stat_<name>_total, instant
// and peak values gauges, log2 and linear histograms classic _bucket{le} series; time is in
// seconds and pages in bytes. vCPU statistics are summed per VM unless vcpu labels are asked for.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "kvmstat/stat_model.h"
#include "kvmstat/stat_sampler.h"
#include "serve/exposition.h"
#include "serve/vm_identity.h"

namespace exitprof::serve {

struct StatsTierOptions {
  bool vcpu_labels = false;
  bool qmp = true;  // --qmp auto: QMP query-stats where no stats fd can be borrowed
};

class StatsTier {
 public:
  explicit StatsTier(const StatsTierOptions& options);
  // Looks for new VMs (at most once a second) and reads every VM's statistics.
  void Update();
  void AppendFamilies(VmDirectory& directory, size_t max_vms, std::vector<Family>& out, uint64_t& dropped_series) const;
  const std::vector<kvmstat::VmSnapshot>& vms() const { return vms_; }

 private:
  StatsTierOptions options_;
  kvmstat::StatSampler sampler_;
  std::vector<kvmstat::VmSnapshot> vms_;
  std::chrono::steady_clock::time_point last_rescan_{};
};

// How one statistic is exposed: its metric name and the factor from raw values to base units.
struct StatExposure {
  std::string name;  // kvm_stat_halt_wait_seconds_total, kvm_stat_pages_4k_bytes ...
  MetricType type = MetricType::kGauge;
  double scale = 1;   // raw value * scale / divide = the value in the name's unit (dividing by
  double divide = 1;  // 1e9 rather than multiplying by 1e-9 keeps bounds like 3e-09 exact)
  double Convert(double raw) const { return raw * scale / divide; }
};
StatExposure ExposureOf(const kvmstat::StatMeta& meta);

// Appends one statistic's samples (values of a StatTable) to its family.
void AddStatSamples(Family& family, const kvmstat::StatMeta& meta, const StatExposure& exposure,
                    std::span<const uint64_t> values, const Labels& labels);

}  // namespace exitprof::serve
