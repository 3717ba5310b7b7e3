// ExitStats split across threads: parts made by NewPart count stretches of one recording, and
// MergePart folds them back in file order so that the result equals one sequential pass.
#include "analysis/exit_stats.h"

namespace exitprof::analysis {

namespace {

template <typename Map>
void AddCounts(Map& into, const Map& from) {
  for (const auto& [key, count] : from) into[key] += count;
}

void AddCounts(FlatCounter& into, const FlatCounter& from) {
  from.ForEach([&](uint64_t a, uint64_t b, uint64_t n) { into.Add(a, b, n); });
}

}  // namespace

std::unique_ptr<recording::EventSink> ExitStats::NewPart() const {
  // -g NAME matches thread names that COMM records earlier in the file set: a part cannot know
  // them. Port/MMIO cost pairing (with --latency) has no merge. Both read in one pass.
  if (!filter_.guest.empty() || filter_.latency) return nullptr;
  auto part = std::make_unique<ExitStats>(filter_);
  part->trace_ = trace_;
  part->kvm_ = kvm_;
  part->samples_by_attr_.assign(samples_by_attr_.size(), 0);
  part->is_part_ = true;
  part->latency_.MakePart();  // pairs its stretch; the first pair of each thread waits for the merge
  return part;
}

void ExitStats::MergePart(recording::EventSink& sink) {
  auto& part = static_cast<ExitStats&>(sink);
  // Reason ids are handed out in order of first appearance; the part's are renumbered.
  const std::vector<uint32_t> reason = kvm_.AdoptReasons(part.kvm_);

  for (size_t i = 0; i < part.samples_by_attr_.size() && i < samples_by_attr_.size(); ++i) {
    samples_by_attr_[i] += part.samples_by_attr_[i];
  }
  filtered_samples_ += part.filtered_samples_;
  // As CountSample computes it over both stretches: a time 0 restarts the first time.
  if (part.zero_time_seen_) {
    first_time_ = part.first_time_;
    zero_time_seen_ = true;
  } else if (part.first_time_ != 0 && (first_time_ == 0 || part.first_time_ < first_time_)) {
    first_time_ = part.first_time_;
  }
  last_time_ = std::max(last_time_, part.last_time_);

  exits_.total += part.exits_.total;
  for (uint32_t id = 0; id < part.exits_.by_reason.size(); ++id) {
    if (!part.exits_.by_reason[id]) continue;
    if (reason[id] >= exits_.by_reason.size()) exits_.by_reason.resize(reason[id] + 1, 0);
    exits_.by_reason[reason[id]] += part.exits_.by_reason[id];
  }
  part.exits_.by_reason_rip.ForEach(
      [&](uint64_t id, uint64_t rip, uint64_t n) { exits_.by_reason_rip.Add(reason[id], rip, n); });
  AddCounts(exits_.by_vcpu, part.exits_.by_vcpu);
  if (exits_.by_cpu.size() < part.exits_.by_cpu.size()) exits_.by_cpu.resize(part.exits_.by_cpu.size(), 0);
  for (size_t cpu = 0; cpu < part.exits_.by_cpu.size(); ++cpu) exits_.by_cpu[cpu] += part.exits_.by_cpu[cpu];
  AddCounts(exits_.by_cpu_beyond, part.exits_.by_cpu_beyond);
  exit_timeline_.Merge(part.exit_timeline_, reason);
  if (filter_.latency) latency_.MergePart(part.latency_, reason);

  // Userspace exit series are numbered in order of first appearance too.
  std::vector<uint32_t> series(part.userspace_series_.size());
  for (size_t s = 0; s < series.size(); ++s) {
    const std::string& name = part.userspace_series_[s];
    auto [it, added] = userspace_series_ids_.try_emplace(name, static_cast<uint32_t>(userspace_series_.size()));
    if (added) userspace_series_.push_back(name);
    series[s] = it->second;
  }
  userspace_timeline_.Merge(part.userspace_timeline_, series);

  AddCounts(pio_, part.pio_);
  AddCounts(pio_by_thread_, part.pio_by_thread_);
  AddCounts(pio_from_exits_, part.pio_from_exits_);
  AddCounts(mmio_, part.mmio_);
  mmio_type_names_.insert(part.mmio_type_names_.begin(), part.mmio_type_names_.end());
  AddCounts(msr_, part.msr_);
  AddCounts(uexits_, part.uexits_);
  AddCounts(injected_, part.injected_);
  AddCounts(uexits_by_thread_, part.uexits_by_thread_);

  if (is_part_) {
    thread_events_.insert(thread_events_.end(), std::make_move_iterator(part.thread_events_.begin()),
                          std::make_move_iterator(part.thread_events_.end()));
  } else {
    for (const auto& t : part.thread_events_) threads_.own().Apply(t);
  }
}

}  // namespace exitprof::analysis
