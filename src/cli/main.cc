// exitprof: why do my VMs exit, and what in the guest makes them?
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.h"
#include "exitprof_version.h"  // generated at build time from git describe (packaging/)

int main(int argc, char** argv) {
  // Named, so that usage lines (and the man pages made from --help) say "exitprof", not the path.
  CLI::App app{"exitprof: why do KVM virtual machines exit, and what in the guest makes them", "exitprof"};
  app.set_version_flag("--version", std::string("exitprof ") + EXITPROF_VERSION);
  app.require_subcommand(1);
  app.footer(
      "\nExamples:\n"
      "  exitprof report -i perf.data            exits by reason, VM, vCPU and guest RIP\n"
      "  exitprof report --format json           the same for scripts\n"
      "  exitprof script -i perf.data            events as `perf script` prints them\n");
  std::vector<std::function<int()>> commands = {
      exitprof::cli::AddReportCommand(app),
      exitprof::cli::AddScriptCommand(app),
      exitprof::cli::AddRecordCommand(app),
      exitprof::cli::AddDemoCommand(app),
      exitprof::cli::AddTopCommand(app),
      exitprof::cli::AddDiffCommand(app),
      exitprof::cli::AddSymbolizeCommand(app),
      exitprof::cli::AddProbeCommand(app),
      exitprof::cli::AddStatCommand(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  for (auto& run : commands) {
    int rc = run();
    if (rc >= 0) return rc;
  }
  return 2;
}
