// The sink side of the seam: what every recording source (perf.data, trace.dat, text captures)
// hands its events to, and what a read counted. Sources decode into perf's record model
// (perfdata::Event), so the analyses never know which format they read.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/result.h"
#include "perfdata/event.h"
#include "recording/session_info.h"

namespace exitprof::recording {

struct ReadStats {
  uint64_t records = 0;
  std::array<uint64_t, 128> records_by_type{};
  std::vector<uint64_t> samples_by_attr;
  uint64_t lost_events = 0;    // sum of PERF_RECORD_LOST.lost
  uint64_t lost_samples = 0;   // sum of PERF_RECORD_LOST_SAMPLES.lost
  uint64_t damaged_records = 0;  // records whose body did not match their attr's layout
  uint64_t unknown_sample_ids = 0;
  uint64_t out_of_order = 0;   // records older than what was already delivered
  uint64_t compressed_records = 0;
  uint64_t decompressed_bytes = 0;
  uint64_t first_sample_time = 0, last_sample_time = 0;
  bool zero_time_seen = false;  // a sample at time 0 (first_sample_time restarts after one)
  uint64_t parallel_chunks = 0;  // chunks read on several threads (0: one sequential pass)
  uint64_t samples() const;
  // Adds the stats of a later stretch of the same recording (parallel reads), so that the sum
  // equals what one pass over both would have counted.
  void Merge(const ReadStats& later);
};

class ThreadTable;

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Called once the session's attrs and tracing data are known, before the first sample.
  virtual Result<void> OnSessionReady(const SessionInfo& info) = 0;
  virtual void OnEvent(const perfdata::Event& event) = 0;
  // Attrs whose samples the sink only counts (called after OnSessionReady). Their samples are
  // not decoded: OnSampleCounted gets what counting needs. Empty = decode every sample.
  virtual std::vector<bool> CountOnlyAttrs() const { return {}; }
  virtual void OnSampleCounted(int attr_index, uint32_t pid, uint64_t time) {}
  // Sinks that only count can be split, so that stretches of a file are read on several
  // threads: NewPart() (after OnSessionReady) makes an empty sink bound to the same session
  // that takes one stretch on one thread, and MergePart folds a finished part into this sink.
  // Parts are merged in file order; the result must equal one pass over the whole file.
  // nullptr (the default): this sink reads in one piece.
  virtual std::unique_ptr<EventSink> NewPart() const { return nullptr; }
  virtual void MergePart(EventSink& part) {}
  // Several sinks over one read (recording::Session): their thread names come from the
  // session's one table, kept current before they see each record. Sinks that name threads
  // take it instead of their own; the table outlives the read.
  virtual void ShareThreads(const ThreadTable* threads) {}
};

}  // namespace exitprof::recording
