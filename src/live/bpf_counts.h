// Counts aggregated in the kernel (capture/bpf snapshots) as report's counts: they fill the same
// analysis::ExitStats and go through the one analysis::BuildReportModel, so `top --bpf` and
// `record --aggregate` show the rows `report` shows for the same counts, in the same order.
#pragma once

#include <string>

#include "analysis/exit_stats.h"
#include "analysis/report_model.h"
#include "capture/bpf/kvm_aggregator.h"
#include "kvm/reason_table.h"

namespace exitprof::live {

struct BpfModelContext {
  const capture::bpf::KvmAggregator* aggregator = nullptr;
  const kvm::ReasonTable* reasons = nullptr;  // this host's; nullptr: the built-in table
  std::string hostname, os_release, cpu_id;
  size_t top = 5;
};

// Adds a snapshot's (or a delta's) counts and thread names to `stats`; latency histograms
// count only when `stats` was made with ExitFilter::latency.
void AddSnapshot(const capture::bpf::Snapshot& counts, const kvm::ReasonTable& reasons, analysis::ExitStats& stats);

// `counts`: a Delta (an interval) or a whole Snapshot; `seconds`: the time it covers.
analysis::ReportModel BuildBpfModel(const capture::bpf::Snapshot& counts, double seconds, const BpfModelContext& context);

// One line on stderr per map that was full: how many events it could not count.
void WarnIfMapsFull(const char* command, const capture::bpf::Snapshot& counts);

}  // namespace exitprof::live
