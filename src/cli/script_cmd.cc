#include <cstdio>
#include <tuple>

#include "cli/commands.h"
#include "cli/script_header.h"
#include "cli/script_printer.h"
#include "cli/tracecmd_printer.h"
#include "report/input.h"
#include "tracedat/reader.h"

namespace exitprof::cli {

namespace {

struct Options {
  std::string input = "perf.data";
  bool ns = false;
  bool perf_layout = false;
  std::string fields, time, cpus, pids, tids, comms;
  bool header = false, reltime = false;
};

Result<ScriptFilter> MakeFilter(const Options& o) {
  ScriptFilter f;
  f.reltime = o.reltime;
  if (!o.time.empty()) {
    auto range = ParseTimeRange(o.time);
    if (!range) return tl::unexpected(range.error());
    f.time_begin = range->first;
    f.time_end = range->second;
  }
  for (auto [text, flag, set, ranges] : {std::tuple{&o.cpus, "--cpu", &f.cpus, true}, std::tuple{&o.pids, "--pid", &f.pids, false},
                                          std::tuple{&o.tids, "--tid", &f.tids, false}}) {
    if (text->empty()) continue;
    auto ids = ParseIdList(*text, flag, ranges);
    if (!ids) return tl::unexpected(ids.error());
    *set = std::move(*ids);
  }
  if (!o.comms.empty()) f.comms = ParseCommList(o.comms);
  return f;
}

}  // namespace

std::function<int()> AddScriptCommand(CLI::App& app) {
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("script", "Print decoded events, line for line as `perf script` does");
  cmd->add_option("-i,--input", options->input,
                  "perf.data, trace.dat or text capture (perf script, trace-cmd report, ftrace) to read; - (or a pipe, FIFO, trace_pipe) reads a perf pipe-mode stream or text")
      ->capture_default_str();
  cmd->add_flag("--ns", options->ns, "Show timestamps in nanoseconds (trace.dat: as `trace-cmd report -t`)");
  cmd->add_flag("--perf-layout", options->perf_layout,
                "trace.dat input: print perf script's line layout instead of trace-cmd report's");
  cmd->add_option("-F,--fields", options->fields,
                  "Fields of each line, as perf script -F: comm,tid,pid,cpu,time,event,trace; +FIELD / -FIELD change "
                  "the default; a trace: prefix is accepted");
  cmd->add_option("--time", options->time, "Only samples between START,STOP seconds (either may be empty; with --reltime, from the first sample)");
  cmd->add_option("-C,--cpu", options->cpus, "Only samples of these host CPUs: 0-3,8");
  cmd->add_option("--pid", options->pids, "Only samples of these processes: PID[,PID...]");
  cmd->add_option("--tid", options->tids, "Only samples of these threads: TID[,TID...]");
  cmd->add_option("--comm", options->comms, "Only samples of threads with these names: NAME[,NAME...] (e.g. 'CPU 0/KVM')");
  cmd->add_flag("--header", options->header, "Print the recording's header first (perf.data files), as perf script --header");
  cmd->add_flag("--reltime", options->reltime, "Timestamps relative to the first sample printed");
  cmd->footer(
      "\nExamples:\n"
      "  exitprof script -i perf.data | grep 'reason IO_INSTRUCTION'\n"
      "  exitprof script -i perf.data -F tid,time,trace --comm 'CPU 0/KVM' --reltime\n"
      "  exitprof script -i perf.data -C 0-3 --time 45000.1,45000.2 --header\n"
      "  exitprof script -i trace.dat            # trace-cmd report's layout; --perf-layout for perf's\n"
      "  perf record -e 'kvm:*' -a -o - -- sleep 1 | exitprof script -i -\n"
      "  perf script -i perf.data | exitprof script -i -   # text back, only the fields it had\n");
  return [cmd, options]() -> int {
    if (!cmd->parsed()) return -1;
    ScriptFields fields;
    if (!options->fields.empty()) {
      auto parsed = ParseScriptFields(options->fields);
      if (!parsed) return ReportError(parsed.error());
      fields = *parsed;
    }
    auto filter = MakeFilter(*options);
    if (!filter) return ReportError(filter.error());
    auto reader = report::OpenRecording({.path = options->input, .keep_text_payloads = true});
    if (!reader) return ReportError(reader.error());
    auto* trace_dat = dynamic_cast<tracedat::Reader*>(reader->get());
    if (options->perf_layout && !trace_dat) {
      return ReportError(Error{"--perf-layout applies to a trace.dat: " + options->input +
                               " is not one, and prints perf script's lines already"});
    }
    // perf script's flags ask for perf script's lines, also from a trace.dat.
    const bool perf_flags = !options->fields.empty() || !options->time.empty() || !options->cpus.empty() ||
                            !options->pids.empty() || !options->tids.empty() || !options->comms.empty() ||
                            options->header || options->reltime;
    if (options->header) {
      std::string header = PerfHeaderText((*reader)->info());
      std::fwrite(header.data(), 1, header.size(), stdout);
    }
    ScriptPrinter perf_printer(stdout, options->ns, fields, std::move(*filter));
    std::unique_ptr<TraceCmdPrinter> tracecmd_printer;
    recording::EventSink* printer = &perf_printer;
    // A trace.dat prints as `trace-cmd report` does; --perf-layout keeps perf script's lines.
    if (trace_dat && !options->perf_layout && !perf_flags) {
      std::vector<std::string> buffers;
      for (const auto& b : trace_dat->file().buffers) buffers.push_back(b.name);
      tracecmd_printer = std::make_unique<TraceCmdPrinter>(stdout, std::move(buffers), trace_dat->read_info().in_ticks,
                                                           trace_dat->file().cpu_count, trace_dat->file().meta.kallsyms,
                                                           options->ns);
      printer = tracecmd_printer.get();
    }
    auto stats = (*reader)->Run(*printer);
    std::fflush(stdout);
    if (!stats) return ReportError(stats.error());
    PrintWarnings((*reader)->info().warnings);
    if (stats->lost_events || stats->damaged_records) {
      std::fprintf(stderr, "exitprof: %llu events lost while recording, %llu damaged records skipped\n",
                   static_cast<unsigned long long>(stats->lost_events),
                   static_cast<unsigned long long>(stats->damaged_records));
    }
    return 0;
  };
}

}  // namespace exitprof::cli
