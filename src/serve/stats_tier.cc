#include "serve/stats_tier.h"

#include <cmath>
#include <map>

namespace exitprof::serve {

namespace {

// 10^e as a double (the kernel's exponents are small).
double Pow10(int e) { return std::pow(10.0, e); }

std::string StripSuffix(std::string name, const std::string& suffix) {
  if (name.size() > suffix.size() && name.ends_with(suffix)) name.resize(name.size() - suffix.size());
  return name;
}

}  // namespace

StatExposure ExposureOf(const kvmstat::StatMeta& meta) {
  StatExposure e;
  std::string base = "kvm_stat_" + SanitizeName(meta.name);
  std::string unit;
  const std::string& u = meta.unit;
  if (u == "ns") e.divide = 1e9, unit = "_seconds", base = StripSuffix(base, "_ns");
  else if (u == "us") e.divide = 1e6, unit = "_seconds", base = StripSuffix(base, "_us");
  else if (u == "ms") e.divide = 1e3, unit = "_seconds", base = StripSuffix(base, "_ms");
  else if (u == "s") unit = "_seconds";
  else if (u == "bytes") unit = "_bytes";
  else if (u == "pages") e.scale = 4096, unit = "_bytes";
  else if (u.ends_with(" s") && u.starts_with("1e")) e.divide = Pow10(-std::atoi(u.c_str() + 2)), unit = "_seconds";
  else if (u == "cycles") unit = "_cycles";
  if (!unit.empty() && base.ends_with(unit)) unit.clear();
  switch (meta.type) {
    case kvmstat::StatType::kCumulative:
      e.type = MetricType::kCounter;
      e.name = base + unit + "_total";
      break;
    case kvmstat::StatType::kLinearHist:
    case kvmstat::StatType::kLogHist:
      e.type = MetricType::kHistogram;
      e.name = base + unit;
      break;
    default:
      e.type = MetricType::kGauge;
      e.name = base + unit;
  }
  return e;
}

void AddStatSamples(Family& family, const kvmstat::StatMeta& meta, const StatExposure& exposure,
                    std::span<const uint64_t> values, const Labels& labels) {
  if (meta.type != kvmstat::StatType::kLinearHist && meta.type != kvmstat::StatType::kLogHist) {
    family.Add(labels, values.empty() ? 0 : exposure.Convert(static_cast<double>(values[0])));
    return;
  }
  // Log2: bucket 0 holds 0, bucket i >= 1 holds [2^(i-1), 2^i). Linear: bucket i holds
  // [i*size, (i+1)*size), the last one everything above. Bounds are inclusive in Prometheus and
  // the values integers, so a bucket's bound is its largest value.
  std::vector<double> bounds;
  std::vector<uint64_t> cumulative;
  uint64_t sum = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    sum += values[i];
    const bool last = i + 1 == values.size();
    double bound;
    if (last) bound = INFINITY;
    else if (meta.type == kvmstat::StatType::kLogHist) bound = i == 0 ? 0 : (std::ldexp(1.0, static_cast<int>(i)) - 1);
    else bound = static_cast<double>((i + 1) * static_cast<uint64_t>(meta.bucket_size) - 1);
    bounds.push_back(std::isinf(bound) ? bound : exposure.Convert(bound));
    cumulative.push_back(sum);
  }
  // KVM keeps no sum of a histogram's values: _sum is left out (OpenMetrics allows it).
  family.AddHistogram(labels, bounds, cumulative, NAN);
}

StatsTier::StatsTier(const StatsTierOptions& options)
    : options_(options), sampler_(kvmstat::SamplerOptions{{}, "", options.qmp ? kvmstat::SourceChoice::kAuto : kvmstat::SourceChoice::kStatsFd}) {}

void StatsTier::Update() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_rescan_ >= std::chrono::seconds(1)) {
    sampler_.Rescan();
    last_rescan_ = now;
  }
  vms_ = sampler_.Refresh();
}

void StatsTier::AppendFamilies(VmDirectory& directory, size_t max_vms, std::vector<Family>& out,
                               uint64_t& dropped_series) const {
  std::map<std::string, size_t> index;  // metric name -> position in `families`
  std::vector<Family> families;
  auto family_for = [&](const kvmstat::StatMeta& meta, const StatExposure& e) -> Family& {
    auto [it, added] = index.emplace(e.name, families.size());
    if (added) {
      families.push_back({e.name, e.type, "KVM statistic " + meta.name + (meta.unit.empty() ? "" : " (kernel unit: " + meta.unit + ")")});
    }
    return families[it->second];
  };
  size_t shown = 0;
  for (const auto& vm : vms_) {
    if (vm.gone || (vm.stats.empty() && vm.vcpus.empty())) continue;
    std::string label = directory.Get(vm.pid).vm;
    if (vm.vms_in_process > 1) label += "/" + std::to_string(vm.index);
    if (shown++ >= max_vms) {
      dropped_series += vm.stats.meta ? vm.stats.meta->size() : 0;
      continue;
    }
    if (!vm.stats.empty()) {
      for (const auto& m : *vm.stats.meta) {
        auto e = ExposureOf(m);
        AddStatSamples(family_for(m, e), m, e, std::span(vm.stats.values).subspan(m.first, m.size), {{"vm", label}});
      }
    }
    if (vm.vcpus.empty() || vm.vcpus[0].stats.empty()) continue;
    if (options_.vcpu_labels) {
      for (const auto& v : vm.vcpus) {
        if (v.stats.empty()) continue;
        for (const auto& m : *v.stats.meta) {
          auto e = ExposureOf(m);
          AddStatSamples(family_for(m, e), m, e, std::span(v.stats.values).subspan(m.first, m.size),
                         {{"vm", label}, {"vcpu", std::to_string(v.vcpu)}});
        }
      }
      continue;
    }
    // Summed over vCPUs (peaks: the largest), per statistic, on the first vCPU's layout.
    const auto& meta = *vm.vcpus[0].stats.meta;
    std::vector<uint64_t> sums(vm.vcpus[0].stats.values.size(), 0);
    for (const auto& v : vm.vcpus) {
      if (v.stats.meta != vm.vcpus[0].stats.meta && (v.stats.empty() || v.stats.values.size() != sums.size())) continue;
      for (const auto& m : meta) {
        for (uint32_t i = m.first; i < m.first + m.size && i < sums.size(); ++i) {
          sums[i] = m.type == kvmstat::StatType::kPeak ? std::max(sums[i], v.stats.values[i]) : sums[i] + v.stats.values[i];
        }
      }
    }
    for (const auto& m : meta) {
      auto e = ExposureOf(m);
      AddStatSamples(family_for(m, e), m, e, std::span<const uint64_t>(sums).subspan(m.first, m.size), {{"vm", label}});
    }
  }
  for (auto& f : families) out.push_back(std::move(f));
}

}  // namespace exitprof::serve
