#include <cstdio>

#include "analysis/diff_model.h"
#include "cli/commands.h"
#include "cli/validators.h"
#include "report/pipeline.h"
#include "render/diff_render.h"

namespace exitprof::cli {

std::function<int()> AddDiffCommand(CLI::App& app) {
  struct Options {
    std::string a, b, format = "text";
    size_t top = 10;
    std::string vmlinux, system_map;
    std::vector<std::string> kallsyms, kaslr_offsets;
    std::vector<std::string> debug_dirs;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("diff", "What changed between two recordings: reasons, RIPs, ports, exit cost");
  cmd->add_option("A", o->a, "The recording before (perf.data, file or pipe mode)")->required();
  cmd->add_option("B", o->b, "The recording after")->required();
  cmd->add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  cmd->add_option("--top", o->top, "Rows per table (0 = all)")->capture_default_str()->check(NonNegative());
  // Two boots of one guest kernel: one vmlinux or System.map, a kallsyms dump or KASLR offset each.
  cmd->add_option("--vmlinux", o->vmlinux, "Guest kernel ELF: guest RIPs compare by function+offset");
  cmd->add_option("--system-map", o->system_map, "Guest System.map: guest RIPs compare by function+offset");
  cmd->add_option("--kallsyms", o->kallsyms,
                  "Guest /proc/kallsyms dump; give it twice (A's, then B's) when the recordings are of two boots")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--kaslr-offset", o->kaslr_offsets, "Guest KASLR offset; twice for A's and B's (default: from --kallsyms)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--debug-dir", o->debug_dirs, "Where to look for the vmlinux's separate debug file; repeatable")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->footer(
      "\nExamples:\n"
      "  exitprof diff before.data after.data\n"
      "  exitprof diff a.data b.data --vmlinux vmlinux --kallsyms a.kallsyms --kallsyms b.kallsyms\n"
      "      guest RIPs of two boots (two KASLR offsets) compared by function+offset\n");
  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    if (o->kallsyms.size() > 2 || o->kaslr_offsets.size() > 2) {
      return ReportError(Error{"diff: --kallsyms and --kaslr-offset are given once (both recordings) or twice (A's, then B's)"});
    }
    const bool with_symbols = !o->vmlinux.empty() || !o->system_map.empty() || !o->kallsyms.empty();
    if (std::string given = FirstGiven(*cmd, {"--kaslr-offset", "--debug-dir"}); !given.empty() && !with_symbols) {
      return ReportError(Error{given + " applies to guest symbols: give --vmlinux ELF, --system-map FILE or --kallsyms FILE"});
    }
    if (o->format == "json" && cmd->count("--top")) return Conflict("--top", "--format json", "JSON holds every row");
    // Side i of 0 (A) and 1 (B): the last value given applies when only one was.
    auto options_for = [&](size_t side) -> Result<report::Options> {
      report::Options run;
      run.input.path = side == 0 ? o->a : o->b;
      run.filter.latency = true;
      run.top = 0;
      if (!with_symbols) return run;
      symbols::GuestSymbolOptions g;
      g.vmlinux = o->vmlinux;
      g.system_map = o->system_map;
      g.debug_dirs = o->debug_dirs;
      if (!o->kallsyms.empty()) g.kallsyms = o->kallsyms[std::min(side, o->kallsyms.size() - 1)];
      if (!o->kaslr_offsets.empty()) {
        auto offset = symbols::ParseKaslrOffset(o->kaslr_offsets[std::min(side, o->kaslr_offsets.size() - 1)]);
        if (!offset) return tl::unexpected(offset.error());
        g.kaslr_offset = *offset;
      }
      run.guest_symbols = g;
      return run;
    };
    analysis::ReportModel models[2];
    for (size_t side = 0; side < 2; ++side) {
      auto run = options_for(side);
      if (!run) return ReportError(run.error());
      auto built = report::Run(*run);
      if (!built) return ReportError(built.error());
      PrintWarnings(built->model.warnings);
      models[side] = std::move(built->model);
    }
    auto diff = analysis::BuildDiff(models[0], models[1]);
    std::string out = o->format == "json" ? render::RenderDiffJson(diff) : render::RenderDiffText(diff, o->top);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  };
}

}  // namespace exitprof::cli
