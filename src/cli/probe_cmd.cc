// `exitprof probe`: perf probe's definitions and habits for uprobes (and kprobes where the kernel
// has them): add, list, delete, show functions, variables and lines, print definitions.
#include <algorithm>
#include <cstdio>

#include "capture/tracefs.h"
#include "cli/commands.h"
#include "probe/binary_resolver.h"
#include "probe/kprobe_refusal.h"
#include "probe/probe_manager.h"
#include "symbols/kallsyms.h"

namespace exitprof::cli {
namespace {

// perf writes return probes as _text+N too where the kernel takes offsets on kretprobes: its
// tracefs README then describes "place (kretprobe):".
bool KretprobeTakesOffsets() {
  auto tracefs = capture::Tracefs::Open();
  if (!tracefs) return false;
  auto readme = tracefs->ReadFile("README");
  return readme && readme->find("place (kretprobe): ") != std::string::npos;
}

}  // namespace

Result<probe::ResolvedProbe> ResolveProbe(const std::string& definition, const std::string& binary) {
  auto spec = probe::ParseProbeSpec(definition);
  if (!spec) return tl::unexpected(spec.error());
  if (!binary.empty()) {
    auto resolver = probe::BinaryResolver::Open(binary);
    if (!resolver) return tl::unexpected(resolver.error());
    return (*resolver)->Resolve(*spec);
  }
  // A kernel function: placed through kallsyms, written as perf writes it.
  if (spec->function.empty()) return Fail("probe " + definition + ": kernel SRC:LINE probes need a vmlinux with DWARF (not supported yet)");
  for (const auto& a : spec->args) {
    if (a.kind != probe::ProbeArg::Kind::kFetch) {
      return Fail("probe " + definition + ": kernel variables need a vmlinux with DWARF; fetch registers instead (e.g. %di)");
    }
    if (auto ok = probe::CheckFetch(a.expr, spec->is_return, false); !ok) return tl::unexpected(ok.error());
    if (auto ok = probe::CheckType(a.type); !ok) return tl::unexpected(ok.error());
  }
  auto kallsyms = symbols::KernelSymbolMap::Load("/proc/kallsyms");
  if (!kallsyms) return tl::unexpected(kallsyms.error());
  auto address = kallsyms->AddressOf(spec->function);
  auto text = kallsyms->AddressOf("_text");
  if (!address) return Fail("probe point '" + spec->function + "' not found in /proc/kallsyms");
  probe::ResolvedProbe p;
  p.group = spec->group.empty() ? "probe" : spec->group;
  p.event = probe::DefaultEventName(*spec);
  p.is_return = spec->is_return;
  p.symbol = spec->function;
  p.offset = spec->offset.value_or(0);
  if (text && *address >= *text) p.text_offset = *address - *text + p.offset;
  p.kretprobe_offset = KretprobeTakesOffsets();
  for (const auto& a : spec->args) p.args.push_back({a.name, a.expr, a.type});
  return p;
}

Result<void> CheckKernelProbeable(const probe::ResolvedProbe& p, const std::string& tracefs_root,
                                  const std::vector<std::string>& binaries) {
  if (p.is_uprobe) return {};
  auto lists = probe::ReadKernelFunctionLists(tracefs_root + "/available_filter_functions");
  if (lists.Probeable(p.symbol)) return {};
  std::vector<std::string> callers;
  std::string where;
  for (const auto& binary : binaries) {
    auto found = probe::DirectCallers(binary, p.symbol);
    // A vmlinux without the function (it may live in a module given too) is not an error.
    if (!found && binaries.size() == 1) return tl::unexpected(found.error());
    if (found) callers.insert(callers.end(), found->begin(), found->end());
    where += (where.empty() ? "" : ", ") + binary;
  }
  std::sort(callers.begin(), callers.end());
  callers.erase(std::unique(callers.begin(), callers.end()), callers.end());
  return Fail("probe " + p.symbol + ": " + probe::KprobeRefusal(p.symbol, lists, where, callers));
}

std::function<int()> AddProbeCommand(CLI::App& app) {
  struct Options {
    std::vector<std::string> add, del, definitions, positional;
    std::string exec, funcs, vars, line, list;
    std::vector<std::string> vmlinux;
    bool force = false, cleanup = false, list_all = false, funcs_all = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("probe", "Add, list and remove dynamic probes (perf probe's syntax; uprobes with -x)");
  cmd->add_option("-a,--add", o->add, "Add a probe: [[GROUP:]EVENT=]FUNC[+OFF|%return|:RLINE] or SRC:LINE, then [NAME=]ARG[:TYPE] ...");
  cmd->add_option("-x,--exec", o->exec, "The executable or library to probe (uprobes); without it, the kernel (kprobes)");
  cmd->add_option("-k,--vmlinux", o->vmlinux,
                  "The running kernel's vmlinux or modules (.ko), repeatable: where a function the kernel refuses "
                  "to probe (notrace) has its callers looked up");
  cmd->add_option("-d,--del", o->del, "Remove probes matching [GROUP:]EVENT (globs: *, ?, [a-z])");
  cmd->add_option("-l,--list", o->list, "List probes (optionally matching [GROUP:]EVENT)")->expected(0, 1);
  cmd->add_option("-F,--funcs", o->funcs, "List the functions that can be probed (optionally matching a glob)")->expected(0, 1);
  cmd->add_option("-V,--vars", o->vars, "Show the variables available at FUNC's entry");
  cmd->add_option("-L,--line", o->line, "Show FUNC's source lines that can be probed");
  cmd->add_option("-D,--definition", o->definitions, "Print the tracefs definition instead of adding it");
  cmd->add_flag("-f,--force", o->force, "Add even if the event exists (named EVENT_1, EVENT_2 ...)");
  cmd->add_flag("--cleanup", o->cleanup, "Remove every probe exitprof added that is still there");
  cmd->add_option("probe", o->positional, "Probe definition (as with --add)");
  cmd->footer(
      "\nExamples:\n"
      "  exitprof probe -x ./app --add f                    probe_app:f at f's entry\n"
      "  exitprof probe -x ./app 'f x s:string'             with C variables (DWARF)\n"
      "  exitprof probe -x ./app 'f%return $retval'         probe_app:f__return\n"
      "  exitprof probe -x ./app -F 'vp_*'                  functions that can be probed\n"
      "  exitprof probe -l; exitprof probe -d 'probe_app:*'\n"
      "  exitprof probe --add iowrite16 -k vmlinux -k virtio_pci.ko\n"
      "      a notrace function: names the callers to probe instead (vp_notify)\n"
      "  exitprof record -e probe_app:f --call-graph dwarf -- ./app && exitprof report --callgraph\n");
  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    // Joined the way perf joins a definition given in several words.
    std::vector<std::string> adds = o->add;
    if (!o->positional.empty()) {
      std::string joined;
      for (const auto& w : o->positional) joined += (joined.empty() ? "" : " ") + w;
      adds.push_back(joined);
    }
    for (const auto& d : o->definitions) {
      auto p = ResolveProbe(d, o->exec);
      if (!p) return ReportError(p.error());
      if (!p->note.empty()) std::fprintf(stderr, "exitprof probe: %s\n", p->note.c_str());
      std::printf("%s\n", probe::ProbeDefinition(*p).c_str());
    }
    if (cmd->count("--funcs")) {
      if (o->exec.empty()) return ReportError(Error{"--funcs needs -x BINARY (kernel functions: see /proc/kallsyms)"});
      auto resolver = probe::BinaryResolver::Open(o->exec);
      if (!resolver) return ReportError(resolver.error());
      for (const auto& f : (*resolver)->Functions(o->funcs)) std::printf("%s\n", f.c_str());
      return 0;
    }
    if (!o->vars.empty() || !o->line.empty()) {
      if (o->exec.empty()) return ReportError(Error{"--vars and --line need -x BINARY with DWARF"});
      auto resolver = probe::BinaryResolver::Open(o->exec);
      if (!resolver) return ReportError(resolver.error());
      auto text = !o->vars.empty() ? (*resolver)->Variables(o->vars) : (*resolver)->Lines(o->line);
      if (!text) return ReportError(text.error());
      std::fputs(text->c_str(), stdout);
      return 0;
    }
    bool list = cmd->count("--list") > 0;
    if (adds.empty() && o->del.empty() && !list && !o->cleanup) {
      if (!o->definitions.empty()) return 0;
      std::fprintf(stderr, "%s", cmd->help().c_str());
      return 2;
    }
    auto tracefs = capture::Tracefs::Open();
    if (!tracefs) return ReportError(tracefs.error());
    probe::ProbeManager manager(tracefs->root());
    for (const auto& d : adds) {
      auto p = ResolveProbe(d, o->exec);
      if (!p) return ReportError(p.error());
      if (!p->note.empty()) std::fprintf(stderr, "exitprof probe: %s\n", p->note.c_str());
      if (auto ok = CheckKernelProbeable(*p, tracefs->root(), o->vmlinux); !ok) return ReportError(ok.error());
      if (!p->is_uprobe && !manager.KprobesSupported()) {
        return ReportError(Error{"this kernel has no kprobe events (built without CONFIG_KPROBE_EVENTS): kernel function " +
                                     p->symbol + " cannot be probed here; user-space probes work (-x BINARY)",
                                 1});
      }
      auto name = manager.Add(*p, o->force);
      if (!name) return ReportError(name.error());
      std::printf("Added new event:\n  %-24s (on %s%s)\n\nYou can now use it in all perf tools, such as:\n\n"
                  "\texitprof record -e %s -g -- COMMAND\n\tperf record -e %s -aR -- sleep 1\n\n",
                  name->c_str(), d.c_str(), o->exec.empty() ? "" : (" in " + o->exec).c_str(), name->c_str(), name->c_str());
    }
    for (const auto& pattern : o->del) {
      auto removed = manager.Delete(pattern);
      if (!removed) return ReportError(removed.error());
      if (removed->empty()) {
        std::fprintf(stderr, "exitprof probe: no probe matches %s\n", pattern.c_str());
        return 1;
      }
      for (const auto& n : *removed) std::printf("Removed event: %s\n", n.c_str());
    }
    if (o->cleanup) {
      auto removed = manager.Cleanup();
      if (!removed) return ReportError(removed.error());
      for (const auto& n : *removed) std::printf("Removed event: %s\n", n.c_str());
      if (removed->empty()) std::printf("No probes of exitprof's are left.\n");
    }
    if (list) {
      bool has_group = o->list.find(':') != std::string::npos;
      for (const auto& p : manager.List()) {
        if (!o->list.empty() && !probe::GlobMatch(o->list, has_group ? p.Name() : p.event)) continue;
        std::printf("  %-28s (on %s)\n", p.Name().c_str(), p.definition.c_str());
      }
    }
    return 0;
  };
}

}  // namespace exitprof::cli
