// Live views in intervals, from either source: perf_event rings decoded in user space, or
// counts aggregated in the kernel by BPF. Both hand each interval to `emit` as a ReportModel,
// so `top` and `record --aggregate` print the same tables and JSON whichever source ran.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "analysis/report_model.h"
#include "base/result.h"
#include "capture/bpf/kvm_aggregator.h"

namespace exitprof::live {

struct LiveOptions {
  std::vector<pid_t> pids;
  std::vector<std::string> events;  // perf source only (BPF counts its fixed set)
  double interval = 1.0;            // seconds; <= 0: one interval, until stop()
  uint64_t iterations = 0;          // 0: until stop()
  size_t top = 5;                   // RIPs per reason
  bool workload = false;            // pids[0] is a held command: follow it from its exec (perf)
  const char* command = "exitprof";  // for messages
  bool forget_ended_threads = false;  // BPF: drop keys of threads that have ended (long-running top)
};

using EmitModel = std::function<void(analysis::ReportModel& model)>;
using StopWhen = std::function<bool()>;

// `started` runs once counting is live (e.g. to release a held command).
Result<void> RunPerfIntervals(const LiveOptions& options, const EmitModel& emit, const StopWhen& stop,
                              const std::function<Result<void>()>& started = {});
Result<void> RunBpfIntervals(const capture::bpf::KvmAggregator& aggregator, const LiveOptions& options,
                             const EmitModel& emit, const StopWhen& stop, const std::function<Result<void>()>& started = {});

// Opens the BPF aggregator, or says on stderr, in one line, why BPF cannot be used and that
// `command` counts with perf_event instead (returns nullptr then).
std::unique_ptr<capture::bpf::KvmAggregator> OpenBpfOrSayWhy(const LiveOptions& options);

}  // namespace exitprof::live
