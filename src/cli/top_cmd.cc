// `exitprof top`: exits as they happen, refreshed every interval: by reason (or by userspace
// exit reason where kvm_exit does not fire), VM, vCPU, guest RIPs and ports. The same
// analysis and renderer as `report`, fed live from the rings, or with --bpf from counts the
// kernel aggregates itself (nothing copied per event).
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <csignal>
#include <cstdio>
#include <ctime>

#include "analysis/device_attribution.h"
#include "capture/capture_loop.h"
#include "cli/commands.h"
#include "cli/validators.h"
#include "live/live_intervals.h"
#include "cli/top_tui.h"
#include "render/report_render.h"
#include "qemu/device_map_poller.h"
#include "qemu/qmp.h"

namespace exitprof::cli {

using live::LiveOptions;
using live::EmitModel;
using live::OpenBpfOrSayWhy;
using live::RunBpfIntervals;
using live::RunPerfIntervals;

std::function<int()> AddTopCommand(CLI::App& app) {
  struct Options {
    std::vector<pid_t> pids;
    std::vector<std::string> events;
    double interval = 1.0;
    uint64_t iterations = 0;
    bool once = false, json = false, bpf = false;
    size_t top = 5;
    std::string qmp;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("top", "Live view of exits per second by reason, VM, vCPU, RIP and port");
  cmd->add_option("-p,--pid", o->pids, "Only these processes (VMMs), repeatable")->check(Positive());
  cmd->add_option("-e,--event", o->events, "Tracepoints to count (default: the kvm events that exist)");
  cmd->add_option("-s,--interval", o->interval, "Seconds between refreshes")->capture_default_str()->check(Between(0.05, 3600.0));
  cmd->add_option("-n,--iterations", o->iterations, "Stop after N refreshes (0 = until Ctrl-C)")->check(NonNegative());
  cmd->add_flag("--once", o->once, "One interval, then exit (same as -n 1)");
  cmd->add_flag("--json", o->json, "One JSON object per interval, one per line, for scripts");
  cmd->add_flag("--bpf", o->bpf,
                "Count in the kernel with BPF (kvm_exit, kvm_entry, kvm_pio, kvm_mmio, kvm_userspace_exit): "
                "nothing is copied per event; falls back to perf_event when BPF is not allowed");
  cmd->add_option("--top", o->top, "Rows of RIPs per reason")->capture_default_str()->check(NonNegative());
  cmd->add_option("--qmp", o->qmp,
                  "Name the device, BAR and register of each port and MMIO address from this QEMU's QMP socket "
                  "(default: found on the command line of the -p process)");
  cmd->footer(
      "\nExamples:\n"
      "  exitprof top                          all VMs on this host, refreshed every second\n"
      "  exitprof top -p $(pidof qemu-system-x86_64) -s 5\n"
      "  exitprof top --bpf                    counted in the kernel: the guests barely notice\n"
      "  exitprof top --json -n 10 > exits.jsonl\n"
      "  On a terminal, kvm_stat's keys: o sort, f filter, b VMs/vCPUs, space pause, r reset, c clear, h help, q quit\n"
      "  exitprof top -p $(pidof qemu-system-x86_64) --qmp /run/vm.sock   ports and MMIO by device\n");
  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    if (o->once && cmd->count("-n")) return Conflict("--once", "-n", "--once is -n 1");
    if (o->once) o->iterations = 1;
    if (o->bpf && !o->events.empty()) return ReportError(Error{"--bpf counts the kvm events it knows: -e applies without --bpf"});
    LiveOptions live;
    live.pids = o->pids;
    live.events = o->events;
    live.interval = o->interval;
    live.iterations = o->iterations;
    live.top = o->top;
    live.command = "exitprof top";
    live.forget_ended_threads = true;
    for (pid_t pid : o->pids) {
      if (::kill(pid, 0) != 0 && errno == ESRCH) return ReportError(Error{"-p " + std::to_string(pid) + ": no such process"});
    }
    // The device map is refreshed on a thread of its own, so BARs a guest moves are followed.
    std::unique_ptr<qemu::DeviceMapPoller> devices;
    std::string qmp = o->qmp;
    for (size_t i = 0; qmp.empty() && i < o->pids.size(); ++i) qmp = qemu::FindQmpSocket(o->pids[i]).value_or("");
    if (!qmp.empty()) devices = std::make_unique<qemu::DeviceMapPoller>(qmp, std::chrono::milliseconds(1000));
    const bool tty = ::isatty(STDOUT_FILENO);
    auto emit = [&](analysis::ReportModel& model) {
      if (devices) {
        qemu::DeviceMapHistory map = devices->Current();
        if (!map.snapshots.empty()) analysis::AttributeDevices(model, &map, "QMP " + devices->path(), "");
      }
      if (o->json) {
        std::string line = render::RenderJson(model, true);
        std::fwrite(line.data(), 1, line.size(), stdout);
      } else {
        if (tty) std::fputs("\033[H\033[2J", stdout);
        std::time_t now = std::time(nullptr);
        char when[32];
        std::strftime(when, sizeof when, "%H:%M:%S", std::localtime(&now));
        std::printf("exitprof top: %s, last %.2f s%s\n", when, model.interval_s, tty ? " (Ctrl-C to stop)" : "");
        std::string text = render::RenderText(model, {{}, o->top});
        std::fwrite(text.data(), 1, text.size(), stdout);
      }
      std::fflush(stdout);
    };
    capture::InstallStopSignals();
    std::unique_ptr<capture::bpf::KvmAggregator> agg;
    if (o->bpf) agg = OpenBpfOrSayWhy(live);  // says why on stderr, before a full-screen view starts
    // On a terminal, kvm_stat's interactive view (its keys read while the loop waits).
    std::unique_ptr<TopTui> tui;
    if (!o->json && o->iterations == 0 && tty && ::isatty(STDIN_FILENO)) tui = TopTui::Open(o->interval);
    auto stop = [&] { return capture::StopRequested() || (tui && tui->QuitRequested()); };
    EmitModel show = [&](analysis::ReportModel& model) {
      if (tui) tui->OnModel(model);
      else emit(model);
    };
    auto r = agg ? RunBpfIntervals(*agg, live, show, stop) : RunPerfIntervals(live, show, stop);
    tui.reset();  // the terminal is restored before any error is printed
    return r ? 0 : ReportError(r.error());
  };
}

}  // namespace exitprof::cli
