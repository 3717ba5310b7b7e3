#include <unistd.h>

#include <cstdio>
#include <map>
#include <sstream>

#include "analysis/device_attribution.h"
#include "analysis/exit_stats.h"
#include "analysis/report_model.h"
#include "cli/commands.h"
#include "cli/validators.h"
#include "cli/report_callgraph.h"
#include "cli/report_symbols.h"
#include "render/report_render.h"
#include "render/report_tables.h"

namespace exitprof::cli {

namespace {

// The tables --by names: the render registry's (render/report_tables.h).
const std::vector<std::string> kSections = render::ReportTableNames();

std::string JoinedSections() {
  std::string out;
  for (const auto& s : kSections) out += (out.empty() ? "" : ",") + s;
  return out;
}

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

}  // namespace

Result<void> AttributeReportDevices(analysis::ReportModel& model, const std::string& input, const std::string& qmp,
                                    const std::string& device_map) {
  if (!qmp.empty()) {
    auto map = vmm::SnapshotDeviceMap(qmp);
    if (!map) return tl::unexpected(map.error());
    vmm::DeviceMapHistory history;
    history.qmp_path = qmp;
    history.Add(std::move(*map));
    analysis::AttributeDevices(model, &history, "QMP " + qmp + " (now)", "");
    return {};
  }
  std::string path = !device_map.empty() ? device_map : input == "-" ? "" : vmm::DeviceMapPathFor(input);
  if (!path.empty() && (!device_map.empty() || ::access(path.c_str(), F_OK) == 0)) {
    auto maps = vmm::LoadDeviceMapsFile(path);
    if (!maps) return tl::unexpected(maps.error());
    analysis::AttributeDevices(model, *maps, path, "");
    return {};
  }
  analysis::AttributeDevices(
      model, nullptr, "",
      "no device map: " + (path.empty() ? std::string("a piped recording has no side file") : "no " + path) +
          " (`exitprof record` keeps one when QEMU has a QMP socket, -qmp unix:PATH,server=on,wait=off), and no "
          "--qmp PATH of the running VM was given; PCI BARs cannot be told apart");
  return {};
}

Result<analysis::ReportModel> BuildReport(const std::string& path, const analysis::ExitFilter& filter, size_t top,
                                          unsigned threads) {
  auto reader = OpenRecording(path);
  if (!reader) return tl::unexpected(reader.error());
  (*reader)->SetOrdered(filter.latency);  // counting does not depend on order; pairing does
  (*reader)->SetThreads(threads ? threads : AvailableCpus());
  analysis::ExitStats stats(filter);
  auto read = (*reader)->Run(stats);
  if (!read) return tl::unexpected(read.error());
  PrintWarnings((*reader)->info());
  return analysis::BuildReportModel((*reader)->info(), *read, stats, top);
}

std::function<int()> AddReportCommand(CLI::App& app) {
  struct Options {
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
  auto o = std::make_shared<Options>();
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
    if (!o->text.empty()) {
      o->input = o->text;
      ForceTextCapture(true);
    }
    if (o->callgraph.Wanted(o->format)) return RunCallgraphReport(o->input, o->format, o->callgraph);
    analysis::ExitFilter filter;
    filter.reasons = SplitCommas(o->reasons);
    filter.pid = o->pid;
    filter.vcpu = o->vcpu;
    const std::string& event = o->callgraph.event.empty() ? std::string("vmexit") : o->callgraph.event;
    if (event != "vmexit" && event != "ioport" && event != "mmio") {
      return ReportError(Error{"--event " + event + ": the exit report's tables are vmexit, ioport and mmio (as perf kvm stat's); other events need --callgraph"});
    }
    filter.latency = o->latency || event != "vmexit";
    if (analysis::ReportModel probe; !analysis::SortLatency(probe, o->key)) {
      return ReportError(Error{"-k " + o->key + ": expected sample (or count), time (mean), total, max, min or mean"});
    }
    if (!o->vm_name.empty()) {
      filter.guest = o->vm_name;
      // QEMU's -name, kept by `exitprof record` beside the recording, names the VM's process.
      std::string side = o->device_map.empty() ? (o->input == "-" ? "" : vmm::DeviceMapPathFor(o->input)) : o->device_map;
      if (!side.empty() && ::access(side.c_str(), F_OK) == 0) {
        if (auto history = vmm::LoadDeviceMapFile(side); history && history->vm_name == o->vm_name) {
          filter.guest_pids.push_back(static_cast<uint32_t>(history->pid));
        }
      }
    }
    if (cmd->count("--timeline")) {
      filter.timeline = true;
      auto width = ParseDuration(o->timeline.empty() ? "auto" : o->timeline);
      if (!width) return ReportError(width.error());
      filter.timeline_bucket_ns = *width;
    }
    if (!o->time.empty()) {
      auto range = ParseTimeRange(o->time);
      if (!range) return ReportError(range.error());
      filter.time_begin_ns = range->first;
      filter.time_end_ns = range->second;
    }
    auto by = SplitCommas(o->by);
    for (const auto& section : by) {
      if (std::find(kSections.begin(), kSections.end(), section) == kSections.end()) {
        return ReportError(Error{"--by " + section + ": unknown table; expected one of " + JoinedSections()});
      }
    }
    if (o->format == "csv" && by.size() > 1) return ReportError(Error{"--format csv prints one table: give one --by"});

    bool with_symbols = !o->guest.vmlinux.empty() || !o->guest.kallsyms.empty() || !o->guest.system_map.empty();
    if (!o->kaslr_offset.empty()) {
      auto offset = symbols::ParseKaslrOffset(o->kaslr_offset);
      if (!offset) return ReportError(offset.error());
      o->guest.kaslr_offset = *offset;
    }
    if (!with_symbols && std::find(by.begin(), by.end(), "sym") != by.end()) {
      return ReportError(Error{"--by sym needs guest symbols: give --kallsyms FILE, --system-map FILE or --vmlinux ELF"});
    }
    // With symbols, every RIP is read so that --by sym counts all of them; the top N are kept after.
    auto built = BuildReport(o->input, filter, with_symbols ? 0 : o->top, o->threads);
    if (!built) return ReportError(built.error());
    auto& model = *built;
    if (auto r = AttributeReportDevices(model, o->input, o->qmp, o->device_map); !r) return ReportError(r.error());
    if (with_symbols) {
      auto added = AddGuestSymbols(model, o->guest, o->top);
      if (!added) return ReportError(added.error());
    }
    analysis::SortLatency(model, o->key);
    if (!o->vm_name.empty() && model.samples == 0) {
      return ReportError(Error{"-g " + o->vm_name + ": no VM of that name in " + o->input +
                               " (a VM's name is QEMU's -name from " + o->input + ".devices.json, else its process name: see --by vm)"});
    }
    if (o->explain) analysis::AddExplanations(model, 5);
    std::string out;
    if (o->format == "json") out = render::RenderJson(model);
    else if (o->format == "csv") {
      std::string table = by.empty() ? (event == "vmexit" ? "reason" : "latency") : by[0];
      if (table == "latency" && event != "vmexit") table = event == "ioport" ? "ioport" : "mmio-cost";
      out = render::RenderCsv(model, table, o->top);
    }
    else {
      render::TextOptions text{by, o->top};
      text.inline_chain = o->inline_chain;
      text.latency_event = event;
      out = render::RenderText(model, text);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  };
}

}  // namespace exitprof::cli
