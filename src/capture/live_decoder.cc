#include "capture/live_decoder.h"

#include "perfdata/abi.h"
#include "perfdata/record_decoder.h"

namespace exitprof::capture {

void LiveDecoder::Feed(std::span<const uint8_t> record, recording::EventSink& sink, recording::ReadStats& stats) const {
  perfdata::Event e;
  switch (perfdata::DecodeRecord(parser_, record, e)) {
    case perfdata::DecodeResult::kOk:
      if (e.type == perfdata::kRecordSample) {
        if (stats.samples_by_attr.size() < header_.attrs.size()) stats.samples_by_attr.resize(header_.attrs.size());
        ++stats.samples_by_attr[static_cast<size_t>(e.attr_index)];
      } else if (e.type == perfdata::kRecordLost) {
        stats.lost_events += e.lost;
      }
      sink.OnEvent(e);
      return;
    case perfdata::DecodeResult::kUnknownId:
      ++stats.unknown_sample_ids;
      return;
    case perfdata::DecodeResult::kDamaged:
      ++stats.damaged_records;
      return;
  }
}

}  // namespace exitprof::capture
