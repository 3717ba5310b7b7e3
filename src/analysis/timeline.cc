#include "analysis/timeline.h"

namespace exitprof::analysis {

void Timeline::Add(uint64_t time_ns, uint32_t series) {
  auto& counts = buckets_[time_ns / bucket_ns_];
  if (counts.size() <= series) counts.resize(series + 1, 0);
  ++counts[series];
  while (automatic_ && buckets_.size() > max_buckets_) Widen();
}

void Timeline::Merge(const Timeline& other, const std::vector<uint32_t>& series_map) {
  // Automatic widths are powers of two of 1 ms, and the final width is the narrowest that
  // holds every time seen in max_buckets: bring both to the wider one, add, widen as needed.
  while (bucket_ns_ < other.bucket_ns_) Widen();
  uint64_t shift = 0;
  while ((other.bucket_ns_ << shift) < bucket_ns_) ++shift;
  for (const auto& [index, counts] : other.buckets_) {
    auto& into = buckets_[index >> shift];
    for (size_t s = 0; s < counts.size(); ++s) {
      if (!counts[s]) continue;
      const uint32_t to = s < series_map.size() ? series_map[s] : static_cast<uint32_t>(s);
      if (into.size() <= to) into.resize(to + 1, 0);
      into[to] += counts[s];
    }
  }
  while (automatic_ && buckets_.size() > max_buckets_) Widen();
}

void Timeline::Widen() {
  std::map<uint64_t, std::vector<uint64_t>> wider;
  for (auto& [index, counts] : buckets_) {
    auto& into = wider[index / 2];
    if (into.size() < counts.size()) into.resize(counts.size(), 0);
    for (size_t s = 0; s < counts.size(); ++s) into[s] += counts[s];
  }
  buckets_.swap(wider);
  bucket_ns_ *= 2;
}

Timeline::Dense Timeline::Build(size_t columns) const {
  Dense d;
  if (buckets_.empty()) return d;
  const uint64_t first = buckets_.begin()->first, last = buckets_.rbegin()->first;
  uint64_t n = last - first + 1, merge = 1;
  if (columns && n > columns) merge = (n + columns - 1) / columns;
  d.bucket_ns = bucket_ns_ * merge;
  d.first_bucket_ns = first * bucket_ns_;
  size_t width = static_cast<size_t>((n + merge - 1) / merge);
  size_t series = 0;
  for (const auto& [index, counts] : buckets_) series = std::max(series, counts.size());
  d.counts.assign(series, std::vector<uint64_t>(width, 0));
  for (const auto& [index, counts] : buckets_) {
    size_t column = static_cast<size_t>((index - first) / merge);
    for (size_t s = 0; s < counts.size(); ++s) d.counts[s][column] += counts[s];
  }
  return d;
}

}  // namespace exitprof::analysis
