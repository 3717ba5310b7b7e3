#include "serve/exporter.h"

#include <chrono>
#include <set>


namespace exitprof::serve {

Exporter::Exporter(const ExporterOptions& options, std::unique_ptr<TraceTier> trace)
    : options_(options), directory_(options.qmp), trace_(std::move(trace)), stats_({options.vcpu_labels, options.qmp}) {}

std::string Exporter::Scrape(Format format) {
  const auto arrived = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (last_taken_ > arrived) {
    ++coalesced_;
    return Render(last_, format);
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<Family> families;
  if (trace_) {
    if (auto r = trace_->Update(directory_); !r) {
      ++scrape_errors_;
      last_error_ = r.error().message;
    }
  }
  stats_.Update();
  directory_.Prune();
  if (trace_) trace_->AppendFamilies(directory_, options_.max_vms, families, dropped_series_);
  stats_.AppendFamilies(directory_, options_.max_vms, families, dropped_series_);

  Family info{"kvm_vm_info", MetricType::kGauge, "A VM this exporter sees: its label, VMM pid and QEMU -name"};
  std::set<pid_t> pids;
  if (trace_) for (const auto& [pid, counts] : trace_->vms()) pids.insert(pid);
  for (const auto& vm : stats_.vms()) if (!vm.gone) pids.insert(vm.pid);
  for (pid_t pid : pids) {
    const auto& id = directory_.Get(pid);
    info.Add({{"vm", id.vm}, {"pid", std::to_string(pid)}, {"qemu_name", id.qemu_name}}, 1);
  }
  families.push_back(std::move(info));

  Family build{"exitprof_build_info", MetricType::kGauge, "exitprof's version and the trace tier's source"};
  build.Add({{"version", options_.version}, {"trace_source", options_.trace_source}}, 1);
  families.push_back(std::move(build));
  Family dropped{"exitprof_series_dropped_total", MetricType::kCounter,
                 "Series not exposed because more VMs than --max-vms were seen (summed over scrapes)"};
  dropped.Add({}, static_cast<double>(dropped_series_));
  families.push_back(std::move(dropped));
  if (trace_) {
    Family full{"exitprof_bpf_map_full_total", MetricType::kCounter, "Events the BPF maps could not count (an insert failed)"};
    full.Add({}, static_cast<double>(trace_->map_full()));
    families.push_back(std::move(full));
  }
  Family errors{"exitprof_scrape_errors_total", MetricType::kCounter, "Scrapes whose trace tier read failed"};
  errors.Add({}, static_cast<double>(scrape_errors_));
  families.push_back(std::move(errors));
  Family coalesced{"exitprof_scrapes_coalesced_total", MetricType::kCounter,
                   "Scrapes answered with a reading another scrape took while they waited"};
  coalesced.Add({}, static_cast<double>(coalesced_));
  families.push_back(std::move(coalesced));
  // Last, so it covers everything before rendering.
  Family took{"exitprof_scrape_duration_seconds", MetricType::kGauge, "Time this scrape took to read the counters"};
  took.Add({}, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  families.push_back(std::move(took));
  last_ = std::move(families);
  last_taken_ = std::chrono::steady_clock::now();
  return Render(last_, format);
}

std::string Exporter::Health() {
  std::lock_guard lock(mu_);
  return last_error_.empty() ? "ok" : "degraded: " + last_error_;
}

}  // namespace exitprof::serve
