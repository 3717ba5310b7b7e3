#include <cstdio>
#include <map>
#include <sstream>

#include "analysis/exit_stats.h"
#include "analysis/report_model.h"
#include "cli/commands.h"
#include "render/report_render.h"

namespace exitprof::cli {

namespace {

const std::vector<std::string> kSections = {"reason", "latency", "vm", "vcpu", "rip", "pio", "mmio", "msr", "userspace", "timeline", "injected"};

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

Result<analysis::ReportModel> BuildReport(const std::string& path, const analysis::ExitFilter& filter, size_t top) {
  auto reader = OpenRecording(path);
  if (!reader) return tl::unexpected(reader.error());
  (*reader)->SetOrdered(filter.latency);  // counting does not depend on order; pairing does
  analysis::ExitStats stats(filter);
  auto read = (*reader)->Run(stats);
  if (!read) return tl::unexpected(read.error());
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
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("report", "Why do my VMs exit: exits by reason, VM, vCPU and guest RIP");
  cmd->add_option("-i,--input", o->input, "perf.data or trace.dat (trace-cmd) file to read; - reads a perf pipe-mode stream")
      ->capture_default_str();
  cmd->add_option("--reason", o->reasons, "Only exits with this reason (repeatable, case-insensitive)");
  cmd->add_option("-p,--pid", o->pid, "Only events of this process (the VMM, e.g. QEMU)");
  cmd->add_option("--vcpu", o->vcpu, "Only exits of this vCPU id");
  cmd->add_option("--time", o->time, "Only events between START,STOP seconds (perf script's timestamps)");
  cmd->add_option("--top", o->top, "Guest RIPs shown per reason (0 = all)")->capture_default_str();
  cmd->add_flag("--latency", o->latency, "Exit cost: kvm_exit -> kvm_entry per reason, percentiles and histograms");
  cmd->add_flag("--explain", o->explain, "What the top exit sources are and what usually removes them");
  cmd->add_option("--timeline", o->timeline, "Exits per reason per time bucket: a width like 10ms, 1s, or auto")
      ->expected(0, 1)
      ->default_str("auto");
  cmd->add_option("--format", o->format, "Output: text, json or csv")
      ->check(CLI::IsMember({"text", "json", "csv"}))
      ->capture_default_str();
  cmd->add_option("--by", o->by,
                  "Tables to show: reason,latency,vm,vcpu,rip,pio,mmio,msr,userspace (csv: the one table; default reason)");
  cmd->footer(
      "\nExamples:\n"
      "  perf record -e kvm:kvm_exit -e kvm:kvm_entry -a -- sleep 1 && exitprof report\n"
      "  exitprof report -i perf.data --reason IO_INSTRUCTION --top 20\n"
      "  exitprof report -i perf.data --format json | jq '.exits.by_reason'\n"
      "  exitprof report -i perf.data --format csv --by vcpu\n"
      "  trace-cmd record -e kvm:kvm_exit -e kvm:kvm_entry && exitprof report -i trace.dat --by reason,vcpu\n");
  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    analysis::ExitFilter filter;
    filter.reasons = SplitCommas(o->reasons);
    filter.pid = o->pid;
    filter.vcpu = o->vcpu;
    filter.latency = o->latency;
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
        return ReportError(Error{"--by " + section + ": unknown table; expected one of reason, latency, vm, vcpu, rip, pio, mmio, msr, userspace, timeline, injected"});
      }
    }
    if (o->format == "csv" && by.size() > 1) return ReportError(Error{"--format csv prints one table: give one --by"});

    auto built = BuildReport(o->input, filter, o->top);
    if (!built) return ReportError(built.error());
    auto& model = *built;
    if (o->explain) analysis::AddExplanations(model, 5);
    std::string out;
    if (o->format == "json") out = render::RenderJson(model);
    else if (o->format == "csv") out = render::RenderCsv(model, by.empty() ? "reason" : by[0]);
    else out = render::RenderText(model, {by, o->top});
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  };
}

}  // namespace exitprof::cli
