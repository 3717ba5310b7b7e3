// The one way a recording becomes a report: open the input (any format), run the sinks,
// build the model, then enrich it (devices, guest symbols, latency order, explanations), or,
// with `stacks`, build the call graph of the samples' stacks. Commands, tests and benches all
// come through here, driven by one Options; they only parse flags and render.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "analysis/exit_stats.h"
#include "analysis/report_model.h"
#include "base/result.h"
#include "callgraph/stack_sink.h"
#include "report/input.h"
#include "symbols/guest_symbols.h"

namespace exitprof::report {

struct Options {
  InputOptions input;
  analysis::ExitFilter filter;  // applies to every table and to the call graph
  size_t top = 10;              // RIPs kept per reason (0 = all)
  unsigned threads = 0;         // read threads; 0 = AvailableCpus(); the model never depends on it
  uint64_t chunk_bytes = 0;     // stretch of the file per read thread; 0 = the reader's choice (tests cut finer)

  // Enrichment of the exit model.
  bool devices = false;    // attribute ports and MMIO to devices (qmp, else device_map, else the side file)
  std::string qmp, device_map;
  std::optional<symbols::GuestSymbolOptions> guest_symbols;
  std::string latency_key;  // -k: order of the latency tables ("" = as built)
  size_t explain = 0;       // --explain: sources explained (0 = none)

  // The call graph instead of the exit model (report --callgraph, --flamegraph, folded).
  bool stacks = false;
  callgraph::StackOptions stack;
  std::string host_kallsyms = "/proc/kallsyms";
};

struct Report {
  recording::SessionInfo info;
  recording::ReadStats stats;
  analysis::ReportModel model;                  // without `stacks`
  std::unique_ptr<callgraph::StackSink> stacks;  // with `stacks`
  std::string empty_why;  // the filters kept nothing: what to do (also in model.notes)
};

// Errors are one line a user can act on (bad input, a VM name -g found nowhere, unreadable
// symbols); warnings (damage read around, symbols) are in model.warnings, not printed.
Result<Report> Run(const Options& options);

}  // namespace exitprof::report
