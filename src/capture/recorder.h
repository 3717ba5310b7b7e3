// Live capture of tracepoints with perf_event_open: one event per (target, CPU), one mmap'd
// ring per CPU (the other events redirected into it), drained into a perf.data writer. What
// it writes is what `perf record` would: perf script and perf report read it.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "capture/perf_ring.h"
#include "capture/tracefs.h"
#include "recording/session_info.h"
#include "perfdata/writer.h"

namespace exitprof::capture {

struct RecordOptions {
  std::vector<std::string> events;  // "kvm:kvm_pio"; empty = the default kvm events that exist
  std::vector<pid_t> pids;          // processes to follow (with their future threads); empty = all
  std::string filter;               // ftrace filter for the last event
  bool callchain = false;           // -g: kernel and user callchains (frame pointers)
  bool dwarf_callchain = false;     // --call-graph dwarf: user registers and stack for DWARF unwinding
  uint32_t stack_dump_size = 8192;  // bytes of user stack per sample with dwarf_callchain
  bool caller_at_entry = true;      // with -g: 8 bytes of stack so entry probes keep their caller
  size_t mmap_pages = 128;          // per CPU, a power of two
  std::vector<std::string> cmdline;
};

// The kvm events `record` takes when none are named, in this order, where they exist.
const std::vector<std::string>& DefaultKvmEvents();

struct CaptureCounts {
  std::map<std::string, uint64_t> samples_by_event;
  uint64_t lost = 0;
  uint64_t bytes = 0;
  uint64_t samples() const;
};

class Recorder {
 public:
  // Opens (disabled) every event. enable_on_exec: events start when the target execs.
  static Result<std::unique_ptr<Recorder>> Open(const RecordOptions& options, bool enable_on_exec);

  const recording::SessionInfo& header() const { return header_; }
  // Writes the records perf synthesizes first: the kernel map, COMM of existing threads.
  Result<void> WritePreamble(perfdata::Writer& writer) const;
  Result<void> Enable();
  Result<void> Disable();
  // Waits up to timeout_ms for data (or a signal), then copies every ring into the writer and
  // closes the round.
  Result<void> Poll(int timeout_ms);
  Result<void> DrainInto(perfdata::Writer& writer);
  // Hands every record in the rings to `fn` (live analyses: top).
  Result<void> DrainTo(const std::function<Result<void>(std::span<const uint8_t>)>& fn);
  const CaptureCounts& counts() const { return counts_; }
  // Default events that do not exist on this kernel (e.g. kvm_msr on old ones).
  const std::vector<std::string>& skipped_events() const { return skipped_; }

 private:
  Recorder() = default;
  Result<void> Count(std::span<const uint8_t> record);

  RecordOptions options_;
  bool enable_on_exec_ = false;  // the target is a workload that has not exec'd yet
  recording::SessionInfo header_;
  std::vector<PerfEventFd> events_;
  std::vector<PerfRing> rings_;
  std::vector<int> ring_fds_;
  std::map<uint64_t, size_t> attr_of_id_;
  std::vector<std::string> skipped_;
  CaptureCounts counts_;
};

}  // namespace exitprof::capture
