// What report and script read from: a recording that describes itself (SessionInfo) and hands
// its events to a sink in time order. perf.data (perfdata::Reader) and trace-cmd's trace.dat
// (tracedat::Reader) both implement it, so the analyses never know which file they read.
#pragma once

#include <cstdint>
#include <functional>

#include "base/result.h"
#include "recording/session_info.h"

namespace exitprof::recording {

class EventSink;
struct ReadStats;

class RecordingSource {
 public:
  virtual ~RecordingSource() = default;
  virtual const SessionInfo& info() const = 0;
  // Reads all events into the sink; fails at the first fatal damage.
  virtual Result<ReadStats> Run(EventSink& sink) = 0;
  // Progress callback for long reads: bytes done, bytes total (0 = unknown). Optional.
  virtual void SetProgress(std::function<void(uint64_t, uint64_t)> progress) = 0;
  // Counting analyses may take events in file order when that is cheaper.
  virtual void SetOrdered(bool ordered) = 0;
  // Threads the read may use (1 = the calling thread only), for sources that can split their
  // input; chunk_bytes 0 = their choice. Output never depends on it.
  virtual void SetThreads(unsigned threads, uint64_t chunk_bytes = 0) {}
};

}  // namespace exitprof::recording
