#include <cstdio>

#include "analysis/diff_model.h"
#include "cli/commands.h"
#include "cli/validators.h"
#include "cli/report_symbols.h"
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
    analysis::ExitFilter filter;
    filter.latency = true;
    auto a = BuildReport(o->a, filter, 0);
    if (!a) return ReportError(a.error());
    auto b = BuildReport(o->b, filter, 0);
    if (!b) return ReportError(b.error());
    if (o->kallsyms.size() > 2 || o->kaslr_offsets.size() > 2) {
      return ReportError(Error{"diff: --kallsyms and --kaslr-offset are given once (both recordings) or twice (A's, then B's)"});
    }
    // Side i of 0 (A) and 1 (B): the last value given applies when only one was.
    auto symbols_for = [&](size_t side) -> Result<symbols::GuestSymbolOptions> {
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
      return g;
    };
    if (!o->vmlinux.empty() || !o->system_map.empty() || !o->kallsyms.empty()) {
      size_t side = 0;
      for (auto* model : {&*a, &*b}) {
        auto g = symbols_for(side++);
        if (!g) return ReportError(g.error());
        if (auto added = AddGuestSymbols(*model, *g, 0); !added) return ReportError(added.error());
      }
    }
    auto diff = analysis::BuildDiff(*a, *b);
    std::string out = o->format == "json" ? render::RenderDiffJson(diff) : render::RenderDiffText(diff, o->top);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  };
}

}  // namespace exitprof::cli
