// The report model from counts aggregated in the kernel (capture/bpf): the same tables, keys
// and renderers as `report` and `top`, so `top --bpf` and `record --aggregate` look and parse
// exactly like the perf_event paths.
#pragma once

#include <string>

#include "analysis/report_model.h"
#include "capture/bpf/kvm_aggregator.h"
#include "kvm/reason_table.h"

namespace exitprof::cli {

struct BpfModelContext {
  const capture::bpf::KvmAggregator* aggregator = nullptr;
  const kvm::ReasonTable* reasons = nullptr;  // this host's; nullptr: the built-in table
  std::string hostname, os_release, cpu_id;
  size_t top = 5;
};

// `counts`: a Delta (an interval) or a whole Snapshot; `seconds`: the time it covers.
analysis::ReportModel BuildBpfModel(const capture::bpf::Snapshot& counts, double seconds, const BpfModelContext& context);

// One line on stderr per map that was full: how many events it could not count.
void WarnIfMapsFull(const char* command, const capture::bpf::Snapshot& counts);

}  // namespace exitprof::cli
