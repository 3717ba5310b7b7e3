// `exitprof record --aggregate`: counts instead of a recording. The kernel aggregates (BPF)
// and the snapshot is written as JSON with the keys of `report --format json`, once at the end
// or one line per --interval. Without BPF, the same JSON from perf_event counting.
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>

#include "capture/capture_loop.h"
#include "capture/workload.h"
#include "cli/aggregate_record.h"
#include "cli/commands.h"
#include "live/live_intervals.h"
#include "render/report_render.h"

namespace exitprof::cli {

using live::LiveOptions;
using live::OpenBpfOrSayWhy;
using live::RunBpfIntervals;
using live::RunPerfIntervals;

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f && f != stdout) std::fclose(f);
  }
};

}  // namespace

int RunAggregateRecord(const AggregateRecordOptions& o) {
  const bool to_stdout = o.output == "-";
  for (pid_t pid : o.pids) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return ReportError(Error{"-p " + std::to_string(pid) + ": no such process"});
  }
  std::optional<capture::Workload> workload;
  if (!o.command.empty()) {
    auto w = capture::Workload::Prepare(o.command, to_stdout);
    if (!w) return ReportError(w.error());
    workload.emplace(std::move(*w));
  }
  std::unique_ptr<std::FILE, FileCloser> out(to_stdout ? stdout : std::fopen(o.output.c_str(), "we"));
  if (!out) return ReportError(Error{o.output + ": cannot create: " + std::strerror(errno), 1});
  LiveOptions live;
  live.pids = workload && !o.all ? std::vector<pid_t>{workload->pid()} : o.pids;
  live.interval = o.interval;
  live.command = "exitprof record";
  live.workload = workload && !o.all;

  std::map<std::string, uint64_t> totals;
  uint64_t dropped = 0, intervals = 0;
  bool write_failed = false;
  auto emit = [&](analysis::ReportModel& model) {
    for (const auto& e : model.events) totals[e.name] += e.count;
    dropped += model.lost_events;
    ++intervals;
    std::string json = render::RenderJson(model, o.interval > 0);
    if (std::fwrite(json.data(), 1, json.size(), out.get()) != json.size() || std::fflush(out.get()) != 0) write_failed = true;
  };
  const auto start = std::chrono::steady_clock::now();
  int child_status = 0;
  auto stop = [&]() {
    if (capture::StopRequested()) return true;
    if (o.duration > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= o.duration) return true;
    if (workload) {
      if (auto status = workload->Poll()) {
        child_status = *status;
        return true;
      }
    }
    return false;
  };
  auto started = [&]() -> Result<void> { return workload ? workload->Start() : Result<void>{}; };
  capture::InstallStopSignals();
  std::string source = "perf_event";
  Result<void> ran;
  std::unique_ptr<capture::bpf::KvmAggregator> agg;
  if (o.bpf) agg = OpenBpfOrSayWhy(live);
  if (agg) {
    source = std::string("BPF, ") + capture::bpf::AttachModeName(agg->mode());
    ran = RunBpfIntervals(*agg, live, emit, stop, started);
  } else {
    ran = RunPerfIntervals(live, emit, stop, started);
  }
  if (!ran) return ReportError(ran.error());
  if (write_failed) return ReportError(Error{o.output + ": write failed: " + std::strerror(errno), 1});
  std::string events;
  for (const auto& [name, n] : totals) events += (events.empty() ? "" : ", ") + name + " " + std::to_string(n);
  std::fprintf(stderr, "exitprof record: aggregated (%s) into %s, %llu interval(s): %s; not counted (maps full): %llu\n",
               source.c_str(), to_stdout ? "<stdout>" : o.output.c_str(), static_cast<unsigned long long>(intervals),
               events.c_str(), static_cast<unsigned long long>(dropped));
  capture::CaptureCounts counts;
  for (const auto& [name, n] : totals) counts.samples_by_event[name] = n;
  WarnIfKvmExitSilent(counts);
  if (child_status != 0) std::fprintf(stderr, "exitprof record: the command exited with status %d\n", child_status);
  return 0;
}

}  // namespace exitprof::cli
