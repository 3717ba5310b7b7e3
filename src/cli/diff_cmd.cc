#include <cstdio>

#include "analysis/diff_model.h"
#include "cli/commands.h"
#include "render/diff_render.h"

namespace exitprof::cli {

std::function<int()> AddDiffCommand(CLI::App& app) {
  struct Options {
    std::string a, b, format = "text";
    size_t top = 10;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("diff", "What changed between two recordings: reasons, RIPs, ports, exit cost");
  cmd->add_option("A", o->a, "The recording before (perf.data, file or pipe mode)")->required();
  cmd->add_option("B", o->b, "The recording after")->required();
  cmd->add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->add_option("--top", o->top, "Rows per table (0 = all)")->capture_default_str();
  cmd->footer("\nExample:\n  exitprof diff before.data after.data\n");
  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    analysis::ExitFilter filter;
    filter.latency = true;
    auto a = BuildReport(o->a, filter, 0);
    if (!a) return ReportError(a.error());
    auto b = BuildReport(o->b, filter, 0);
    if (!b) return ReportError(b.error());
    auto diff = analysis::BuildDiff(*a, *b);
    std::string out = o->format == "json" ? render::RenderDiffJson(diff) : render::RenderDiffText(diff, o->top);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  };
}

}  // namespace exitprof::cli
