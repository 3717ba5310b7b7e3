#include "analysis/duration_stats.h"

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

double LatencySummary::rel_stderr_percent() const {
  if (count < 2 || mean_ns <= 0) return 0;
  return 100.0 * stddev_ns / std::sqrt(static_cast<double>(count)) / mean_ns;
}

void DurationStats::Add(uint32_t key, uint64_t d) {
  if (key >= keys_.size()) keys_.resize(key + 1);
  KeyStats& s = keys_[key];
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

void DurationStats::AddKey(KeyStats& into, const KeyStats& from, size_t& stored) {
  into.count += from.count;
  into.total += from.total;
  into.min = std::min(into.min, from.min);
  into.max = std::max(into.max, from.max);
  into.sum_sq += from.sum_sq;
  for (size_t k = 0; k < into.log2.size(); ++k) into.log2[k] += from.log2[k];
  if (into.fine.size() < from.fine.size()) into.fine.resize(from.fine.size(), 0);
  for (size_t k = 0; k < from.fine.size(); ++k) into.fine[k] += from.fine[k];
  if (into.capped || from.capped) {
    if (!into.capped) stored -= into.values.size();
    into.capped = true;
    std::vector<uint32_t>().swap(into.values);
    return;
  }
  into.values.insert(into.values.end(), from.values.begin(), from.values.end());
  stored += from.values.size();
}

void DurationStats::Merge(const DurationStats& from, const std::vector<uint32_t>& key_map) {
  for (uint32_t id = 0; id < from.keys_.size(); ++id) {
    if (from.keys_[id].count == 0) continue;
    const uint32_t to = id < key_map.size() ? key_map[id] : id;
    if (to >= keys_.size()) keys_.resize(to + 1);
    AddKey(keys_[to], from.keys_[id], stored_);
  }
  // Exact percentiles while the stored durations fit: past the cap, the keys with the most
  // stored values go to the fine histogram first (a rule that does not depend on the threads).
  while (stored_ > max_stored_) {
    KeyStats* biggest = nullptr;
    for (auto& k : keys_) {
      if (!k.capped && (!biggest || k.values.size() > biggest->values.size())) biggest = &k;
    }
    if (!biggest) break;
    stored_ -= biggest->values.size();
    biggest->capped = true;
    std::vector<uint32_t>().swap(biggest->values);
  }
}

LatencySummary DurationStats::Summarize(uint32_t key) const {
  LatencySummary out;
  if (key >= keys_.size() || keys_[key].count == 0) return out;
  const KeyStats& s = keys_[key];
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
