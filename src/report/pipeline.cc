#include "report/pipeline.h"

#include <vector>

#include <fmt/format.h>

#include "report/devices.h"
#include "report/guest_symbols.h"
#include "report/sample_filter.h"

namespace exitprof::report {

namespace {

Result<Report> RunStacks(const Options& o, recording::RecordingSource& reader) {
  Report out;
  reader.SetOrdered(true);  // maps must be known before the samples that use them
  out.stacks = std::make_unique<callgraph::StackSink>(o.stack, o.host_kallsyms);
  SampleFilter filtered(o.filter, *out.stacks);
  auto read = reader.Run(filtered);
  if (!read) return tl::unexpected(read.error());
  out.info = reader.info();
  out.stats = *read;
  return out;
}

std::string Joined(const std::vector<std::string>& parts) { return fmt::format("{}", fmt::join(parts, ", ")); }

// An empty report says why: the filters kept nothing (not: nothing happened).
std::string WhyEmpty(const analysis::ExitFilter& f, const std::string& path, const analysis::ReportModel& m) {
  std::vector<std::string> events, exits;
  if (f.pid) events.push_back("-p " + std::to_string(*f.pid));
  if (f.time_begin_ns || f.time_end_ns) events.push_back("--time");
  if (!f.reasons.empty()) {
    exits.push_back(fmt::format("--reason {}", fmt::join(f.reasons, ",")));
  }
  if (f.vcpu) exits.push_back("--vcpu " + std::to_string(*f.vcpu));
  if (!events.empty() && m.samples == 0) {
    return "the filters (" + Joined(events) + ") kept no event of " + path;
  }
  if (!exits.empty() && m.has_kvm_exit && m.exits_total == 0) {
    return "no exit matches " + Joined(exits) + ": the report without them lists the reasons and vCPUs there are";
  }
  return "";
}

Result<void> Enrich(const Options& o, analysis::ReportModel& model) {
  if (o.devices) {
    if (auto r = AttributeDevices(model, o.input.path, o.qmp, o.device_map); !r) return r;
  }
  if (o.guest_symbols) {
    if (auto r = AddGuestSymbols(model, *o.guest_symbols, o.top); !r) return r;
  }
  if (!o.latency_key.empty() && !analysis::SortLatency(model, o.latency_key)) {
    return Fail("-k " + o.latency_key + ": expected sample (or count), time (mean), total, max, min or mean");
  }
  if (!o.filter.guest.empty() && model.samples == 0) {
    const std::string& in = o.input.path;
    return Fail("-g " + o.filter.guest + ": no VM of that name in " + in + " (a VM's name is QEMU's -name from " + in +
                ".devices.json, else its process name: see --by vm)");
  }
  if (o.explain) analysis::AddExplanations(model, o.explain);
  return {};
}

}  // namespace

Result<Report> Run(const Options& o) {
  auto reader = OpenRecording(o.input);
  if (!reader) return tl::unexpected(reader.error());
  analysis::ExitFilter filter = o.filter;
  if (!filter.guest.empty() && filter.guest_pids.empty()) {
    filter.guest_pids = GuestPidsNamed(filter.guest, o.input.path, o.device_map);
  }
  if (o.stacks) {
    Options with_pids = o;
    with_pids.filter = std::move(filter);
    return RunStacks(with_pids, **reader);
  }
  (*reader)->SetOrdered(filter.latency);  // counting does not depend on order; pairing does
  (*reader)->SetThreads(o.threads ? o.threads : AvailableCpus(), o.chunk_bytes);
  analysis::ExitStats stats(std::move(filter));
  auto read = (*reader)->Run(stats);
  if (!read) return tl::unexpected(read.error());
  Report out;
  out.info = (*reader)->info();
  out.stats = *read;
  // With symbols, every RIP is kept so that --by sym counts all of them; the top N after.
  out.model = analysis::BuildReportModel(out.info, *read, stats, o.guest_symbols ? 0 : o.top);
  out.empty_why = WhyEmpty(o.filter, o.input.path, out.model);
  if (!out.empty_why.empty()) out.model.notes.push_back(out.empty_why);
  if (auto r = Enrich(o, out.model); !r) return tl::unexpected(r.error());
  return out;
}

}  // namespace exitprof::report
