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
#include "recording/session_info.h"
#include "recording/event_sink.h"
#include "recording/source.h"

namespace exitprof::perfdata {

class Reader : public recording::RecordingSource {
 public:
  // Opens a file; "-" reads standard input (pipe mode only, as perf writes it with -o -).
  static Result<std::unique_ptr<Reader>> Open(const std::string& path);
  // Reads from an already open descriptor (pipe mode stream). `head`: its first 16 bytes when
  // the caller already read them (to tell formats apart); `owned` is closed with the reader.
  static Result<std::unique_ptr<Reader>> OpenStream(int fd, const std::string& name, std::span<const uint8_t> head = {},
                                                    UniqueFd owned = {});
  ~Reader() override;

  const recording::SessionInfo& info() const override { return info_; }
  // Reads all records; stops at the first fatal damage (a bad record header).
  Result<recording::ReadStats> Run(recording::EventSink& sink) override;
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
  recording::SessionInfo& info_;
};

}  // namespace exitprof::perfdata
