#include <cstdio>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "analysis/exit_stats.h"
#include "analysis/report_model.h"
#include "cli/commands.h"
#include "cli/validators.h"
#include "cli/report_callgraph.h"
#include "report/pipeline.h"
#include "render/report_render.h"
#include "render/report_tables.h"

namespace exitprof::cli {

namespace {

// The tables --by names: the render registry's (render/report_tables.h).
const std::vector<std::string> kSections = render::ReportTableNames();

std::string JoinedSections() { return fmt::format("{}", fmt::join(kSections, ",")); }

std::vector<std::string> SplitCommas(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    std::stringstream ss(item);
    std::string part;
    while (std::getline(ss, part, ',')) {
      if (!part.empty()) out.push_back(part);
    }
  }
  return out;
}

// "10ms", "250us", "1s", "500000ns", "auto" (0) -> nanoseconds.
Result<uint64_t> ParseDuration(const std::string& text) {
  if (text == "auto") return uint64_t{0};
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  const std::map<std::string, uint64_t> units = {{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}};
  auto it = units.find(unit);
  if (digits == 0 || digits > 12 || it == units.end()) {
    return Fail("--timeline " + text + ": expected a bucket width such as 10ms, 250us, 1s, or auto");
  }
  uint64_t v = std::stoull(text.substr(0, digits)) * it->second;
  if (v == 0) return Fail("--timeline " + text + ": the bucket width must be above 0");
  return v;
}

// The flags of `report`, as given.
struct Flags {
  std::string input = "perf.data";
  std::vector<std::string> reasons;
  std::optional<uint32_t> pid, vcpu;
  std::string time;
  size_t top = 10;
  std::string format = "text";
  std::vector<std::string> by;
  bool latency = false;
  bool explain = false;
  std::string timeline;
  std::string qmp;
  std::string device_map;
  std::string text;
  symbols::GuestSymbolOptions guest;
  std::string kaslr_offset;
  bool inline_chain = false;
  CallgraphOptions callgraph;
  unsigned threads = 0;
  std::string key = "total";
  std::string vm_name;  // -g
};

std::string JoinedBy(const std::vector<std::string>& by) { return fmt::format("{}", fmt::join(by, ",")); }

std::string Event(const Flags& o) { return o.callgraph.event.empty() ? std::string("vmexit") : o.callgraph.event; }

bool Filtered(const analysis::ExitFilter& f) {
  return f.pid || f.vcpu || !f.reasons.empty() || !f.guest.empty() || f.time_begin_ns || f.time_end_ns;
}

// --format csv prints one table: --by's, else the one the event calls for.
std::string CsvTable(const Flags& o) {
  auto by = SplitCommas(o.by);
  const std::string event = Event(o);
  std::string table = by.empty() ? (event == "vmexit" ? "reason" : "latency") : by[0];
  if (table == "latency" && event != "vmexit") table = event == "ioport" ? "ioport" : "mmio-cost";
  return table;
}

const char* const kExitTableFlags[] = {"--latency", "--explain", "--timeline", "--by", "-k", "--top", "-j", "--qmp",
                                       "--device-map", "--vmlinux", "--kallsyms", "--system-map", "--kaslr-offset",
                                       "--debug-dir", "--inline"};

// Options that cannot apply together, refused in one line (exit status 2); -1 when they fit.
int CheckTogether(const CLI::App& cmd, const Flags& o) {
  if (!o.text.empty() && cmd.count("-i")) return Conflict("--text FILE", "-i FILE", "give the input once");
  if (int status = CheckCallgraphOptions(cmd, o.callgraph, o.format); status >= 0) return status;
  const std::string mode = o.callgraph.callgraph ? "--callgraph" : o.format == "folded" ? "--format folded" : "--flamegraph";
  if (o.callgraph.Wanted(o.format)) {
    for (const char* flag : kExitTableFlags) {
      if (cmd.count(flag)) return Conflict(flag, mode, "it applies to the exit tables, not to call graphs");
    }
    return -1;
  }
  if (!o.qmp.empty() && !o.device_map.empty()) return Conflict("--qmp", "--device-map", "devices are attributed with one map");
  const bool with_symbols = !o.guest.vmlinux.empty() || !o.guest.kallsyms.empty() || !o.guest.system_map.empty();
  if (!with_symbols) {
    std::string given = FirstGiven(cmd, {"--kaslr-offset", "--debug-dir"});
    if (!given.empty()) return ReportError(Error{given + " applies to guest symbols: give --vmlinux ELF, --system-map FILE or --kallsyms FILE"});
  }
  if (o.inline_chain && o.guest.vmlinux.empty()) return ReportError(Error{"--inline needs --vmlinux ELF (with DWARF): inline chains come from its debug info"});
  if (o.inline_chain && o.format == "csv") return Conflict("--inline", "--format csv", "CSV has no inline chains (text shows them with --inline; JSON always holds them)");
  const auto by = SplitCommas(o.by);
  auto asks = [&](const char* table) { return std::find(by.begin(), by.end(), table) != by.end(); };
  if (asks("latency") && !o.latency && Event(o) == "vmexit") {
    return ReportError(Error{"--by latency needs --latency: exit cost comes from pairing each kvm_exit with its kvm_entry"});
  }
  if (asks("timeline") && !cmd.count("--timeline")) {
    return ReportError(Error{"--by timeline needs --timeline [WIDTH] (e.g. --timeline 10ms; auto without WIDTH)"});
  }
  if (o.format == "text" && !by.empty()) {
    // A table computed but not in --by would be left out without a word.
    if (cmd.count("--timeline") && !asks("timeline")) return Conflict("--timeline", "--by " + JoinedBy(by), "add timeline to --by");
    if (o.latency && !o.explain && !asks("latency")) return Conflict("--latency", "--by " + JoinedBy(by), "add latency to --by");
  }
  if (cmd.count("-k") && !o.latency && Event(o) == "vmexit") {
    return ReportError(Error{"-k orders the latency tables: add --latency (or --event ioport|mmio)"});
  }
  if (o.format == "csv") {
    const std::string table = CsvTable(o);
    if (o.explain) return Conflict("--explain", "--format csv", "CSV prints one table (--by); the explanations are in text and JSON");
    if (cmd.count("--timeline") && table != "timeline") return Conflict("--timeline", "--format csv --by " + table, "add --by timeline for its CSV");
  }
  return -1;
}

// Flags -> pipeline options; returns an exit status when they are refused, else -1.
int MakeOptions(const CLI::App& cmd, Flags& o, report::Options& run) {
  if (int status = CheckTogether(cmd, o); status >= 0) return status;
  run.input.path = o.text.empty() ? o.input : o.text;
  run.input.force_text = !o.text.empty();
  analysis::ExitFilter& filter = run.filter;
  filter.reasons = SplitCommas(o.reasons);
  filter.pid = o.pid;
  filter.vcpu = o.vcpu;
  filter.guest = o.vm_name;
  if (!o.time.empty()) {
    auto range = ParseTimeRange(o.time);
    if (!range) return ReportError(range.error());
    filter.time_begin_ns = range->first;
    filter.time_end_ns = range->second;
  }
  if (o.callgraph.Wanted(o.format)) {
    run.stacks = true;
    run.stack = StackOptionsOf(o.callgraph, o.format);
    run.host_kallsyms = o.callgraph.kallsyms;
    return -1;
  }
  const std::string event = Event(o);
  if (event != "vmexit" && event != "ioport" && event != "mmio") {
    return ReportError(Error{"--event " + event + ": the exit report's tables are vmexit, ioport and mmio (as perf kvm stat's); other events need --callgraph"});
  }
  filter.latency = o.latency || event != "vmexit";
  if (analysis::ReportModel probe; !analysis::SortLatency(probe, o.key)) {
    return ReportError(Error{"-k " + o.key + ": expected sample (or count), time (mean), total, max, min or mean"});
  }
  run.latency_key = o.key;
  if (cmd.count("--timeline")) {
    filter.timeline = true;
    auto width = ParseDuration(o.timeline.empty() ? "auto" : o.timeline);
    if (!width) return ReportError(width.error());
    filter.timeline_bucket_ns = *width;
  }
  auto by = SplitCommas(o.by);
  for (const auto& section : by) {
    if (std::find(kSections.begin(), kSections.end(), section) == kSections.end()) {
      return ReportError(Error{"--by " + section + ": unknown table; expected one of " + JoinedSections()});
    }
  }
  if (o.format == "csv" && by.size() > 1) return ReportError(Error{"--format csv prints one table: give one --by"});
  const bool with_symbols = !o.guest.vmlinux.empty() || !o.guest.kallsyms.empty() || !o.guest.system_map.empty();
  if (!o.kaslr_offset.empty()) {
    auto offset = symbols::ParseKaslrOffset(o.kaslr_offset);
    if (!offset) return ReportError(offset.error());
    o.guest.kaslr_offset = *offset;
  }
  if (!with_symbols && std::find(by.begin(), by.end(), "sym") != by.end()) {
    return ReportError(Error{"--by sym needs guest symbols: give --kallsyms FILE, --system-map FILE or --vmlinux ELF"});
  }
  if (with_symbols) run.guest_symbols = o.guest;
  run.top = o.top;
  run.threads = o.threads;
  run.devices = true;
  run.qmp = o.qmp;
  run.device_map = o.device_map;
  run.explain = o.explain ? 5 : 0;
  return -1;
}

}  // namespace

