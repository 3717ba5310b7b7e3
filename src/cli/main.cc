// exitprof: why do my VMs exit, and what in the guest makes them?
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "cli/commands.h"
#include "exitprof_version.h"  // generated at build time from git describe (packaging/)

namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// "exitprof reprot": the word is no command; say so, with the nearest command's name.
std::string UnknownCommand(const CLI::App& app, const std::string& word) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    size_t d = EditDistance(word, sub->get_name());
    if (d < best_distance) {
      best_distance = d;
      best = sub->get_name();
    }
  }
  std::string message = "exitprof: unknown command '" + word + "'";
  if (best_distance <= std::max<size_t>(2, word.size() / 3)) message += "; did you mean '" + best + "'?";
  return message + " (exitprof --help lists the commands)\n";
}

}  // namespace

int main(int argc, char** argv) {
  // Named, so that usage lines (and the man pages made from --help) say "exitprof", not the path.
  CLI::App app{"exitprof: why do KVM virtual machines exit, and what in the guest makes them", "exitprof"};
  // Usage errors are one line, naming the command whose --help tells more.
  app.failure_message([](const CLI::App* failed, const CLI::Error& e) {
    auto parsed = failed->get_subcommands();
    std::string name = parsed.empty() ? "" : " " + parsed[0]->get_name();
    return "exitprof" + name + ": " + e.what() + " (exitprof" + name + " --help)\n";
  });
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
      exitprof::cli::AddServeCommand(app),
  };
  if (argc > 1 && argv[1][0] != '-' && app.get_subcommands([&](CLI::App* sub) { return sub->check_name(argv[1]); }).empty()) {
    std::fputs(UnknownCommand(app, argv[1]).c_str(), stderr);
    return 2;
  }
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
