// `exitprof top`: exits as they happen, refreshed every interval: by reason (or by userspace
// exit reason where kvm_exit does not fire), VM, vCPU, guest RIPs and ports. The same
// analysis and renderer as `report`, fed live from the rings instead of a file.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "analysis/device_attribution.h"
#include "analysis/exit_stats.h"
#include "capture/capture_loop.h"
#include "capture/live_decoder.h"
#include "capture/recorder.h"
#include "capture/system_info.h"
#include "cli/commands.h"
#include "perfdata/abi.h"
#include "render/report_render.h"
#include "vmm/device_map_poller.h"
#include "vmm/qmp.h"

namespace exitprof::cli {

std::function<int()> AddTopCommand(CLI::App& app) {
  struct Options {
    std::vector<pid_t> pids;
    std::vector<std::string> events;
    double interval = 1.0;
    uint64_t iterations = 0;
    bool once = false, json = false;
    size_t top = 5;
    std::string qmp;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("top", "Live view of exits per second by reason, VM, vCPU, RIP and port");
  cmd->add_option("-p,--pid", o->pids, "Only these processes (VMMs), repeatable");
  cmd->add_option("-e,--event", o->events, "Tracepoints to count (default: the kvm events that exist)");
  cmd->add_option("-s,--interval", o->interval, "Seconds between refreshes")->capture_default_str()->check(CLI::Range(0.05, 3600.0));
  cmd->add_option("-n,--iterations", o->iterations, "Stop after N refreshes (0 = until Ctrl-C)");
  cmd->add_flag("--once", o->once, "One interval, then exit (same as -n 1)");
  cmd->add_flag("--json", o->json, "One JSON object per interval, one per line, for scripts");
  cmd->add_option("--top", o->top, "Rows of RIPs per reason")->capture_default_str();
  cmd->add_option("--qmp", o->qmp,
                  "Name the device, BAR and register of each port and MMIO address from this QEMU's QMP socket "
                  "(default: found on the command line of the -p process)");
  cmd->footer(
      "\nExamples:\n"
      "  exitprof top                          all VMs on this host, refreshed every second\n"
      "  exitprof top -p $(pidof qemu-system-x86_64) -s 5\n"
      "  exitprof top --json -n 10 > exits.jsonl\n"
      "  exitprof top -p $(pidof qemu-system-x86_64) --qmp /run/vm.sock   ports and MMIO by device\n");
  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    if (o->once) o->iterations = 1;
    capture::RecordOptions options;
    options.events = o->events;
    options.pids = o->pids;
    options.mmap_pages = 256;
    auto recorder = capture::Recorder::Open(options, false);
    if (!recorder) return ReportError(recorder.error());
    const auto& header = (*recorder)->header();
    analysis::ExitStats stats({});
    if (auto r = stats.OnSessionReady(header); !r) return ReportError(r.error());
    // Thread names as they are now; COMM records keep them current.
    for (const auto& t : capture::ListThreads(o->pids)) {
      perfdata::Event comm;
      comm.type = perfdata::kRecordComm;
      comm.pid = static_cast<uint32_t>(t.pid);
      comm.tid = static_cast<uint32_t>(t.tid);
      comm.comm = t.comm;
      stats.OnEvent(comm);
    }
    // The device map is refreshed on a thread of its own, so BARs a guest moves are followed.
    std::unique_ptr<vmm::DeviceMapPoller> devices;
    std::string qmp = o->qmp;
    for (size_t i = 0; qmp.empty() && i < o->pids.size(); ++i) qmp = vmm::FindQmpSocket(o->pids[i]).value_or("");
    if (!qmp.empty()) devices = std::make_unique<vmm::DeviceMapPoller>(qmp, std::chrono::milliseconds(1000));
    capture::LiveDecoder decoder(header);
    capture::InstallStopSignals();
    if (auto r = (*recorder)->Enable(); !r) return ReportError(r.error());
    const bool tty = ::isatty(STDOUT_FILENO);
    uint64_t done = 0;
    while (!capture::StopRequested() && (o->iterations == 0 || done < o->iterations)) {
      perfdata::ReadStats read;
      read.samples_by_attr.assign(header.attrs.size(), 0);
      stats.ResetCounts();
      const auto start = std::chrono::steady_clock::now();
      const auto end = start + std::chrono::duration<double>(o->interval);
      while (!capture::StopRequested() && std::chrono::steady_clock::now() < end) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
        if (auto r = (*recorder)->Poll(static_cast<int>(std::max<long long>(1, std::min<long long>(left, 100)))); !r) return ReportError(r.error());
        auto drained = (*recorder)->DrainTo([&](std::span<const uint8_t> record) -> Result<void> {
          decoder.Feed(record, stats, read);
          return {};
        });
        if (!drained) return ReportError(drained.error());
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      auto model = analysis::BuildReportModel(header, read, stats, o->top);
      model.path = "live";
      analysis::SetInterval(model, seconds);
      if (devices) {
        vmm::DeviceMapHistory map = devices->Current();
        if (!map.snapshots.empty()) analysis::AttributeDevices(model, &map, "QMP " + devices->path(), "");
      }
      ++done;
      if (o->json) {
        std::string line = render::RenderJson(model, true);
        std::fwrite(line.data(), 1, line.size(), stdout);
      } else {
        if (tty) std::fputs("\033[H\033[2J", stdout);
        std::time_t now = std::time(nullptr);
        char when[32];
        std::strftime(when, sizeof when, "%H:%M:%S", std::localtime(&now));
        std::printf("exitprof top: %s, last %.2f s%s\n", when, seconds, tty ? " (Ctrl-C to stop)" : "");
        std::string text = render::RenderText(model, {{}, o->top});
        std::fwrite(text.data(), 1, text.size(), stdout);
      }
      std::fflush(stdout);
    }
    (void)(*recorder)->Disable();
    return 0;
  };
}

}  // namespace exitprof::cli
