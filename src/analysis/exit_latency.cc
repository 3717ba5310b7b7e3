#include "analysis/exit_latency.h"

#include <algorithm>

namespace exitprof::analysis {

void ExitLatency::OnExit(uint32_t tid, uint64_t time, uint32_t reason_id) {
  auto it = threads_.find(tid);
  if (it == threads_.end()) {
    if (part_) {  // what came before this stretch decides
      Prefix& p = PrefixOf(tid);
      ++p.exits;
      p.last_reason = reason_id;
      p.last_time = time;
      return;
    }
    ++untracked_exits_;
    return;
  }
  if (it->second.pending) ++unpaired_exits_;
  it->second = {true, reason_id, time};
}

void ExitLatency::OnEntry(uint32_t tid, uint64_t time) {
  if (part_ && !threads_.count(tid)) {
    // The thread's first entry in this stretch: it pairs (or not) at the merge.
    Prefix& p = PrefixOf(tid);
    p.entry = true;
    p.entry_time = time;
    threads_.try_emplace(tid);
    return;
  }
  auto [it, inserted] = threads_.try_emplace(tid);
  ThreadState& t = it->second;
  if (!t.pending) {
    ++entries_without_exit_;
    return;
  }
  t.pending = false;
  durations_.Add(t.reason, time >= t.start ? time - t.start : 0);
}

ExitLatency::Prefix& ExitLatency::PrefixOf(uint32_t tid) {
  auto [it, added] = prefix_index_.try_emplace(tid, prefixes_.size());
  if (added) prefixes_.push_back(Prefix{tid});
  return prefixes_[it->second];
}

void ExitLatency::Resolve(const Prefix& p, uint32_t reason_of_last) {
  auto it = threads_.find(p.tid);
  if (it == threads_.end()) {
    if (part_) {  // still nothing known of this thread here: the prefixes add up
      Prefix& mine = PrefixOf(p.tid);
      if (p.exits) {
        mine.exits += p.exits;
        mine.last_reason = reason_of_last;
        mine.last_time = p.last_time;
      }
      mine.entry = p.entry;
      mine.entry_time = p.entry_time;
      return;
    }
    // Not tracked (no entry yet): its exits are not counted, and the entry finds nothing pending.
    untracked_exits_ += p.exits;
    if (p.entry) ++entries_without_exit_;
    return;
  }
  ThreadState& t = it->second;
  if (p.exits) {
    unpaired_exits_ += (t.pending ? 1 : 0) + (p.exits - 1);
    t = {true, reason_of_last, p.last_time};
  }
  if (p.entry) {
    if (t.pending) durations_.Add(t.reason, p.entry_time >= t.start ? p.entry_time - t.start : 0);
    else ++entries_without_exit_;
    t.pending = false;
  }
}

void ExitLatency::MergePart(const ExitLatency& part, const std::vector<uint32_t>& reason_map) {
  auto map = [&](uint32_t id) { return id < reason_map.size() ? reason_map[id] : id; };
  // 1. The part's threads before their first entry, against what is known here.
  for (const Prefix& p : part.prefixes_) Resolve(p, map(p.last_reason));
  // 2. Its threads' states after it (known for every thread it saw an entry of).
  for (const auto& [tid, state] : part.threads_) threads_[tid] = {state.pending, map(state.reason), state.start};
  // 3. What it paired and counted by itself.
  unpaired_exits_ += part.unpaired_exits_;
  entries_without_exit_ += part.entries_without_exit_;
  untracked_exits_ += part.untracked_exits_;
  durations_.Merge(part.durations_, reason_map);
}

void ExitLatency::AddSummary(uint32_t reason_id, const LatencySummary& summary) {
  summarized_[reason_id] = summary;
}

LatencySummary ExitLatency::Summarize(uint32_t reason_id) const {
  auto it = summarized_.find(reason_id);
  return it != summarized_.end() ? it->second : durations_.Summarize(reason_id);
}

size_t ExitLatency::reason_slots() const {
  const size_t summarized = summarized_.empty() ? 0 : summarized_.rbegin()->first + 1;
  return std::max(durations_.key_slots(), summarized);
}

}  // namespace exitprof::analysis
