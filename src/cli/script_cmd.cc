#include <cstdio>

#include "cli/commands.h"
#include "cli/script_printer.h"
#include "cli/tracecmd_printer.h"
#include "tracedat/reader.h"

namespace exitprof::cli {

std::function<int()> AddScriptCommand(CLI::App& app) {
  struct Options {
    std::string input = "perf.data";
    bool ns = false;
    bool perf_layout = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("script", "Print decoded events, line for line as `perf script` does");
  cmd->add_option("-i,--input", options->input,
                  "perf.data, trace.dat or text capture (perf script, trace-cmd report, ftrace) to read; - (or a pipe, FIFO, trace_pipe) reads a perf pipe-mode stream or text")
      ->capture_default_str();
  cmd->add_flag("--ns", options->ns, "Show timestamps in nanoseconds (trace.dat: as `trace-cmd report -t`)");
  cmd->add_flag("--perf-layout", options->perf_layout,
                "trace.dat input: print perf script's line layout instead of trace-cmd report's");
  cmd->footer(
      "\nExamples:\n"
      "  exitprof script -i perf.data | grep 'reason IO_INSTRUCTION'\n"
      "  exitprof script -i trace.dat            # trace-cmd report's layout; --perf-layout for perf's\n"
      "  perf record -e 'kvm:*' -a -o - -- sleep 1 | exitprof script -i -\n"
      "  perf script -i perf.data | exitprof script -i -   # text back, only the fields it had\n");
  return [cmd, options]() -> int {
    if (!cmd->parsed()) return -1;
    KeepTextPayloads(true);
    auto reader = OpenRecording(options->input);
    if (!reader) return ReportError(reader.error());
    ScriptPrinter perf_printer(stdout, options->ns);
    std::unique_ptr<TraceCmdPrinter> tracecmd_printer;
    perfdata::EventSink* printer = &perf_printer;
    // A trace.dat prints as `trace-cmd report` does; --perf-layout keeps perf script's lines.
    if (auto* tracedat = dynamic_cast<tracedat::Reader*>(reader->get()); tracedat && !options->perf_layout) {
      std::vector<std::string> buffers;
      for (const auto& b : tracedat->file().buffers) buffers.push_back(b.name);
      tracecmd_printer = std::make_unique<TraceCmdPrinter>(stdout, std::move(buffers), tracedat->read_info().in_ticks,
                                                           tracedat->file().cpu_count, tracedat->file().meta.kallsyms,
                                                           options->ns);
      printer = tracecmd_printer.get();
    }
    auto stats = (*reader)->Run(*printer);
    std::fflush(stdout);
    if (!stats) return ReportError(stats.error());
    PrintWarnings((*reader)->info());
    if (stats->lost_events || stats->damaged_records) {
      std::fprintf(stderr, "exitprof: %llu events lost while recording, %llu damaged records skipped\n",
                   static_cast<unsigned long long>(stats->lost_events),
                   static_cast<unsigned long long>(stats->damaged_records));
    }
    return 0;
  };
}

}  // namespace exitprof::cli
