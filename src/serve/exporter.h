// What one scrape of /metrics returns: both tiers read now, under one lock, with exitprof's own
// health metrics. Concurrent scrapes coalesce: one that waited for the lock while another read
// the counters takes that reading (made after it arrived, so still fresh) instead of reading
// again, so N clients at once cost one read, not N in a queue. The HTTP side (http_server.h)
// only calls Scrape().
#pragma once

#include <chrono>
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
  std::vector<Family> last_;  // the latest reading, and when it was taken
  std::chrono::steady_clock::time_point last_taken_{};
  uint64_t coalesced_ = 0;
};

}  // namespace exitprof::serve
