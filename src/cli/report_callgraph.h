// `exitprof report --callgraph | --format folded | --flamegraph FILE`: call graphs of the
// recorded stacks, perf report --stdio's layout, FlameGraph's folded stacks, or an SVG.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

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
// Runs the call-graph report of `input`; returns the exit status.
int RunCallgraphReport(const std::string& input, const std::string& format, const CallgraphOptions& options);

}  // namespace exitprof::cli
