// Turns one raw kernel record into an Event: sample fields through the SampleParser, and the
// bodies of COMM, FORK, EXIT, LOST and LOST_SAMPLES. Shared by the file reader and live capture.
#pragma once

#include <span>

#include "perfdata/event.h"
#include "perfdata/sample_parser.h"

namespace exitprof::perfdata {

enum class DecodeResult { kOk, kUnknownId, kDamaged };

// `e` keeps its file_offset; everything else is filled from the record.
DecodeResult DecodeRecord(const SampleParser& parser, std::span<const uint8_t> record, Event& e);

}  // namespace exitprof::perfdata
