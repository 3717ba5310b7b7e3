// What one scrape of /metrics returns: both tiers read now, under one lock (concurrent scrapes
// take turns; each sees fresh counts), with exitprof's own health metrics. The HTTP side
// (http_server.h) only calls Scrape().
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "serve/exposition.h"
#include "serve/stats_tier.h"
#include "serve/trace_tier.h"
#include "serve/vm_identity.h"

namespace exitprof::serve {

struct ExporterOptions {
  bool vcpu_labels = false;
  bool qmp = true;
  size_t max_vms = 1000;  // series of VMs beyond this are not exposed (exitprof_series_dropped_total)
  std::string version;       // for exitprof_build_info
  std::string trace_source;  // "bpf (tp_btf)", "off": for exitprof_build_info
};

class Exporter {
 public:
  // `trace`: the trace tier, or nullptr when it is off (no BPF and --no-bpf).
  Exporter(const ExporterOptions& options, std::unique_ptr<TraceTier> trace);
  std::string Scrape(Format format);
  // A short status for /healthz and the start line: "ok" or what is wrong.
  std::string Health();

 private:
  ExporterOptions options_;
  std::mutex mu_;
  VmDirectory directory_;
  std::unique_ptr<TraceTier> trace_;
  StatsTier stats_;
  uint64_t dropped_series_ = 0;
  uint64_t scrape_errors_ = 0;
  std::string last_error_;
};

}  // namespace exitprof::serve
