// Durations per key (an exit reason, a port, an MMIO address): count, total, min, max, mean,
// stddev, exact nearest-rank percentiles from the stored values up to a memory cap shared by
// all keys (past it, from a log-linear histogram, and said so), and a log2 histogram.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace exitprof::analysis {

struct LatencySummary {
  uint64_t count = 0, total_ns = 0, min_ns = 0, max_ns = 0;
  double mean_ns = 0, stddev_ns = 0;
  uint64_t p50_ns = 0, p90_ns = 0, p99_ns = 0, p999_ns = 0;
  bool exact = true;
  std::array<uint64_t, 64> log2_histogram{};  // bucket k: durations in [2^k, 2^(k+1)) ns

  // The spread perf kvm stat prints as "( +- x% )": the relative standard error of the mean,
  // stddev / sqrt(n) / mean, in percent.
  double rel_stderr_percent() const;
};

class DurationStats {
 public:
  // Values stored for exact percentiles, over all keys (4 bytes each).
  explicit DurationStats(size_t max_stored_values) : max_stored_(max_stored_values) {}

  void Add(uint32_t key, uint64_t duration_ns);
  // Adds another object's durations (a part of a parallel read), its keys renumbered by
  // key_map (an id past its end keeps its number).
  void Merge(const DurationStats& from, const std::vector<uint32_t>& key_map);
  LatencySummary Summarize(uint32_t key) const;
  size_t key_slots() const { return keys_.size(); }

 private:
  struct KeyStats {
    uint64_t count = 0, total = 0, min = UINT64_MAX, max = 0;
    double sum_sq = 0;
    std::vector<uint32_t> values;  // durations, while under the cap
    bool capped = false;
    std::array<uint64_t, 64> log2{};
    std::vector<uint64_t> fine;  // log-linear buckets for percentiles past the cap
  };
  static void AddKey(KeyStats& into, const KeyStats& from, size_t& stored);
  size_t max_stored_;
  size_t stored_ = 0;
  std::vector<KeyStats> keys_;
};

}  // namespace exitprof::analysis