std::function<int()> AddReportCommand(CLI::App& app) {
  auto o = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("report", "Why do my VMs exit: exits by reason, VM, vCPU and guest RIP");
  cmd->add_option("-i,--input", o->input, "perf.data, trace.dat (trace-cmd) or text capture (perf script, trace-cmd report, ftrace) to read; - reads a perf pipe-mode stream")
      ->capture_default_str();
  cmd->add_option("--text", o->text,
                  "Read FILE as a text capture of kvm events (perf script, trace-cmd report, ftrace trace/trace_pipe "
                  "output; also found without this flag when the first lines look like one)")
      ->type_name("FILE");
  cmd->add_option("--reason", o->reasons, "Only exits with this reason (repeatable, case-insensitive)");
  cmd->add_option("-p,--pid", o->pid, "Only events of this process (the VMM, e.g. QEMU)")->check(Positive());
  cmd->add_option("--vcpu", o->vcpu, "Only exits of this vCPU id")->check(NonNegative());
  cmd->add_option("--time", o->time, "Only events between START,STOP seconds (perf script's timestamps)");
  cmd->add_option("-g,--guest", o->vm_name,
                  "Only the VM with this name: QEMU's -name kept in INPUT.devices.json, else its process name (the VM table's Command)");
  cmd->add_option("-k,--key", o->key, "Order of the latency tables, as perf kvm stat -k: sample (count), time (mean, as perf), total, max, min, mean")
      ->capture_default_str();
    cmd->add_option("--top", o->top, "Rows shown: guest RIPs and functions per reason, ports, MMIO addresses (0 = all)")->capture_default_str()->check(NonNegative());
  cmd->add_flag("--latency", o->latency, "Exit cost: kvm_exit -> kvm_entry per reason, percentiles and histograms");
  cmd->add_flag("--explain", o->explain, "What the top exit sources are and what usually removes them");
  cmd->add_option("--timeline", o->timeline, "Exits per reason per time bucket: a width like 10ms, 1s, or auto")
      ->expected(0, 1)
      ->default_str("auto");
  cmd->add_option("--vmlinux", o->guest.vmlinux, "Guest kernel ELF (with DWARF: file:line and inline chains) to name guest RIPs");
  cmd->add_option("--kallsyms", o->guest.kallsyms, "Guest /proc/kallsyms dump (runtime addresses, [module] symbols) to name guest RIPs; a trace.dat recorded in the guest gives the kallsyms it embeds");
  cmd->add_option("--system-map", o->guest.system_map, "Guest System.map to name guest RIPs");
  cmd->add_option("--kaslr-offset", o->kaslr_offset, "Guest KASLR offset (runtime - link-time address); default: kallsyms _text minus vmlinux/System.map _text");
  cmd->add_option("--debug-dir", o->guest.debug_dirs, "Where to look for the vmlinux's separate debug file; repeatable")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("--inline", o->inline_chain, "Show the functions each guest RIP's code was inlined into (needs --vmlinux with DWARF)");
  cmd->add_option("--format", o->format, "Output: text, json, csv, or folded (stacks for FlameGraph; needs a recording with stacks)")
      ->check(CLI::IsMember({"text", "json", "csv", "folded"}))
      ->capture_default_str();
  cmd->add_option("--by", o->by,
                  "Tables to show, comma-separated: " + JoinedSections() +
                      " (text: default every table there is data for; csv: the one table, default reason)");
  cmd->add_option("-j,--threads", o->threads, "Threads to read the recording with (default: the CPUs available); the output is the same")
      ->check(CLI::Range(1u, 1024u));
  cmd->add_option("--qmp", o->qmp, "Attribute ports and MMIO to devices with the device map of this running QEMU (QMP socket)");
  cmd->add_option("--device-map", o->device_map, "Device map file to attribute with (default: INPUT.devices.json when it exists)");
  cmd->footer(
      "\nExamples:\n"
      "  perf record -e kvm:kvm_exit -e kvm:kvm_entry -a -- sleep 1 && exitprof report\n"
      "  exitprof report -i perf.data --reason IO_INSTRUCTION --top 20\n"
      "  exitprof report -i perf.data --format json | jq '.exits.by_reason'\n"
      "  exitprof report -i perf.data --format csv --by vcpu\n"
      "  exitprof report -i perf.data --latency -k max            exit cost, costliest single exit first\n"
      "  exitprof report -i perf.data --latency --event ioport    cost per port (perf kvm stat --event=ioport); mmio too\n"
      "  exitprof report -i perf.data --by cpu -g vm1             exits per host CPU of the VM named vm1\n"
      "  exitprof report -i big.data -j 1                      read on one thread\n"
      "  exitprof report -i vm.data --by device             which device, BAR and register (vm.data.devices.json)\n"
      "  exitprof report -i vm.data --qmp /tmp/vm.sock --by pio,device\n"
      "  exitprof report -i perf.data --kallsyms guest.kallsyms --by reason,sym,rip\n"
      "  exitprof report -i perf.data --vmlinux vmlinux --kallsyms guest.kallsyms --inline --by rip\n"
      "  exitprof report -i probe.data --callgraph            call graphs (record -g / --call-graph dwarf)\n"
      "  exitprof report -i probe.data --flamegraph f.svg     interactive flame graph; --format folded for FlameGraph\n"
      "  trace-cmd record -e kvm:kvm_exit -e kvm:kvm_entry && exitprof report -i trace.dat --by reason,vcpu\n"
      "  perf script -i perf.data > exits.txt && exitprof report -i exits.txt     text captures (also trace-cmd report, trace_pipe)\n"
      "  exitprof report --text mail-excerpt.txt --by reason,vcpu\n" +
      render::ReportTablesHelp());
  AddCallgraphOptions(*cmd, o->callgraph);
  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    report::Options run;
    if (auto status = MakeOptions(*cmd, *o, run); status >= 0) return status;
    auto built = report::Run(run);
    if (!built) return ReportError(built.error());
    if (run.stacks) {
      PrintWarnings(built->info.warnings);
      return RenderCallgraph(*built, run.input.path, o->format, o->callgraph, Filtered(run.filter));
    }
    PrintWarnings(built->model.warnings);
    std::string out;
    if (o->format == "json") out = render::RenderJson(built->model);
    else if (o->format == "csv") {
      if (!built->empty_why.empty()) std::fprintf(stderr, "exitprof: note: %s\n", built->empty_why.c_str());
      out = render::RenderCsv(built->model, CsvTable(*o), o->top);
    }
    else {
      render::TextOptions text{SplitCommas(o->by), o->top};
      text.inline_chain = o->inline_chain;
      text.latency_event = Event(*o);
      out = render::RenderText(built->model, text);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  };
}

}  // namespace exitprof::cli
