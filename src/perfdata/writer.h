// Writes perf.data recordings (file mode or pipe mode) that real `perf script` and
// `perf report` read: used by tests to make fixtures and by live recording.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "recording/session_info.h"

namespace exitprof::perfdata {

// Fields of one sample; which are written is decided by the attr's sample_type.
struct SampleFields {
  uint64_t ip = 0;
  uint32_t pid = 0, tid = 0;
  uint64_t time = 0;
  uint32_t cpu = 0;
  uint64_t period = 1;
  std::span<const uint64_t> callchain;
  std::span<const uint8_t> raw;
};

class Writer {
 public:
  // `header` supplies attrs (with ids and names), tracing data and the descriptive features.
  static Result<Writer> Create(const std::string& path, const recording::SessionInfo& header, bool pipe_mode);
  // Writes to an fd we do not own (e.g. stdout); pipe mode only.
  static Result<Writer> CreateOnFd(int fd, const recording::SessionInfo& header);

  Writer(Writer&&) = default;
  Writer& operator=(Writer&&) = default;

  Result<void> WriteSample(size_t attr_index, const SampleFields& sample);
  // The thread whose ids a record's sample_id trailer carries: the kernel writes the thread that
  // was running, which for a KVM worker's COMM is the VMM thread that named it.
  struct Reporter {
    uint32_t pid = 0, tid = 0;
  };
  // Without a reporter, the trailer carries the record's own ids (as for a thread naming itself).
  Result<void> WriteComm(uint32_t pid, uint32_t tid, const std::string& comm, uint64_t time,
                         bool exec = false, std::optional<Reporter> reporter = std::nullopt);
  Result<void> WriteFork(uint32_t pid, uint32_t ppid, uint32_t tid, uint32_t ptid, uint64_t time,
                         std::optional<Reporter> reporter = std::nullopt);
  Result<void> WriteLost(uint64_t id, uint64_t lost, uint64_t time);
  // An MMAP record; perf synthesizes one for the kernel ("[kernel.kallsyms]_text", pid -1,
  // misc KERNEL) so that reports can place kernel addresses.
  Result<void> WriteMmap(uint32_t pid, uint32_t tid, uint64_t start, uint64_t len, uint64_t pgoff,
                         const std::string& filename, uint16_t misc, uint64_t time);
  Result<void> WriteFinishedRound();
  Result<void> WriteRaw(std::span<const uint8_t> record);
  // Finishes the file: feature sections and the final header (file mode). Idempotent.
  Result<void> Finish();

  uint64_t bytes_written() const { return offset_; }

 private:
  Writer() = default;
  Result<void> Append(std::span<const uint8_t> bytes);
  Result<void> Flush();
  Result<void> WriteHeaderPlaceholder();
  Result<void> WritePipePreamble();
  void AppendSampleId(std::vector<uint8_t>& rec, uint32_t pid, uint32_t tid, uint64_t time,
                      uint32_t cpu) const;

  UniqueFd owned_;
  int fd_ = -1;
  std::string path_;
  bool pipe_ = false;
  bool finished_ = false;
  recording::SessionInfo header_;
  uint64_t offset_ = 0;
  uint64_t data_offset_ = 0;
  uint64_t attrs_offset_ = 0;
  std::vector<uint8_t> buffer_;
};

// Serialises feature sections as perf does (used by the writer; exposed for tests).
std::vector<uint8_t> EncodeFeature(uint32_t feature, const recording::SessionInfo& info);
std::vector<uint32_t> FeaturesToWrite(const recording::SessionInfo& info);

}  // namespace exitprof::perfdata
