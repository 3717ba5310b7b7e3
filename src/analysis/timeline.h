// Exits per series (reason) per time bucket. Records may arrive out of order (report reads in
// file order), so buckets are keyed by absolute time; with an automatic width the buckets start
// at 1 ms and double whenever there would be more than max_buckets, so memory stays bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace exitprof::analysis {

class Timeline {
 public:
  // bucket_ns 0 = automatic.
  explicit Timeline(uint64_t bucket_ns = 0, size_t max_buckets = 512)
      : bucket_ns_(bucket_ns ? bucket_ns : 1000000), automatic_(bucket_ns == 0), max_buckets_(max_buckets) {}

  void Add(uint64_t time_ns, uint32_t series);
  // Adds another timeline of the same width setting (a part of a parallel read), its series
  // renumbered through series_map; the buckets come out as if every Add had been made here.
  void Merge(const Timeline& other, const std::vector<uint32_t>& series_map);
  uint64_t bucket_ns() const { return bucket_ns_; }
  // Dense rows: counts[series][i] for buckets from first_bucket_ns on, consecutive.
  struct Dense {
    uint64_t bucket_ns = 0, first_bucket_ns = 0;
    std::vector<std::vector<uint64_t>> counts;  // by series id
  };
  // At most `columns` buckets (merging neighbours), 0 = as recorded.
  Dense Build(size_t columns = 0) const;
  bool empty() const { return buckets_.empty(); }

 private:
  void Widen();
  uint64_t bucket_ns_;
  bool automatic_;
  size_t max_buckets_;
  std::map<uint64_t, std::vector<uint64_t>> buckets_;  // bucket index -> counts by series
};

}  // namespace exitprof::analysis
