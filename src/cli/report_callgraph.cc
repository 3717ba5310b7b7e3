#include "cli/report_callgraph.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "callgraph/flame_graph.h"
#include "callgraph/stack_sink.h"
#include "cli/commands.h"
#include "cli/validators.h"

namespace exitprof::cli {

void AddCallgraphOptions(CLI::App& cmd, CallgraphOptions& o) {
  cmd.add_flag("-G,--callgraph", o.callgraph, "Call graphs of the recorded stacks (record -g or --call-graph dwarf), perf report's layout");
  cmd.add_flag("--children", o.children, "With --callgraph: each function with the samples of what it called (perf report --children)");
  cmd.add_flag("--no-children", [&o](int64_t) { o.children = false; }, "With --callgraph: each sampled function on its own (the default)");
  cmd.add_flag("--caller", o.caller, "With --callgraph: chains from the outermost caller in");
  cmd.add_flag("--callee", [&o](int64_t) { o.caller = false; }, "With --callgraph: chains from the sampled function out (the default)");
  cmd.add_option("--percent-limit", o.percent_limit, "Hide call-graph branches under this share of all samples (default 0.5)")
      ->check(Between(0.0, 100.0));
  cmd.add_option("--max-stack", o.max_stack, "Frames kept per stack (default 127)")->check(Positive());
  cmd.add_option("--flamegraph", o.flamegraph, "Write an interactive flame graph (SVG) of the stacks to FILE");
  cmd.add_flag("--no-inline", o.no_inline, "Do not show inlined functions as frames of their own");
  cmd.add_option("-e,--event", o.event, "With --callgraph: only samples of this event (e.g. probe_app:f). Else, as perf kvm stat's --event: the latency table of vmexit (default), ioport or mmio");
  cmd.add_option("--host-kallsyms", o.kallsyms, "Kernel symbols for host kernel frames (default /proc/kallsyms)");
}

callgraph::StackOptions StackOptionsOf(const CallgraphOptions& o, const std::string& format) {
  callgraph::StackOptions options;
  options.event = o.event;
  options.inlines = !o.no_inline;
  options.max_stack = o.max_stack;
  options.comm_root = format == "folded" || !o.flamegraph.empty();
  return options;
}

int CheckCallgraphOptions(const CLI::App& cmd, const CallgraphOptions& o, const std::string& format) {
  if (!o.Wanted(format)) {
    std::string given = FirstGiven(cmd, {"--children", "--no-children", "--caller", "--callee", "--percent-limit",
                                         "--max-stack", "--no-inline", "--host-kallsyms"});
    if (!given.empty()) return ReportError(Error{given + " applies to call graphs: add --callgraph (or --format folded, --flamegraph FILE)"});
    return -1;
  }
  if (format == "json" || format == "csv") {
    return Conflict("--format " + format, o.callgraph ? "--callgraph" : "--flamegraph",
                    "call graphs print as text (perf report's layout) or --format folded");
  }
  if (!o.callgraph) {
    std::string given = FirstGiven(cmd, {"--children", "--no-children", "--caller", "--callee", "--percent-limit"});
    if (!given.empty()) {
      return Conflict(given, format == "folded" ? "--format folded" : "--flamegraph",
                      "it shapes the text of --callgraph only (add --callgraph)");
    }
  }
  return -1;
}

int RenderCallgraph(const report::Report& report, const std::string& input, const std::string& format,
                    const CallgraphOptions& o, bool filtered) {
  const callgraph::StackSink& sink = *report.stacks;
  const auto& stats = sink.stats();
  for (const auto& w : sink.warnings()) std::fprintf(stderr, "exitprof report: %s\n", w.c_str());
  if (stats.samples == 0) {
    std::fprintf(stderr, "exitprof report: %s has no samples%s%s\n", input.c_str(),
                 o.event.empty() ? "" : (" of " + o.event).c_str(), filtered ? " that the filters keep" : "");
  }
  // Without stacks, a "stack" would be the sampled IP alone, named from this machine's symbols:
  // not what the recording's machine ran. --callgraph says so in its header; these refuse.
  const bool no_stacks = stats.samples && stats.without_stack == stats.samples;
  if (no_stacks && (format == "folded" || !o.flamegraph.empty())) {
    return ReportError(Error{input + ": no stacks in this recording: " +
                             (format == "folded" ? std::string("--format folded") : std::string("--flamegraph")) +
                             " needs them (record with -g or --call-graph dwarf)"});
  }
  if (!o.flamegraph.empty()) {
    callgraph::FlameGraphOptions fg;
    fg.title = "exitprof: " + sink.event_name();
    fg.subtitle = input + " (" + std::to_string(stats.samples) + " samples)";
    std::ofstream out(o.flamegraph);
    out << callgraph::RenderFlameGraphSvg(sink.tree().callers_root(), fg);
    if (!out) return ReportError(Error{o.flamegraph + ": cannot write the flame graph", 1});
    std::fprintf(stderr, "exitprof report: flame graph of %llu samples written to %s\n",
                 static_cast<unsigned long long>(stats.samples), o.flamegraph.c_str());
    if (!o.callgraph && format != "folded") return 0;
  }
  if (format == "folded") {
    std::fputs(sink.tree().Folded().c_str(), stdout);
    return 0;
  }
  std::printf("# exitprof report --callgraph: %s\n", input.c_str());
  std::printf("# Samples: %llu of event '%s'%s\n", static_cast<unsigned long long>(stats.samples), sink.event_name().c_str(),
              stats.lost ? (" (" + std::to_string(stats.lost) + " lost)").c_str() : "");
  if (stats.caller_recovered) {
    std::printf("# %llu entry-probe samples: direct caller read from the top of the stack\n",
                static_cast<unsigned long long>(stats.caller_recovered));
  }
  if (no_stacks) {
    std::printf("# no stacks in this recording: record with -g or --call-graph dwarf\n");
  }
  std::printf(o.children ? "#\n" : "#\n# Overhead  Symbol\n#\n");
  callgraph::CallTree::TextOptions text;
  text.caller_order = o.caller;
  text.percent_limit = o.percent_limit;
  text.max_stack = o.max_stack;
  text.children = o.children;
  std::fputs(sink.tree().Text(text).c_str(), stdout);
  return 0;
}

}  // namespace exitprof::cli
