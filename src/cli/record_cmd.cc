#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "capture/capture_loop.h"
#include "capture/recorder.h"
#include "capture/workload.h"
#include "cli/aggregate_record.h"
#include "cli/commands.h"
#include "cli/validators.h"
#include "qemu/device_map_poller.h"
#include "qemu/qemu_watcher.h"
#include "qemu/qmp.h"
#include "probe/probe_manager.h"

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

// The QMP socket whose device map the recording keeps: --qmp, else the one on the command's
// QEMU command line, else the first -p process's. "" when there is none.
std::string DeviceMapSocket(const std::string& given, const std::vector<std::string>& command,
                            const std::vector<pid_t>& pids) {
  if (!given.empty()) return given;
  if (!command.empty()) {
    if (auto s = qemu::QmpSocketFromArgs(command)) return *s;
  }
  for (pid_t pid : pids) {
    if (auto s = qemu::FindQmpSocket(pid)) return *s;
  }
  return {};
}

void SaveDeviceMap(qemu::DeviceMapPoller& poller, const std::string& path, pid_t pid, const std::vector<std::string>& command) {
  qemu::DeviceMapHistory history = poller.Finish();
  history.pid = pid;
  history.vm_name = qemu::QemuNameFromArgs(command.empty() ? qemu::ProcessArgs(pid) : command);
  if (history.snapshots.empty()) {
    std::fprintf(stderr, "exitprof record: no device map kept (QMP never answered: %s); report will not name PCI devices\n",
                 poller.last_error().c_str());
    return;
  }
  if (path.empty()) {
    std::fprintf(stderr, "exitprof record: with -o -, give --device-map FILE to keep the device map\n");
    return;
  }
  if (auto r = qemu::SaveDeviceMapFile(path, history); !r) {
    std::fprintf(stderr, "exitprof record: %s\n", r.error().message.c_str());
    return;
  }
  std::fprintf(stderr, "exitprof record: device map (%zu layout%s) saved to %s\n", history.snapshots.size(),
               history.snapshots.size() == 1 ? "" : "s", path.c_str());
}

std::string VmLabel(pid_t pid, const std::string& name) {
  return std::to_string(pid) + (name.empty() ? "" : " (" + name + ")");
}

