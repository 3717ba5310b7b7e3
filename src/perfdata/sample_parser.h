// Decodes PERF_RECORD_SAMPLE bodies and the sample_id trailers of other records, following
// the layout that each attr's sample_type and read_format imply.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "perfdata/event.h"
#include "perfdata/event_attr.h"

namespace exitprof::perfdata {

class SampleParser {
 public:
  void SetAttrs(const std::vector<EventAttr>& attrs);

  // Which attr a record belongs to; -1 if its id is unknown. Cheap: used to find the time.
  int AttrIndexForSample(std::span<const uint8_t> record) const;
  int AttrIndexForOther(std::span<const uint8_t> record) const;

  // Fills e's sample fields from a SAMPLE record. False if the body is shorter than its layout.
  bool ParseSample(std::span<const uint8_t> record, Event& e) const;
  // The same, for a record whose attr index is already known (>= 0).
  bool ParseSampleAs(int attr_index, std::span<const uint8_t> record, Event& e) const;
  // Only the pid and time of a sample (fixed places): for samples that are just counted.
  bool PidAndTime(int attr_index, std::span<const uint8_t> record, uint32_t& pid, uint64_t& time) const;
  // Fills e's sample_id fields from the trailer of a non-sample kernel record.
  bool ParseTrailer(std::span<const uint8_t> record, Event& e) const;

  // The timestamp the record is ordered by, or false if it has none.
  bool Time(std::span<const uint8_t> record, uint64_t& time) const;

 private:
  int IndexOfId(uint64_t id) const;
  // Where each attr's fixed u64 sample fields sit (in words after the header), -1 = absent.
  struct Layout {
    uint32_t fixed_end = 0;  // bytes from the record start past the last fixed field
    int8_t ip = -1, tid = -1, time = -1, addr = -1, id = -1, stream = -1, cpu = -1, period = -1;
    bool raw_next = false;  // RAW follows the fixed fields directly (tracepoint samples)
  };
  std::vector<Layout> layouts_;
  const std::vector<EventAttr>* attrs_ = nullptr;
  std::vector<std::pair<uint64_t, int>> id_to_attr_;  // sorted by id
  // Ids repeat (one per CPU and event): a direct-mapped cache saves the binary search.
  struct CachedId {
    uint64_t id = ~0ULL;
    int index = -1;
  };
  mutable CachedId cache_[256];
  int sample_id_pos_ = -1;  // u64 index of the id in a sample body, -1 = no ids
  int other_id_pos_ = -1;   // u64 index of the id counted from a record's end
  bool all_same_layout_ = true;
};

}  // namespace exitprof::perfdata
