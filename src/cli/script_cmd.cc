#include <cstdio>

#include "cli/commands.h"
#include "cli/script_printer.h"

namespace exitprof::cli {

std::function<int()> AddScriptCommand(CLI::App& app) {
  struct Options {
    std::string input = "perf.data";
    bool ns = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("script", "Print decoded events, line for line as `perf script` does");
  cmd->add_option("-i,--input", options->input, "perf.data file to read; - reads a pipe-mode stream from stdin")
      ->capture_default_str();
  cmd->add_flag("--ns", options->ns, "Show timestamps in nanoseconds");
  cmd->footer(
      "\nExamples:\n"
      "  exitprof script -i perf.data | grep 'reason IO_INSTRUCTION'\n"
      "  perf record -e 'kvm:*' -a -o - -- sleep 1 | exitprof script -i -\n");
  return [cmd, options]() -> int {
    if (!cmd->parsed()) return -1;
    auto reader = OpenRecording(options->input);
    if (!reader) return ReportError(reader.error());
    ScriptPrinter printer(stdout, options->ns);
    auto stats = (*reader)->Run(printer);
    std::fflush(stdout);
    if (!stats) return ReportError(stats.error());
    if (stats->lost_events || stats->damaged_records) {
      std::fprintf(stderr, "exitprof: %llu events lost while recording, %llu damaged records skipped\n",
                   static_cast<unsigned long long>(stats->lost_events),
                   static_cast<unsigned long long>(stats->damaged_records));
    }
    return 0;
  };
}

}  // namespace exitprof::cli
