// What exits cost: each kvm_exit is paired with the next kvm_entry of the same thread, as
// `perf kvm stat` pairs them (a thread counts only from its first kvm_entry). Per reason:
// the durations' statistics (duration_stats.h). Needs records in time order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include "analysis/duration_stats.h"

namespace exitprof::analysis {

class ExitLatency {
 public:
  // Values stored for exact percentiles, over all reasons (4 bytes each).
  explicit ExitLatency(size_t max_stored_values = 4u << 20) : durations_(max_stored_values) {}

  void OnExit(uint32_t tid, uint64_t time, uint32_t reason_id);
  void OnEntry(uint32_t tid, uint64_t time);

  // Parallel reads: a part pairs one stretch of a recording (in time order within it) without
  // knowing what came before. Until a thread's first kvm_entry in the stretch, its events are
  // kept as a prefix (how many exits, the last one, the entry), which MergePart resolves
  // against the state the earlier stretches left. Parts merge in file order; reason ids of the
  // part are renumbered through reason_map.
  void MakePart() { part_ = true; }
  void MergePart(const ExitLatency& part, const std::vector<uint32_t>& reason_map);

  // Durations summarized elsewhere (BPF log2 histograms): Summarize returns them as given.
  void AddSummary(uint32_t reason_id, const LatencySummary& summary);

  LatencySummary Summarize(uint32_t reason_id) const;
  size_t reason_slots() const;
  uint64_t unpaired_exits() const { return unpaired_exits_; }      // an exit followed by another exit
  uint64_t entries_without_exit() const { return entries_without_exit_; }
  uint64_t exits_before_first_entry() const { return untracked_exits_; }

 private:
  struct ThreadState {
    bool pending = false;
    uint32_t reason = 0;
    uint64_t start = 0;
  };
  // A part's events of one thread before its first kvm_entry in the part.
  struct Prefix {
    uint32_t tid = 0;
    uint64_t exits = 0;
    uint32_t last_reason = 0;
    uint64_t last_time = 0;
    bool entry = false;
    uint64_t entry_time = 0;
  };
  Prefix& PrefixOf(uint32_t tid);
  // Applies a later part's prefix to this object's state of the thread.
  void Resolve(const Prefix& p, uint32_t reason_of_last);

  bool part_ = false;
  std::vector<Prefix> prefixes_;                      // in order of first appearance
  std::unordered_map<uint32_t, size_t> prefix_index_;  // tid -> index into prefixes_
  DurationStats durations_;
  std::map<uint32_t, LatencySummary> summarized_;
  std::unordered_map<uint32_t, ThreadState> threads_;
  uint64_t unpaired_exits_ = 0, entries_without_exit_ = 0, untracked_exits_ = 0;
};

}  // namespace exitprof::analysis
