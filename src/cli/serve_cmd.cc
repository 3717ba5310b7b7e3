// `exitprof serve`: a Prometheus exporter of KVM exits per VM and reason (trace tier, counted in
// the kernel by BPF) and of KVM's own statistics (stats tier). The work is in src/serve.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <thread>

#include "capture/bpf/kvm_aggregator.h"
#include "capture/capture_loop.h"
#include "cli/commands.h"
#include "cli/validators.h"
#include "exitprof_version.h"
#include "serve/http_server.h"

namespace exitprof::cli {

std::function<int()> AddServeCommand(CLI::App& app) {
  struct Options {
    std::string listen = "127.0.0.1:9464";
    bool bpf = false, no_bpf = false, vcpu_labels = false;
    std::string qmp = "auto";
    size_t max_vms = 1000;
    int timeout = 5;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve exits per VM and reason, and KVM's statistics, to Prometheus");
  cmd->add_option("--listen", o->listen, "Address to serve /metrics on (HOST:PORT; port 0: any free port)")->capture_default_str();
  auto* bpf = cmd->add_flag("--bpf", o->bpf, "Require the trace tier (BPF): fail instead of serving statistics only");
  cmd->add_flag("--no-bpf", o->no_bpf, "No trace tier: KVM's statistics only (no tracepoints, works under lockdown)")->excludes(bpf);
  cmd->add_flag("--vcpu-labels", o->vcpu_labels, "KVM statistics per vCPU (label vcpu) instead of summed per VM");
  cmd->add_option("--qmp", o->qmp, "auto: QEMU's QMP socket (from its command line) names devices and backs statistics; off")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "off"}));
  cmd->add_option("--max-vms", o->max_vms, "Expose at most this many VMs' series (the rest are counted as dropped)")
      ->capture_default_str()
      ->check(Positive());
  cmd->add_option("--timeout", o->timeout, "Seconds a client may take to send a request or read the answer")
      ->capture_default_str()
      ->check(Between(1, 300));
  cmd->footer(
      "\nExamples:\n"
      "  exitprof serve                          http://127.0.0.1:9464/metrics\n"
      "  exitprof serve --listen 0.0.0.0:9464    for a Prometheus on another host (put TLS in front: README)\n"
      "  exitprof serve --no-bpf --vcpu-labels   KVM's statistics only, per vCPU\n"
      "  curl -s localhost:9464/metrics | grep kvm_exits_total\n");
  return [cmd, o]() -> int {
    if (!cmd->parsed()) return -1;
    auto address = serve::ParseListen(o->listen);
    if (!address) return ReportError(address.error());
    serve::ExporterOptions options;
    options.vcpu_labels = o->vcpu_labels;
    options.qmp = o->qmp == "auto";
    options.max_vms = o->max_vms;
    options.version = EXITPROF_VERSION;
    std::unique_ptr<serve::TraceTier> trace;
    if (!o->no_bpf) {
      capture::bpf::AggregatorOptions aggregate;
      aggregate.rips = false;  // no RIP labels: the per-RIP map is not filled at all
      auto agg = capture::bpf::KvmAggregator::Open(aggregate);
      if (!agg) {
        if (o->bpf) return ReportError(agg.error());
        std::fprintf(stderr, "exitprof serve: %s; serving KVM statistics only (no kvm_exits_total)\n", agg.error().message.c_str());
      } else {
        if (!(*agg)->exit_attached())
          std::fprintf(stderr, "exitprof serve: kvm_exit not counted: %s\n", (*agg)->exit_status().c_str());
        options.trace_source = std::string("bpf ") + capture::bpf::AttachModeName((*agg)->mode());
        trace = std::make_unique<serve::TraceTier>(std::move(*agg));
      }
    }
    if (!trace) options.trace_source = "off";
    serve::Exporter exporter(options, std::move(trace));
    serve::HttpServer server(exporter, {.timeout_seconds = o->timeout});
    auto port = server.Bind(*address);
    if (!port) return ReportError(port.error());
    std::signal(SIGPIPE, SIG_IGN);
    capture::InstallStopSignals();
    std::fprintf(stderr, "exitprof serve: listening on http://%s%s%s:%d/metrics (trace tier: %s)\n",
                 address->host.find(':') != std::string::npos ? "[" : "", address->host.c_str(),
                 address->host.find(':') != std::string::npos ? "]" : "", *port, options.trace_source.c_str());
    std::fflush(stderr);
    std::atomic<bool> ended{false};
    std::thread watcher([&server, &ended] {
      while (!capture::StopRequested() && !ended) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      server.Stop();
    });
    server.Run();
    ended = true;
    watcher.join();
    std::fprintf(stderr, "exitprof serve: stopped\n");
    return 0;  // the exporter (and with it the BPF programs) goes as this scope ends
  };
}

}  // namespace exitprof::cli
