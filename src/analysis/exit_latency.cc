#include "analysis/exit_latency.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace exitprof::analysis {

namespace {

constexpr int kSubBuckets = 64;  // log-linear: 64 steps per power of two, under 1.6% error

size_t FineBucket(uint64_t v) {
  if (v < kSubBuckets) return static_cast<size_t>(v);
  int exp = 63 - std::countl_zero(v);
  int shift = exp - 6;
  return static_cast<size_t>((shift + 1) * kSubBuckets + ((v >> shift) - kSubBuckets));
}

uint64_t FineBucketValue(size_t bucket) {
  if (bucket < kSubBuckets) return bucket;
  size_t shift = bucket / kSubBuckets - 1;
  uint64_t mantissa = bucket % kSubBuckets + kSubBuckets;
  return mantissa << shift;
}

// Nearest rank: the smallest value with at least p% of the values at or below it.
size_t Rank(double p, uint64_t n) {
  size_t r = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(n)));
  return r == 0 ? 0 : r - 1;
}

}  // namespace

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
  Add(t.reason, time >= t.start ? time - t.start : 0);
}

void ExitLatency::Add(uint32_t reason, uint64_t d) {
  if (reason >= reasons_.size()) reasons_.resize(reason + 1);
  ReasonStats& s = reasons_[reason];
  ++s.count;
  s.total += d;
  s.min = std::min(s.min, d);
  s.max = std::max(s.max, d);
  s.sum_sq += static_cast<double>(d) * static_cast<double>(d);
  ++s.log2[d == 0 ? 0 : 63 - std::countl_zero(d)];
  size_t fine = FineBucket(d);
  if (s.fine.size() <= fine) s.fine.resize(fine + 1, 0);
  ++s.fine[fine];
  if (!s.capped && stored_ < max_stored_ && d <= UINT32_MAX) {
    s.values.push_back(static_cast<uint32_t>(d));
    ++stored_;
  } else if (!s.capped) {
    s.capped = true;  // from here on this reason's percentiles come from the fine histogram
    stored_ -= s.values.size();
    std::vector<uint32_t>().swap(s.values);
  }
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
    if (t.pending) Add(t.reason, p.entry_time >= t.start ? p.entry_time - t.start : 0);
    else ++entries_without_exit_;
    t.pending = false;
  }
}

void ExitLatency::AddStats(ReasonStats& into, const ReasonStats& from) {
  into.count += from.count;
  into.total += from.total;
  into.min = std::min(into.min, from.min);
  into.max = std::max(into.max, from.max);
  into.sum_sq += from.sum_sq;
  for (size_t k = 0; k < into.log2.size(); ++k) into.log2[k] += from.log2[k];
  if (into.fine.size() < from.fine.size()) into.fine.resize(from.fine.size(), 0);
  for (size_t k = 0; k < from.fine.size(); ++k) into.fine[k] += from.fine[k];
  if (into.capped || from.capped) {
    if (!into.capped) stored_ -= into.values.size();
    into.capped = true;
    std::vector<uint32_t>().swap(into.values);
    return;
  }
  into.values.insert(into.values.end(), from.values.begin(), from.values.end());
  stored_ += from.values.size();
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
  for (uint32_t id = 0; id < part.reasons_.size(); ++id) {
    if (part.reasons_[id].count == 0) continue;
    const uint32_t to = map(id);
    if (to >= reasons_.size()) reasons_.resize(to + 1);
    AddStats(reasons_[to], part.reasons_[id]);
  }
  // Exact percentiles while the stored durations fit: past the cap, the reasons with the most
  // stored values go to the fine histogram first (a rule that does not depend on the threads).
  while (stored_ > max_stored_) {
    ReasonStats* biggest = nullptr;
    for (auto& r : reasons_) {
      if (!r.capped && (!biggest || r.values.size() > biggest->values.size())) biggest = &r;
    }
    if (!biggest) break;
    stored_ -= biggest->values.size();
    biggest->capped = true;
    std::vector<uint32_t>().swap(biggest->values);
  }
}

LatencySummary ExitLatency::Summarize(uint32_t reason_id) const {
  LatencySummary out;
  if (reason_id >= reasons_.size() || reasons_[reason_id].count == 0) return out;
  const ReasonStats& s = reasons_[reason_id];
  out.count = s.count;
  out.total_ns = s.total;
  out.min_ns = s.min;
  out.max_ns = s.max;
  out.mean_ns = static_cast<double>(s.total) / static_cast<double>(s.count);
  double var = s.count > 1 ? (s.sum_sq - static_cast<double>(s.count) * out.mean_ns * out.mean_ns) / static_cast<double>(s.count - 1) : 0;
  out.stddev_ns = var > 0 ? std::sqrt(var) : 0;
  out.log2_histogram = s.log2;
  out.exact = !s.capped;
  const double ps[] = {50, 90, 99, 99.9};
  uint64_t* dst[] = {&out.p50_ns, &out.p90_ns, &out.p99_ns, &out.p999_ns};
  if (!s.capped) {
    std::vector<uint32_t> sorted = s.values;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 4; ++i) *dst[i] = sorted[Rank(ps[i], sorted.size())];
  } else {
    for (int i = 0; i < 4; ++i) {
      size_t want = Rank(ps[i], s.count), seen = 0;
      for (size_t b = 0; b < s.fine.size(); ++b) {
        seen += s.fine[b];
        if (seen > want) {
          *dst[i] = std::clamp(FineBucketValue(b), s.min, s.max);
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace exitprof::analysis
