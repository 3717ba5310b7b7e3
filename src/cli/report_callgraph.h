// `exitprof report --callgraph | --format folded | --flamegraph FILE`: call graphs of the
// recorded stacks, perf report --stdio's layout, FlameGraph's folded stacks, or an SVG.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "report/pipeline.h"

namespace exitprof::cli {

struct CallgraphOptions {
  bool callgraph = false;
  bool children = false;  // --children: every function with the samples of its callees too
  bool caller = false;    // --caller: root first (default callee, like perf report)
  double percent_limit = 0.5;
  size_t max_stack = 127;
  std::string flamegraph;  // FILE.svg
  bool no_inline = false;
  std::string event;       // -e/--event: only this event's samples
  std::string kallsyms = "/proc/kallsyms";  // kernel frames; "" = leave them unnamed

  bool Wanted(const std::string& format) const { return callgraph || !flamegraph.empty() || format == "folded"; }
};

// Adds the call-graph options to `report`.
void AddCallgraphOptions(CLI::App& cmd, CallgraphOptions& options);
// The pipeline's stack options for these flags.
callgraph::StackOptions StackOptionsOf(const CallgraphOptions& options, const std::string& format);
// Refuses, in one line, a call-graph option that cannot apply to `format` (or without
// --callgraph); returns the exit status, or -1 when the options fit together.
int CheckCallgraphOptions(const CLI::App& cmd, const CallgraphOptions& options, const std::string& format);
// Prints (or writes, --flamegraph) the call graph the pipeline built; returns the exit status.
// `filtered`: -p, -g, --time, --reason or --vcpu kept only some samples.
int RenderCallgraph(const report::Report& report, const std::string& input, const std::string& format,
                    const CallgraphOptions& options, bool filtered);

}  // namespace exitprof::cli
