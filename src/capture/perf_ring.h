// One perf_event_open fd, and (for the first event of a CPU or thread) its mmap'd ring buffer.
// Move-only; closes and unmaps exactly once.
#pragma once

#include <linux/perf_event.h>

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace exitprof::capture {

class PerfEventFd {
 public:
  static Result<PerfEventFd> Open(perf_event_attr& attr, pid_t pid, int cpu, int group_fd = -1);
  int fd() const { return fd_.get(); }
  Result<uint64_t> Id() const;
  Result<void> RedirectTo(const PerfEventFd& ring_owner) const;
  Result<void> SetFilter(const std::string& filter) const;
  Result<void> Enable() const;
  Result<void> Disable() const;

 private:
  UniqueFd fd_;
};

class PerfRing {
 public:
  // Maps 1 + data_pages pages (data_pages a power of two) of the event's ring buffer.
  static Result<PerfRing> Map(const PerfEventFd& event, size_t data_pages);
  PerfRing(PerfRing&& other) noexcept;
  PerfRing& operator=(PerfRing&&) = delete;
  PerfRing(const PerfRing&) = delete;
  ~PerfRing();

  // Hands every complete record in the buffer to `fn` (contiguous even when it wraps), then
  // frees the space. Returns the number of bytes consumed.
  Result<size_t> Drain(const std::function<Result<void>(std::span<const uint8_t>)>& fn);

 private:
  PerfRing() = default;
  void* base_ = nullptr;
  size_t map_size_ = 0;
  size_t data_size_ = 0;
  std::vector<uint8_t> wrap_;
};

}  // namespace exitprof::capture
