#include "analysis/exit_latency.h"

namespace exitprof::analysis {

void ExitLatency::OnExit(uint32_t tid, uint64_t time, uint32_t reason_id) {
  auto it = threads_.find(tid);
  if (it == threads_.end()) {
    ++untracked_exits_;
    return;
  }
  if (it->second.pending) ++unpaired_exits_;
  it->second = {true, reason_id, time};
}

void ExitLatency::OnEntry(uint32_t tid, uint64_t time) {
  auto [it, inserted] = threads_.try_emplace(tid);
  ThreadState& t = it->second;
  if (!t.pending) {
    ++entries_without_exit_;
    return;
  }
  t.pending = false;
  durations_.Add(t.reason, time >= t.start ? time - t.start : 0);
}

LatencySummary ExitLatency::Summarize(uint32_t reason_id) const { return durations_.Summarize(reason_id); }

}  // namespace exitprof::analysis
