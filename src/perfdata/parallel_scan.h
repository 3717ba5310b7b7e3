// Reads a file-mode data section on several threads for sinks that can be split
// (EventSink::NewPart). The section is cut into chunks at record boundaries; each chunk is
// decoded on one thread into its own part of the sink, and the parts are merged in file order,
// so the result is what one sequential pass gives. A record boundary cannot be told from the
// bytes alone: a cut is placed where a chain of plausible record headers starts, and the chunk
// before must then end exactly on it. Anything unexpected (a cut not met, damage, records that
// change the session such as FEATURE or COMPRESSED) makes the scan give up before it has
// delivered anything, and the caller reads the file sequentially, with its errors.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "base/mapped_file.h"
#include "perfdata/event_attr.h"
#include "perfdata/reader.h"

namespace exitprof::perfdata {

struct ScanPlan {
  const MappedFile* file = nullptr;
  uint64_t data_offset = 0, data_size = 0;  // the data section, as the header gives it
  const std::vector<EventAttr>* attrs = nullptr;
  unsigned threads = 2;
  // Time order (--latency): chunks are whole rounds (FINISHED_ROUND to FINISHED_ROUND), read
  // in time order each, of a size that does not depend on the threads (1 thread reads the same
  // chunks), so the output does not either.
  bool ordered = false;
  uint64_t chunk_bytes = 0;  // 0 = chosen from the data size (and the threads, unordered)
  std::function<void(uint64_t, uint64_t)> progress;  // bytes merged, bytes in the section
};

// True when the whole data section went into `sink` (already OnSessionReady) and `stats`;
// false, with neither touched, when it must be read sequentially instead.
bool ScanInParallel(const ScanPlan& plan, recording::EventSink& sink, const std::vector<bool>& count_only, recording::ReadStats& stats);

// Where the first chain of plausible record headers at or after `from` starts (8-byte steps
// from the section start, searched up to `limit` bytes on), or UINT64_MAX. Exposed for tests.
uint64_t FindRecordBoundary(std::span<const uint8_t> data, uint64_t from, uint64_t limit);

}  // namespace exitprof::perfdata
