#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "capture/capture_loop.h"
#include "capture/recorder.h"
#include "capture/workload.h"
#include "cli/aggregate_record.h"
#include "cli/commands.h"

namespace exitprof::cli {

namespace {

void PrintSummary(const std::string& path, const capture::CaptureCounts& counts) {
  std::string events;
  for (const auto& [name, n] : counts.samples_by_event) events += (events.empty() ? "" : ", ") + name + " " + std::to_string(n);
  std::fprintf(stderr, "exitprof record: %llu samples written to %s (%.1f MB): %s; lost events: %llu\n",
               static_cast<unsigned long long>(counts.samples()), path.c_str(), counts.bytes / 1e6, events.c_str(),
               static_cast<unsigned long long>(counts.lost));
  if (counts.lost) {
    std::fprintf(stderr, "exitprof record: %llu events were lost (the ring buffers overflowed): raise -m PAGES or record fewer events\n",
                 static_cast<unsigned long long>(counts.lost));
  }
}

}  // namespace

void WarnIfKvmExitSilent(const capture::CaptureCounts& counts) {
  auto exit = counts.samples_by_event.find("kvm:kvm_exit");
  if (exit == counts.samples_by_event.end() || exit->second != 0) return;
  uint64_t others = counts.samples() - exit->second;
  if (others == 0) return;
  std::fprintf(stderr,
               "exitprof: kvm:kvm_exit fired 0 times while other kvm events fired %llu times: this host's KVM "
               "does not emit kvm_exit (e.g. a PVM backend); report analyses userspace exits, port IO and MMIO instead\n",
               static_cast<unsigned long long>(others));
}

std::function<int()> AddRecordCommand(CLI::App& app) {
  struct Options {
    bool all = false;
    std::vector<pid_t> pids;
    std::vector<std::string> events;
    std::string filter;
    bool callchain = false;
    size_t pages = 256;
    std::string output = "perf.data";
    double duration = 0;
    std::vector<std::string> command;
    bool aggregate = false, no_bpf = false;
    double interval = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("record", "Record kvm tracepoints into a perf.data that perf and exitprof read");
  cmd->add_flag("-a,--all-cpus", o->all, "System-wide (the default without -p or a command)");
  cmd->add_option("-p,--pid", o->pids, "Follow these processes (a VMM such as QEMU), repeatable");
  cmd->add_option("-e,--event", o->events, "Tracepoint SYSTEM:EVENT, repeatable (default: the kvm events that exist)");
  cmd->add_option("--filter", o->filter, "ftrace filter for the last -e event, e.g. 'port == 0x3f8'");
  cmd->add_flag("-g", o->callchain, "Record kernel callchains");
  cmd->add_option("-m,--mmap-pages", o->pages, "Ring buffer pages per CPU (power of two)")->capture_default_str();
  cmd->add_option("-o,--output", o->output, "Output file; - writes pipe mode to stdout")->capture_default_str();
  cmd->add_option("--duration", o->duration, "Stop after this many seconds");
  cmd->add_flag("--aggregate", o->aggregate,
                "Count in the kernel (BPF) instead of recording events; -o gets a JSON snapshot with the keys of "
                "`report --format json` (default: stdout)");
  cmd->add_option("--interval", o->interval, "With --aggregate: one JSON line per this many seconds")->check(CLI::Range(0.05, 86400.0));
  cmd->add_flag("--no-bpf", o->no_bpf, "With --aggregate: count with perf_event, not BPF");
  cmd->add_option("command", o->command, "Command to run and record (after --)");
  cmd->footer(
      "\nExamples:\n"
      "  exitprof record -a --duration 5                      all kvm events on the host for 5 s\n"
      "  exitprof record -p $(pidof qemu-system-x86_64) -o vm.data\n"
      "  exitprof record -e kvm:kvm_pio --filter 'port == 0x3f8' -- exitprof-guest\n"
      "  exitprof record -o - -a --duration 1 | exitprof report -i -\n"
      "  exitprof record --aggregate -o counts.json -- exitprof-guest     counted in the kernel, JSON at the end\n"
      "  exitprof record --aggregate --interval 1 -a --duration 10         one JSON line per second\n");
  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    if (o->aggregate) {
      if (!o->events.empty() || !o->filter.empty() || o->callchain)
        return ReportError(Error{"--aggregate counts the kvm events it knows: -e, --filter and -g apply to recordings"});
      if (o->all && !o->pids.empty()) return ReportError(Error{"-a and -p exclude each other"});
      AggregateRecordOptions a;
      a.all = o->all;
      a.pids = o->pids;
      a.interval = o->interval;
      a.duration = o->duration;
      a.output = cmd->count("-o") ? o->output : "-";
      a.command = o->command;
      a.bpf = !o->no_bpf;
      return RunAggregateRecord(a);
    }
    if (o->interval > 0 || o->no_bpf) return ReportError(Error{"--interval and --no-bpf go with --aggregate"});
    if (o->pages == 0 || (o->pages & (o->pages - 1)) != 0) return ReportError(Error{"-m " + std::to_string(o->pages) + ": expected a power of two"});
    if (!o->filter.empty() && o->events.empty()) return ReportError(Error{"--filter applies to the last -e EVENT: give one"});
    if (o->all && !o->pids.empty()) return ReportError(Error{"-a and -p exclude each other"});
    std::optional<capture::Workload> workload;
    capture::RecordOptions options;
    options.events = o->events;
    options.filter = o->filter;
    options.callchain = o->callchain;
    options.mmap_pages = o->pages;
    options.pids = o->pids;
    options.cmdline = {"exitprof", "record"};
    if (!o->command.empty()) {
      auto w = capture::Workload::Prepare(o->command, o->output == "-");
      if (!w) return ReportError(w.error());
      workload.emplace(std::move(*w));
      if (!o->all) options.pids = {workload->pid()};
    }
    auto recorder = capture::Recorder::Open(options, workload && !o->all);
    if (!recorder) return ReportError(recorder.error());
    for (const auto& skipped : (*recorder)->skipped_events()) {
      std::fprintf(stderr, "exitprof record: %s does not exist on this kernel: skipped\n", skipped.c_str());
    }
    auto writer = o->output == "-" ? perfdata::Writer::CreateOnFd(STDOUT_FILENO, (*recorder)->header())
                                   : perfdata::Writer::Create(o->output, (*recorder)->header(), false);
    if (!writer) return ReportError(writer.error());
    if (auto r = (*recorder)->WritePreamble(*writer); !r) return ReportError(r.error());
    capture::InstallStopSignals();
    if (!workload || o->all) {
      if (auto r = (*recorder)->Enable(); !r) return ReportError(r.error());
    }
    if (workload) {
      if (auto r = workload->Start(); !r) return ReportError(r.error());
    }
    const auto start = std::chrono::steady_clock::now();
    int child_status = 0;
    auto stop = [&]() {
      if (capture::StopRequested()) return true;
      if (o->duration > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= o->duration) return true;
      if (workload) {
        if (auto status = workload->Poll()) {
          child_status = *status;
          return true;
        }
      }
      return false;
    };
    if (auto r = capture::RunCaptureLoop(**recorder, *writer, stop); !r) return ReportError(r.error());
    PrintSummary(o->output == "-" ? "<stdout>" : o->output, (*recorder)->counts());
    WarnIfKvmExitSilent((*recorder)->counts());
    if (child_status != 0) std::fprintf(stderr, "exitprof record: the command exited with status %d\n", child_status);
    return 0;
  };
}

}  // namespace exitprof::cli
