// `exitprof stat`: every counter kvm_stat shows, per VM and per vCPU, from KVM's binary stats fds
// (borrowed from the VMM), QMP query-stats or debugfs, with kvm_stat's options and output modes.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "capture/capture_loop.h"
#include "cli/commands.h"
#include "cli/validators.h"
#include "cli/stat_tui.h"
#include "kvmstat/event_counters.h"
#include "kvmstat/stat_sampler.h"
#include "kvmstat/vm_discovery.h"
#include "render/stat_render.h"

namespace exitprof::cli {

using analysis::LogFields;
using analysis::StatHistory;
using analysis::StatViewOptions;

namespace {

struct StatOptions {
  std::vector<pid_t> pids;
  std::string guest, fields, log_file, qmp, source = "auto";
  double delay = 0;
  uint64_t iterations = 0;
  bool once = false, batch = false, log = false, csv = false, skip_zero = false, include_past = false;
  bool debugfs = false, tracepoints = false, vcpu = false, json = false, hist = false;
  bool bpf = false;  // -t counted by BPF programs into maps
};

// Sleeps up to `seconds`, waking early on Ctrl-C.
void Wait(double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!capture::StopRequested() && std::chrono::steady_clock::now() < end) {
    auto left = std::chrono::duration<double>(end - std::chrono::steady_clock::now());
    std::this_thread::sleep_for(std::min<std::chrono::duration<double>>(left, std::chrono::milliseconds(50)));
  }
}

// One line explaining why no VM is listed, with what to do.
std::string NoVmsMessage(const kvmstat::StatSampler& sampler, const StatOptions& o) {
  std::string text = o.pids.empty() ? "no VMs running (no process holds a kvm-vm fd)"
                                     : "no KVM VM in the given process(es) (-p): none holds a kvm-vm fd";
  if (sampler.unreadable_processes() > 0 && ::geteuid() != 0) {
    text += fmt::format("; {} processes could not be inspected: run as root (sudo exitprof stat) or with CAP_SYS_PTRACE",
                        sampler.unreadable_processes());
  }
  return text;
}

// Options that cannot apply together, refused in one line (exit status 2); -1 when they fit.
int CheckTogether(const CLI::App& cmd, const StatOptions& o) {
  const bool logging = o.log || !o.log_file.empty();
  const std::string log_flag = o.log ? "-l" : "-L";
  if (o.json && logging) return Conflict("--json", log_flag, "one output format at a time");
  if (o.csv && !logging) return ReportError(Error{"-c writes log lines as CSV: add -l (or -L FILE)"});
  if ((o.once || o.batch) && cmd.count("-n")) return Conflict(o.once ? "--once" : "-b", "-n", "it stops after one refresh");
  if (o.debugfs && cmd.count("--source") && o.source != "debugfs") return Conflict("-d", "--source " + o.source, "-d reads debugfs only");
  if (o.tracepoints) {
    std::string given = FirstGiven(cmd, {"-d", "--source", "--qmp", "-i"});
    if (!given.empty()) return Conflict(given, "-t", "-t counts kvm tracepoints, not the VMs' statistics");
  }
  return -1;
}

}  // namespace

