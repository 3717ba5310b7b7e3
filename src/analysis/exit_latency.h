// What exits cost: each kvm_exit is paired with the next kvm_entry of the same thread, as
// `perf kvm stat` pairs them (a thread counts only from its first kvm_entry). Per reason:
// the durations' statistics (duration_stats.h). Needs records in time order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "analysis/duration_stats.h"

namespace exitprof::analysis {

class ExitLatency {
 public:
  // Values stored for exact percentiles, over all reasons (4 bytes each).
  explicit ExitLatency(size_t max_stored_values = 4u << 20) : durations_(max_stored_values) {}

  void OnExit(uint32_t tid, uint64_t time, uint32_t reason_id);
  void OnEntry(uint32_t tid, uint64_t time);

  LatencySummary Summarize(uint32_t reason_id) const;
  size_t reason_slots() const { return durations_.key_slots(); }
  uint64_t unpaired_exits() const { return unpaired_exits_; }      // an exit followed by another exit
  uint64_t entries_without_exit() const { return entries_without_exit_; }
  uint64_t exits_before_first_entry() const { return untracked_exits_; }

 private:
  struct ThreadState {
    bool pending = false;
    uint32_t reason = 0;
    uint64_t start = 0;
  };
  DurationStats durations_;
  std::unordered_map<uint32_t, ThreadState> threads_;
  uint64_t unpaired_exits_ = 0, entries_without_exit_ = 0, untracked_exits_ = 0;
};

}  // namespace exitprof::analysis
