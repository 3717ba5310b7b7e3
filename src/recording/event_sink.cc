#include "recording/event_sink.h"

namespace exitprof::recording {

uint64_t ReadStats::samples() const {
  uint64_t n = 0;
  for (uint64_t v : samples_by_attr) n += v;
  return n;
}

void ReadStats::Merge(const ReadStats& later) {
  records += later.records;
  for (size_t i = 0; i < records_by_type.size(); ++i) records_by_type[i] += later.records_by_type[i];
  if (samples_by_attr.size() < later.samples_by_attr.size()) samples_by_attr.resize(later.samples_by_attr.size(), 0);
  for (size_t i = 0; i < later.samples_by_attr.size(); ++i) samples_by_attr[i] += later.samples_by_attr[i];
  lost_events += later.lost_events;
  lost_samples += later.lost_samples;
  damaged_records += later.damaged_records;
  unknown_sample_ids += later.unknown_sample_ids;
  out_of_order += later.out_of_order;
  compressed_records += later.compressed_records;
  decompressed_bytes += later.decompressed_bytes;
  // As one pass computes it: a sample at time 0 restarts the search for the first time.
  if (later.zero_time_seen) {
    first_sample_time = later.first_sample_time;
    zero_time_seen = true;
  } else if (later.first_sample_time != 0 && (first_sample_time == 0 || later.first_sample_time < first_sample_time)) {
    first_sample_time = later.first_sample_time;
  }
  last_sample_time = std::max(last_sample_time, later.last_sample_time);
}

}  // namespace exitprof::recording
