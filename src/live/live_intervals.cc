#include "live/live_intervals.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include <unistd.h>
#include <cerrno>

#include "analysis/exit_stats.h"
#include "capture/capture_loop.h"
#include "capture/live_decoder.h"
#include "capture/recorder.h"
#include "capture/system_info.h"
#include "live/bpf_counts.h"
#include "perfdata/abi.h"

namespace exitprof::live {

namespace {

using Clock = std::chrono::steady_clock;

bool IntervalOver(const LiveOptions& o, Clock::time_point start) {
  return o.interval > 0 && Clock::now() - start >= std::chrono::duration<double>(o.interval);
}

}  // namespace

Result<void> RunPerfIntervals(const LiveOptions& o, const EmitModel& emit, const StopWhen& stop,
                              const std::function<Result<void>()>& started) {
  capture::RecordOptions options;
  options.events = o.events;
  options.pids = o.pids;
  options.mmap_pages = 256;
  auto recorder = capture::Recorder::Open(options, o.workload);
  if (!recorder) return tl::unexpected(recorder.error());
  const auto& header = (*recorder)->header();
  analysis::ExitStats stats({});
  if (auto r = stats.OnSessionReady(header); !r) return r;
  // Thread names as they are now; COMM records keep them current.
  for (const auto& t : o.workload ? std::vector<capture::ThreadInfo>{} : capture::ListThreads(o.pids)) {
    perfdata::Event comm;
    comm.type = perfdata::kRecordComm;
    comm.pid = static_cast<uint32_t>(t.pid);
    comm.tid = static_cast<uint32_t>(t.tid);
    comm.comm = t.comm;
    stats.OnEvent(comm);
  }
  capture::LiveDecoder decoder(header);
  if (!o.workload) {
    if (auto r = (*recorder)->Enable(); !r) return r;
  }
  if (started) {
    if (auto r = started(); !r) return r;
  }
  uint64_t done = 0;
  bool stopping = false;
  while (!stopping && (o.iterations == 0 || done < o.iterations)) {
    recording::ReadStats read;
    read.samples_by_attr.assign(header.attrs.size(), 0);
    stats.ResetCounts();
    const auto start = Clock::now();
    auto drain = [&]() -> Result<void> {
      return (*recorder)->DrainTo([&](std::span<const uint8_t> record) -> Result<void> {
        decoder.Feed(record, stats, read);
        return {};
      });
    };
    while (!IntervalOver(o, start)) {
      if (stop()) {
        stopping = true;
        break;
      }
      long long wait_ms = 100;
      if (o.interval > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(start + std::chrono::duration<double>(o.interval) - Clock::now()).count();
        wait_ms = std::max<long long>(1, std::min<long long>(left, 100));
      }
      if (auto r = (*recorder)->Poll(static_cast<int>(wait_ms)); !r) return r;
      if (auto r = drain(); !r) return r;
    }
    if (stopping) {
      (void)(*recorder)->Disable();
      if (auto r = drain(); !r) return r;  // what the rings still hold belongs to this interval
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    auto model = analysis::BuildReportModel(header, read, stats, o.top);
    model.path = "live";
    analysis::SetInterval(model, seconds);
    ++done;
    emit(model);
  }
  (void)(*recorder)->Disable();
  return {};
}

Result<void> RunBpfIntervals(const capture::bpf::KvmAggregator& aggregator, const LiveOptions& o, const EmitModel& emit,
                             const StopWhen& stop, const std::function<Result<void>()>& started) {
  recording::SessionInfo info;
  capture::FillSystemInfo(info, {});
  const auto reasons = kvm::ReasonTable::FromTracefs();
  BpfModelContext ctx{&aggregator, &reasons, info.hostname, info.os_release, info.cpu_id, o.top};
  auto before = aggregator.Read();
  if (!before) return tl::unexpected(before.error());
  if (started) {
    if (auto r = started(); !r) return r;
  }
  uint64_t done = 0;
  bool stopping = false;
  capture::bpf::Snapshot warned = *before;
  while (!stopping && (o.iterations == 0 || done < o.iterations)) {
    const auto start = Clock::now();
    while (!IntervalOver(o, start)) {
      if (stop()) {
        stopping = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto now = aggregator.Read();
    if (!now) return tl::unexpected(now.error());
    const double seconds = (now->time_ns - before->time_ns) / 1e9;
    auto delta = capture::bpf::Delta(*now, *before);
    WarnIfMapsFull(o.command, capture::bpf::Delta(*now, warned));
    warned = *now;
    auto model = BuildBpfModel(delta, seconds, ctx);
    before = std::move(now);
    if (o.forget_ended_threads) {
      // After the model is built: an ended thread's last counts are shown once, then forgotten
      // in the maps and in `before` alike, so the next delta does not see them vanish.
      auto forgotten = aggregator.ForgetThreads(*before, [](uint32_t pid, uint32_t tid) {
        return ::access(("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid)).c_str(), F_OK) != 0 && errno == ENOENT;
      });
      if (!forgotten) return tl::unexpected(forgotten.error());
    }
    ++done;
    emit(model);
  }
  return {};
}

std::unique_ptr<capture::bpf::KvmAggregator> OpenBpfOrSayWhy(const LiveOptions& o) {
  capture::bpf::AggregatorOptions options;
  options.pids = o.pids;
  auto agg = capture::bpf::KvmAggregator::Open(options);
  if (!agg) {
    std::fprintf(stderr, "%s: %s; counting with perf_event instead\n", o.command, agg.error().message.c_str());
    return nullptr;
  }
  if (!(*agg)->exit_attached()) {
    std::fprintf(stderr, "%s: BPF (%s): kvm_exit/kvm_entry not counted: %s\n", o.command,
                 capture::bpf::AttachModeName((*agg)->mode()), (*agg)->exit_status().c_str());
  }
  return std::move(*agg);
}

}  // namespace exitprof::live
