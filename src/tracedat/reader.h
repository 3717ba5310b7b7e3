// Reads a trace-cmd trace.dat (v6, v7; zlib/zstd compressed or not) and presents it as a
// recording: one synthetic tracepoint attr per event format (config = event id), tracing data
// re-encoded from the file's formats, cmdlines as COMM events, and every ring-buffer event as a
// sample whose raw payload is the event (common_type first, as perf's RAW). Per-CPU streams of
// every buffer are merged in time order. Ring-buffer pages are decoded here, zero-copy over
// the mapping (uncompressed) or the inflated data, every read checked against its page.
#pragma once

#include <algorithm>
#include <memory>
#include <string>

#include "base/mapped_file.h"
#include "recording/event_sink.h"
#include "recording/source.h"
#include "tracedat/file.h"

namespace exitprof::tracedat {

struct ReadInfo {
  std::string clock;        // the top buffer's trace clock
  bool in_ticks = false;    // raw counter timestamps with no conversion known
  bool tsc2nsec = false;    // timestamps converted with the file's TSC2NSEC option
  uint64_t dropped_pages = 0;  // pages whose header claimed more data than a page holds
};

struct Stream;

class Reader : public recording::RecordingSource {
 public:
  static Result<std::unique_ptr<Reader>> Open(const std::string& path);
  // Over bytes the caller keeps alive (fuzzing, tests).
  static Result<std::unique_ptr<Reader>> FromBytes(std::span<const uint8_t> bytes, const std::string& name);
  ~Reader() override;

  const recording::SessionInfo& info() const override { return info_; }
  Result<recording::ReadStats> Run(recording::EventSink& sink) override;
  void SetProgress(std::function<void(uint64_t, uint64_t)> progress) override { progress_ = std::move(progress); }
  // Unordered, CPUs are read one after another (counting does not need the merge).
  void SetOrdered(bool ordered) override { ordered_ = ordered; }
  // Unordered reads by sinks that can be split take CPU streams on up to this many threads.
  void SetThreads(unsigned threads, uint64_t chunk_bytes = 0) override { threads_ = std::max(1u, threads); }

  const TraceDatFile& file() const { return file_; }
  const ReadInfo& read_info() const { return read_info_; }

 private:
  Reader() = default;
  Result<void> Init(std::span<const uint8_t> bytes, const std::string& name);
  Result<void> OpenStreams();
  // Positions a stream on its next event, loading pages as needed; false when drained.
  bool Advance(Stream& s, recording::ReadStats& stats);
  // Hands the stream's current event (and a LOST before it) to the sink.
  void DeliverCurrent(Stream& s, recording::EventSink& sink, recording::ReadStats& stats,
                      const std::vector<bool>& count_only, perfdata::Event& ev);
  // Every stream on its own part of the sink, merged in stream order: false = not possible.
  bool RunStreamsInParallel(recording::EventSink& sink, recording::ReadStats& stats, const std::vector<bool>& count_only);

  std::optional<MappedFile> mapping_;
  std::span<const uint8_t> bytes_;
  TraceDatFile file_;
  recording::SessionInfo info_;
  ReadInfo read_info_;
  std::vector<std::unique_ptr<Stream>> streams_;  // one per CPU per buffer
  uint64_t total_bytes_ = 0;
  std::vector<int> attr_by_id_;  // event id -> attr index (-1 = no format)
  uint32_t commit_size_ = 8;     // the kernel's long, from header_page
  bool ordered_ = true;
  unsigned threads_ = 1;
  std::function<void(uint64_t, uint64_t)> progress_;
};

}  // namespace exitprof::tracedat
