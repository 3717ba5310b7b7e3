// Reads a perf.data recording (file mode or pipe mode, from a file or a pipe) and hands its
// records to a sink in time order, decoded. Zero-copy over a file mapping; pipe input and
// zstd-compressed records go through an arena freed as records are delivered.
#pragma once

#include <array>
#include <functional>
#include <cstdint>
#include <span>
#include <memory>
#include <string>
#include <vector>

#include "base/mapped_file.h"
#include "base/result.h"
#include "base/unique_fd.h"
#include "perfdata/event.h"
#include "perfdata/session_info.h"
#include "perfdata/source.h"

namespace exitprof::perfdata {

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
  virtual void OnEvent(const Event& event) = 0;
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
  // Several sinks over one read (perfdata::Session): their thread names come from the
  // session's one table, kept current before they see each record. Sinks that name threads
  // take it instead of their own; the table outlives the read.
  virtual void ShareThreads(const ThreadTable* threads) {}
};

class Reader : public RecordingSource {
 public:
  // Opens a file; "-" reads standard input (pipe mode only, as perf writes it with -o -).
  static Result<std::unique_ptr<Reader>> Open(const std::string& path);
  // Reads from an already open descriptor (pipe mode stream). `head`: its first 16 bytes when
  // the caller already read them (to tell formats apart); `owned` is closed with the reader.
  static Result<std::unique_ptr<Reader>> OpenStream(int fd, const std::string& name, std::span<const uint8_t> head = {},
                                                    UniqueFd owned = {});
  ~Reader() override;

  const SessionInfo& info() const override { return info_; }
  // Reads all records; stops at the first fatal damage (a bad record header).
  Result<ReadStats> Run(EventSink& sink) override;
  // Progress callback for long reads: bytes done, bytes total (0 = unknown). Optional.
  void SetProgress(std::function<void(uint64_t, uint64_t)> progress) override;
  // Analyses that do not depend on order (counting) can take records in file order: faster.
  void SetOrdered(bool ordered) override;
  // File-mode recordings read by sinks that can be split (EventSink::NewPart) use up to this
  // many threads, in chunks of about chunk_bytes (0 = chosen from the data size).
  void SetThreads(unsigned threads, uint64_t chunk_bytes = 0) override;

 private:
  class Impl;
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  SessionInfo& info_;
};

}  // namespace exitprof::perfdata
