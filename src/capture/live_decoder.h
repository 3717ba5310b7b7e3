// Decodes raw records from the rings as they are drained and hands them to an analysis, the
// same EventSink interface the file reader feeds: live views share the offline analyses.
#pragma once

#include <span>

#include "recording/event_sink.h"
#include "perfdata/sample_parser.h"
#include "recording/session_info.h"

namespace exitprof::capture {

class LiveDecoder {
 public:
  explicit LiveDecoder(const recording::SessionInfo& header) : header_(header) { parser_.SetAttrs(header_.attrs); }
  void Feed(std::span<const uint8_t> record, recording::EventSink& sink, recording::ReadStats& stats) const;

 private:
  const recording::SessionInfo& header_;
  perfdata::SampleParser parser_;
};

}  // namespace exitprof::capture