// record -a: the maps of every QEMU the watcher found, in one side file.
void SaveDeviceMaps(qemu::QemuWatcher& watcher, const std::string& path) {
  auto found = watcher.Finish();
  for (const auto& u : found.unanswered) {
    std::fprintf(stderr, "exitprof record: no device map kept for PID %s (QMP never answered: %s)\n",
                 VmLabel(u.pid, u.vm_name).c_str(), u.error.c_str());
  }
  if (found.maps.empty()) return;
  if (path.empty()) {
    std::fprintf(stderr, "exitprof record: with -o -, give --device-map FILE to keep the device maps\n");
    return;
  }
  if (auto r = qemu::SaveDeviceMapFile(path, found.maps); !r) {
    std::fprintf(stderr, "exitprof record: %s\n", r.error().message.c_str());
    return;
  }
  std::string vms;
  for (const auto& m : found.maps) vms += (vms.empty() ? "" : ", ") + VmLabel(m.pid, m.vm_name);
  std::fprintf(stderr, "exitprof record: device maps of %zu VM%s (PID %s) saved to %s\n", found.maps.size(),
               found.maps.size() == 1 ? "" : "s", vms.c_str(), path.c_str());
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

namespace {

class TemporaryProbes {
 public:
  Result<std::string> Add(const std::string& definition, const std::string& binary) {
    auto resolved = ResolveProbe(definition, binary);
    if (!resolved) return tl::unexpected(resolved.error());
    if (!manager_) {
      auto tracefs = capture::Tracefs::Open();
      if (!tracefs) return tl::unexpected(tracefs.error());
      manager_.emplace(tracefs->root());
      root_ = tracefs->root();
    }
    if (auto ok = CheckKernelProbeable(*resolved, root_, {}); !ok) return tl::unexpected(ok.error());
    auto name = manager_->Add(*resolved, /*force=*/true);
    if (!name) return name;
    added_.push_back(*name);
    return name;
  }
  ~TemporaryProbes() {
    for (const auto& name : added_) {
      if (auto r = manager_->Delete(name); !r) std::fprintf(stderr, "exitprof record: %s\n", r.error().message.c_str());
    }
  }

 private:
  std::optional<probe::ProbeManager> manager_;
  std::string root_;
  std::vector<std::string> added_;
};

struct CallGraphMode {
  bool dwarf = false;
  uint32_t stack_size = 8192;
};

// perf record's --call-graph: "fp" or "dwarf[,SIZE]" (SIZE a multiple of 8, at most 65528).
Result<CallGraphMode> ParseCallGraphMode(const std::string& text) {
  if (text == "fp") return CallGraphMode{};
  if (text.rfind("dwarf", 0) != 0 || (text.size() > 5 && text[5] != ',')) {
    return Fail("--call-graph " + text + ": expected fp or dwarf[,SIZE]");
  }
  CallGraphMode mode{true, 8192};
  if (text.size() > 6) {
    std::string size = text.substr(6);
    char* end = nullptr;
    unsigned long v = std::strtoul(size.c_str(), &end, 0);
    if (size.empty() || *end || v == 0 || v > 65528 || v % 8) {
      return Fail("--call-graph " + text + ": SIZE must be a multiple of 8 between 8 and 65528 bytes");
    }
    mode.stack_size = static_cast<uint32_t>(v);
  }
  return mode;
}

}  // namespace

std::function<int()> AddRecordCommand(CLI::App& app) {
  struct Options {
    bool all = false;
    std::vector<pid_t> pids;
    std::vector<std::string> events;
    std::string filter;
    bool callchain = false;
    std::string call_graph;
    std::vector<std::string> add_probes;
    std::string probe_exec;
    size_t pages = 256;
    std::string output = "perf.data";
    double duration = 0;
    std::vector<std::string> command;
    std::string qmp;
    std::string device_map;
    bool aggregate = false, no_bpf = false;
    double interval = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("record", "Record kvm tracepoints into a perf.data that perf and exitprof read");
  cmd->add_flag("-a,--all-cpus", o->all, "System-wide (the default without -p or a command)");
  cmd->add_option("-p,--pid", o->pids, "Follow these processes (a VMM such as QEMU), repeatable")->check(Positive());
  cmd->add_option("-e,--event", o->events, "Tracepoint SYSTEM:EVENT, repeatable (default: the kvm events that exist)");
  cmd->add_option("--filter", o->filter, "ftrace filter for the last -e event, e.g. 'port == 0x3f8'");
  cmd->add_flag("-g", o->callchain, "Record callchains, kernel and user (frame pointers; same as --call-graph fp)");
  cmd->add_option("--call-graph", o->call_graph,
                  "fp, or dwarf[,SIZE]: user frames unwound later with DWARF from SIZE bytes of stack (default 8192)");
  cmd->add_option("--add-probe", o->add_probes,
                  "Add this probe (exitprof probe's syntax) for the recording, record it, remove it at the end");
  cmd->add_option("-x,--exec", o->probe_exec, "The binary --add-probe probes (uprobes); without it, the kernel");
  cmd->add_option("-m,--mmap-pages", o->pages, "Ring buffer pages per CPU (power of two)")->capture_default_str()->check(Positive());
  cmd->add_option("-o,--output", o->output, "Output file; - writes pipe mode to stdout")->capture_default_str();
  cmd->add_option("--duration", o->duration, "Stop after this many seconds")->check(Positive());
  cmd->add_flag("--aggregate", o->aggregate,
                "Count in the kernel (BPF) instead of recording events; -o gets a JSON snapshot with the keys of "
                "`report --format json` (default: stdout)");
  cmd->add_option("--interval", o->interval, "With --aggregate: one JSON line per this many seconds")->check(Between(0.05, 86400.0));
  cmd->add_flag("--no-bpf", o->no_bpf, "With --aggregate: count with perf_event, not BPF");
  cmd->add_option("command", o->command, "Command to run and record (after --)");
  cmd->add_option("--qmp", o->qmp,
                  "QEMU's QMP socket: keep the VM's device map (PCI BARs, memory regions) for report's device "
                  "attribution (default: found on the QEMU command line of -p PID or of the command; with -a, "
                  "every QEMU that has one, also those started during the recording)");
  cmd->add_option("--device-map", o->device_map, "Where to save the device map (default: OUTPUT.devices.json)");
  cmd->footer(
      "\nExamples:\n"
      "  exitprof record -a --duration 5                      all kvm events on the host for 5 s\n"
      "      (and the device map of every QEMU with a QMP socket, one per VM, in perf.data.devices.json)\n"
      "  exitprof record -p $(pidof qemu-system-x86_64) -o vm.data\n"
      "  exitprof record -e kvm:kvm_pio --filter 'port == 0x3f8' -- exitprof-guest\n"
      "  exitprof record -o - -a --duration 1 | exitprof report -i -\n"
      "  exitprof record -o vm.data -- qemu-system-x86_64 -qmp unix:/tmp/vm.sock,server=on,wait=off ...\n"
      "      (also writes vm.data.devices.json: report names the device, BAR and register of each port)\n"
      "  exitprof record -e probe_app:f --call-graph dwarf -- ./app   user stacks unwound with DWARF\n"
      "  exitprof record --aggregate -o counts.json -- exitprof-guest     counted in the kernel, JSON at the end\n"
      "  exitprof record --aggregate --interval 1 -a --duration 10         one JSON line per second\n");
  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    if (o->aggregate) {
      if (!o->events.empty() || !o->filter.empty() || o->callchain)
        return ReportError(Error{"--aggregate counts the kvm events it knows: -e, --filter and -g apply to recordings"});
      if (o->all && !o->pids.empty()) return ReportError(Error{"-a and -p exclude each other"});
      std::string given = FirstGiven(*cmd, {"--call-graph", "--add-probe", "-x", "-m", "--qmp", "--device-map"});
      if (!given.empty()) return Conflict(given, "--aggregate", "--aggregate counts kvm events in the kernel and writes JSON, not a recording");
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
    if (!o->pids.empty() && !o->command.empty()) return Conflict("-p", "a command", "record either the processes given or the command run");
    if (!o->probe_exec.empty() && o->add_probes.empty()) return ReportError(Error{"-x names the binary --add-probe probes: give --add-probe"});
    if (o->callchain && !o->call_graph.empty()) return Conflict("-g", "--call-graph", "-g is --call-graph fp: give one");
    // Ctrl-C and SIGTERM end the recording from here on, also while it is being set up: a
    // command started in the background of a script (`exitprof record -a & ... kill -INT`) has
    // SIGINT ignored until our handler is in, so a late handler would lose an early interrupt.
    // Probes made for this recording go again when it ends, however it ends (the capture loop
    // returns normally on SIGINT).
    capture::InstallStopSignals();
    TemporaryProbes probes;
    for (const auto& definition : o->add_probes) {
      auto name = probes.Add(definition, o->probe_exec);
      if (!name) return ReportError(name.error());
      o->events.push_back(*name);
      std::fprintf(stderr, "exitprof record: added probe %s (removed when the recording ends)\n", name->c_str());
    }
    std::optional<capture::Workload> workload;
    capture::RecordOptions options;
    options.events = o->events;
    options.filter = o->filter;
    options.callchain = o->callchain;
    options.mmap_pages = o->pages;
    if (!o->call_graph.empty()) {
      auto mode = ParseCallGraphMode(o->call_graph);
      if (!mode) return ReportError(mode.error());
      options.callchain = true;
      options.dwarf_callchain = mode->dwarf;
      options.stack_dump_size = mode->stack_size;
      // Each sample carries the stack copy (8 KiB by default): the default ring would overflow
      // within a few hundred samples, so dwarf gets a larger one unless -m says otherwise.
      if (mode->dwarf && cmd->count("-m") == 0) options.mmap_pages = 2048;
    }
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
    if (!workload || o->all) {
      if (auto r = (*recorder)->Enable(); !r) return ReportError(r.error());
    }
    if (workload) {
      if (auto r = workload->Start(); !r) return ReportError(r.error());
    }
    std::unique_ptr<qemu::DeviceMapPoller> devices;
    std::unique_ptr<qemu::QemuWatcher> all_devices;
    // System-wide without --qmp: every QEMU with a QMP socket, also those started while recording.
    const bool system_wide = o->all || (o->pids.empty() && o->command.empty());
    std::string qmp = system_wide && o->qmp.empty() ? "" : DeviceMapSocket(o->qmp, o->command, options.pids);
    if (!qmp.empty()) devices = std::make_unique<qemu::DeviceMapPoller>(qmp, std::chrono::milliseconds(200));
    else if (system_wide) all_devices = std::make_unique<qemu::QemuWatcher>(std::chrono::milliseconds(250), std::chrono::milliseconds(200));
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
    const std::string map_path = !o->device_map.empty() ? o->device_map : o->output == "-" ? "" : qemu::DeviceMapPathFor(o->output);
    if (devices) SaveDeviceMap(*devices, map_path, workload ? workload->pid() : (options.pids.empty() ? 0 : options.pids[0]), o->command);
    if (all_devices) SaveDeviceMaps(*all_devices, map_path);
    WarnIfKvmExitSilent((*recorder)->counts());
    if (child_status != 0) std::fprintf(stderr, "exitprof record: the command exited with status %d\n", child_status);
    return 0;
  };
}

}  // namespace exitprof::cli