std::function<int()> AddStatCommand(CLI::App& app) {
  auto o = std::make_shared<StatOptions>();
  CLI::App* cmd = app.add_subcommand("stat", "Every KVM statistic kvm_stat shows, per VM and per vCPU, without debugfs");
  cmd->add_option("-p,--pid", o->pids, "Only the VM(s) of these processes (repeatable)")->check(Positive());
  cmd->add_option("-g,--guest", o->guest, "Only the VM with this name (QEMU -name, else the command)");
  cmd->add_option("-f,--fields", o->fields, "Only statistics whose name matches this regex; 'help' lists them");
  cmd->add_flag("-1,--once", o->once, "One interval, print the table, exit");
  cmd->add_flag("-b,--batch", o->batch, "Batch mode: one interval, print the table, exit (as kvm_stat -b)");
  cmd->add_flag("-l,--log", o->log, "Log mode: one line of per-interval counts per refresh");
  cmd->add_option("-L,--log-to-file", o->log_file, "Log mode into FILE (appends)");
  cmd->add_flag("-c,--csv", o->csv, "Log lines as CSV");
  cmd->add_flag("-z,--skip-zero-records", o->skip_zero, "Leave out rows (log: lines) that are all zero");
  cmd->add_option("-s,--set-delay", o->delay, "Seconds between refreshes (default 3 interactive, 1 otherwise)")
      ->check(Between(0.01, 3600.0));
  cmd->add_flag("-i,--debugfs-include-past", o->include_past, "Totals since each VM started (default: since stat started)");
  cmd->add_flag("-d,--debugfs", o->debugfs, "Read debugfs only (as kvm_stat -d)");
  cmd->add_flag("-t,--tracepoints", o->tracepoints,
                "Count kvm tracepoints instead, one counter per event and exit reason (as kvm_stat -t)");
  cmd->add_flag("--bpf", o->bpf,
                "With -t: count in the kernel with BPF (one map read per refresh); falls back to -t's counters, "
                "saying why, when BPF is not allowed");
  cmd->add_flag("--vcpu", o->vcpu, "Also a table per vCPU");
  cmd->add_flag("--hist", o->hist, "Draw the histogram statistics (halt_wait_hist ...)");
  cmd->add_flag("--json", o->json, "One JSON object per interval, one per line");
  cmd->add_option("-n,--iterations", o->iterations, "Stop after N refreshes (log, JSON, tables; 0 = until Ctrl-C)")
      ->check(NonNegative());
  cmd->add_option("--qmp", o->qmp, "QMP socket of a QEMU whose command line names none (e.g. started by a script)");
  cmd->add_option("--source", o->source, "auto (stats fds, then QMP, then debugfs), stats-fd, qmp or debugfs")
      ->check(CLI::IsMember({"auto", "stats-fd", "qmp", "debugfs"}))
      ->capture_default_str();
  cmd->footer(
      "\nSources, in order: the binary stats fds the VMM holds (borrowed with pidfd_getfd; needs root or\n"
      "CAP_SYS_PTRACE), QMP query-stats on the monitor socket in QEMU's command line, debugfs.\n"
      "\nExamples:\n"
      "  sudo exitprof stat                      interactive table, like kvm_stat\n"
      "  sudo exitprof stat -1 --vcpu            one interval, with a table per vCPU\n"
      "  sudo exitprof stat --once --json        per VM and vCPU: totals since start and this interval\n"
      "  sudo exitprof stat -f 'exits$' -l -c    CSV log of the *exits counters, one line per second\n"
      "  sudo exitprof stat -f help              the statistics the running VMs offer\n"
      "  sudo exitprof stat -t --bpf -1 -z       kvm event counts per exit reason, summed in BPF maps\n");
  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    // The arguments first: a usage mistake is reported as one, whatever the host.
    if (o->bpf && !o->tracepoints) {
      return ReportError(Error{"--bpf counts kvm tracepoints in the kernel: use it with -t (exitprof stat -t --bpf)", 2});
    }
    if (int status = CheckTogether(*cmd, *o); status >= 0) return status;
    StatViewOptions view;
    view.guest = o->guest;
    view.include_past = o->include_past;
    view.skip_zero = o->skip_zero;
    view.vcpus = o->vcpu;
    view.histograms = o->hist;
    if (!o->fields.empty() && o->fields != "help") {
      try {
        view.fields.emplace(o->fields, std::regex::extended);
      } catch (const std::regex_error& e) {
        return ReportError(Error{fmt::format("-f '{}': not a valid regular expression: {}", o->fields, e.what()), 2});
      }
    }
    if (::access("/dev/kvm", F_OK) != 0) {
      return ReportError(Error{"no /dev/kvm: this host runs no KVM VMs (load kvm_intel or kvm_amd, or enable "
                               "virtualization in the firmware)", 1});
    }
    kvmstat::SamplerOptions sampler_options;
    sampler_options.pids = o->pids;
    sampler_options.qmp_socket = o->qmp;
    if (o->debugfs || o->source == "debugfs") sampler_options.source = kvmstat::SourceChoice::kDebugfs;
    else if (o->source == "stats-fd") sampler_options.source = kvmstat::SourceChoice::kStatsFd;
    else if (o->source == "qmp") sampler_options.source = kvmstat::SourceChoice::kQmp;
    kvmstat::StatSampler sampler(sampler_options);

    StatHistory history(o->include_past);
    capture::InstallStopSignals();

    // -t: one table of event counts (host-wide, or the -p processes), refreshed by one group
    // read per CPU or thread; otherwise every VM's statistics from its best source.
    std::unique_ptr<kvmstat::EventCounters> counters;
    if (o->tracepoints) {
      kvmstat::TracepointOptions topt;
      topt.pids = o->pids;
      if (!o->guest.empty()) {
        // -g with -t: count the threads of the process(es) running the VM of that name.
        for (const auto& vm : kvmstat::DiscoverVms(o->pids).vms) {
          if (vm.name == o->guest && std::find(topt.pids.begin(), topt.pids.end(), vm.pid) == topt.pids.end()) {
            topt.pids.push_back(vm.pid);
          }
        }
        if (topt.pids.empty()) return ReportError(Error{fmt::format("-g {}: no VM with that name", o->guest), 1});
        o->pids = topt.pids;
        view.guest.clear();  // the counters' table is named after the process, not the guest
      }
      topt.fields = view.fields;
      Result<std::unique_ptr<kvmstat::EventCounters>> opened = Fail("", 1);
      if (o->bpf) {
        opened = kvmstat::OpenBpfCounters(topt);
        if (!opened && opened.error().exit_code == 2) return ReportError(opened.error());
        if (!opened) {
          std::fprintf(stderr, "exitprof stat: --bpf: %s; counting with perf_event tracepoints instead\n",
                       opened.error().message.c_str());
        }
      }
      if (!opened) opened = kvmstat::OpenTracepointCounters(topt);
      if (!opened) return ReportError(opened.error());
      counters = std::move(*opened);
    }
    auto take_sample = [&]() -> std::vector<kvmstat::VmSnapshot> {
      if (!counters) {
        sampler.Rescan();
        return sampler.Refresh();
      }
      kvmstat::VmSnapshot all;
      all.pid = o->pids.size() == 1 ? o->pids[0] : 0;
      all.name = o->pids.empty() ? "all VMs" : "the -p processes";
      if (o->pids.size() == 1) {
        std::ifstream comm("/proc/" + std::to_string(o->pids[0]) + "/comm");
        std::getline(comm, all.name);
      }
      all.comm = all.name;
      all.source = counters->source();
      if (auto r = counters->Read(all.stats); !r) all.error = r.error().message;
      return {std::move(all)};
    };
    auto sample = take_sample();
    if (o->fields == "help") {
      if (sample.empty()) return ReportError(Error{NoVmsMessage(sampler, *o), 1});
      std::printf("Statistics of the running VMs (use with -f REGEX):\n");
      for (const auto& name : kvmstat::StatNames(sample)) std::printf("  %s\n", name.c_str());
      return 0;
    }
    const bool single = o->once || o->batch;
    const bool logging = o->log || !o->log_file.empty();
    const bool interactive = !single && !logging && !o->json && ::isatty(STDOUT_FILENO) && ::isatty(STDIN_FILENO);
    if (sample.empty() && single) return ReportError(Error{NoVmsMessage(sampler, *o), 1});
    // One refresh and no VM has a readable source (e.g. -d where debugfs reads are refused).
    if (single && std::all_of(sample.begin(), sample.end(), [](auto& vm) { return vm.source.empty(); })) {
      return ReportError(Error{fmt::format("pid {}: {}{}", sample[0].pid, sample[0].error,
                                           o->debugfs ? " (debugfs reads are refused here: leave out -d to use the "
                                                        "VMM's stats fds or QMP)"
                                                      : ""),
                               1});
    }
    if (!o->guest.empty() && std::none_of(sample.begin(), sample.end(), [&](auto& vm) { return vm.name == o->guest; })) {
      std::string names;
      for (const auto& vm : sample) names += (names.empty() ? "" : ", ") + vm.name;
      return ReportError(Error{fmt::format("-g {}: no VM with that name (running: {})", o->guest,
                                           names.empty() ? "none" : names), 1});
    }
    if (sample.empty()) std::fprintf(stderr, "exitprof stat: %s; waiting for VMs to start\n", NoVmsMessage(sampler, *o).c_str());
    history.Push(sample);
    if (interactive) return RunStatTui(take_sample, history, view, o->delay > 0 ? o->delay : 3.0);

    const double delay = o->delay > 0 ? o->delay : 1.0;
    const uint64_t limit = single ? 1 : o->iterations;
    std::FILE* out = stdout;
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> log_file(nullptr, &std::fclose);
    if (!o->log_file.empty()) {
      log_file.reset(std::fopen(o->log_file.c_str(), "ae"));
      if (!log_file) return ReportError(Error{fmt::format("{}: cannot open for writing: {}", o->log_file, std::strerror(errno)), 1});
      out = log_file.get();
    }
    std::vector<std::string> fields;
    size_t lines = 0;
    for (uint64_t done = 0; !capture::StopRequested() && (limit == 0 || done < limit); ++done) {
      const auto start = std::chrono::steady_clock::now();
      Wait(delay);
      if (capture::StopRequested() && single) break;
      sample = take_sample();
      history.Push(sample);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::string text;
      if (o->json) {
        text = render::RenderStatJson(sample, history, view, seconds);
      } else if (logging) {
        auto now_fields = LogFields(sample, view);
        std::string line = render::RenderStatLogLine(sample, history, view, now_fields, o->csv);
        if (line.empty()) continue;  // -z and nothing happened
        // kvm_stat repeats the header every 20 lines, and we also when the fields change.
        if (now_fields != fields || (!o->csv && lines % 20 == 0)) text = render::RenderStatLogHeader(now_fields, o->csv);
        fields = std::move(now_fields);
        text += line;
        ++lines;
      } else {
        if (!single && ::isatty(STDOUT_FILENO)) text = "\033[H\033[2J";
        text += render::RenderStatTable(sample, history, view, seconds);
      }
      std::fwrite(text.data(), 1, text.size(), out);
      std::fflush(out);
    }
    return 0;
  };
}

}  // namespace exitprof::cli
