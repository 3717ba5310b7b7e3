// `exitprof record --aggregate`: see aggregate_record.cc.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace exitprof::cli {

struct AggregateRecordOptions {
  bool all = false;
  std::vector<pid_t> pids;
  double interval = 0;  // seconds; 0: one snapshot at the end
  double duration = 0;
  std::string output = "-";
  std::vector<std::string> command;
  bool bpf = true;  // false: perf_event counting even where BPF works
};

int RunAggregateRecord(const AggregateRecordOptions& options);

}  // namespace exitprof::cli
