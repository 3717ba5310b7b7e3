// Hands kernel records to a sink: decoded into an Event, or, for samples the sink only
// counts, just their pid and time; and counts what ReadStats counts on the way. One per
// reading thread: the sequential reader has one, each worker of a parallel read its own.
#pragma once

#include <cstdint>
#include <vector>

#include "perfdata/event.h"
#include "perfdata/reader.h"
#include "perfdata/sample_parser.h"

namespace exitprof::perfdata {

class RecordDelivery {
 public:
  // All three must outlive this object; count_only is indexed by attr (see CountOnlyAttrs).
  RecordDelivery(const SampleParser& parser, recording::EventSink& sink, recording::ReadStats& stats, const std::vector<bool>& count_only)
      : parser_(parser), sink_(sink), stats_(stats), count_only_(count_only) {}

  // `data` holds one whole record of `size` bytes; file_offset is where it starts.
  void Deliver(const uint8_t* data, uint32_t size, uint64_t file_offset);

 private:
  void CountSample(int attr_index, bool has_time, uint64_t time);

  const SampleParser& parser_;
  recording::EventSink& sink_;
  recording::ReadStats& stats_;
  const std::vector<bool>& count_only_;
  Event event_;  // reused for every record
};

}  // namespace exitprof::perfdata
