// Counts what a recording's kvm events say: exits by reason, guest RIP, vCPU and VM; port IO,
// MMIO, MSR accesses and userspace exits. Memory grows with distinct keys, not with events.
// Order-independent: it does not need records in time order.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "analysis/access_latency.h"
#include "analysis/exit_latency.h"
#include "analysis/flat_counter.h"
#include "analysis/timeline.h"
#include "kvm/kvm_events.h"
#include "recording/event_sink.h"
#include "recording/thread_table.h"
#include "trace/trace_events.h"

namespace exitprof::analysis {

struct ExitFilter {
  std::vector<std::string> reasons;  // case-insensitive; empty = all
  std::optional<uint32_t> pid;
  std::optional<uint32_t> vcpu;
  // -g NAME: only the VM of that name: its process's name in the recording (the VM table's
  // Command), or one of `guest_pids` (a device map's VM name).
  std::string guest;
  std::vector<uint32_t> guest_pids;
  std::optional<uint64_t> time_begin_ns, time_end_ns;
  bool latency = false;  // pair exits with entries (needs time-ordered records)
  bool timeline = false;
  uint64_t timeline_bucket_ns = 0;  // 0 = automatic
};

inline constexpr uint32_t kMaxCpus = 1u << 16;

struct ExitCounts {
  uint64_t total = 0;
  std::vector<uint64_t> by_reason;  // by reason id (KvmEvents::ReasonById)
  FlatCounter by_reason_rip;  // (reason id, rip)
  FlatCounter by_vcpu;        // (pid << 32 | tid, vcpu_id or ~0); VMs are derived from it
  std::vector<uint64_t> by_cpu;  // by host CPU below kMaxCpus
  std::map<uint32_t, uint64_t> by_cpu_beyond;  // the rest (damaged input)
};

struct PioKey {
  uint16_t port;
  uint8_t size;
  bool write;
  bool operator==(const PioKey&) const = default;
};
struct MmioKey {
  uint64_t gpa;
  uint32_t len;
  uint32_t type;  // kvm_mmio type: 0 unsatisfied-read, 1 read, 2 write
  bool operator==(const MmioKey&) const = default;
};

class ExitStats : public recording::EventSink {
 public:
  explicit ExitStats(ExitFilter filter) : filter_(std::move(filter)) {}

  Result<void> OnSessionReady(const recording::SessionInfo& info) override;
  void OnEvent(const perfdata::Event& event) override;
  std::vector<bool> CountOnlyAttrs() const override;
  void OnSampleCounted(int attr_index, uint32_t pid, uint64_t time) override;
  // Parallel reads (exit_stats_merge.cc): a part counts one stretch of the file with the
  // same filter and decoders; merged in file order, the counts, names and reason ids equal
  // one pass's. With --latency the stretches are read in time order each, and each thread's
  // pairing is stitched across them (ExitLatency::MergePart).
  std::unique_ptr<recording::EventSink> NewPart() const override;
  void MergePart(recording::EventSink& part) override;
  void ShareThreads(const recording::ThreadTable* threads) override { threads_.Share(threads); }
  // Starts a new interval (live views): counts go, thread names and decoders stay.
  void ResetCounts();

  // The counts every source fills: recordings and perf rings through OnEvent, counts that
  // were aggregated elsewhere (BPF maps, live/bpf_counts.h) through these. Reason ids come from
  // kvm().ReasonIdByName; vcpu ~0: the format has no vcpu_id. Filters are the source's job.
  void AddExits(uint32_t pid, uint32_t tid, uint64_t vcpu, uint32_t reason_id, uint64_t n);
  void AddExitRip(uint32_t reason_id, uint64_t rip, uint64_t n) { exits_.by_reason_rip.Add(reason_id, rip, n); }
  void AddPio(uint32_t pid, uint32_t tid, uint16_t port, uint8_t size, bool write, uint64_t n);
  // type as kvm_mmio's (0 unsatisfied-read, 1 read, 2 write); NameMmioType names a new one.
  void AddMmio(uint32_t pid, uint64_t gpa, uint32_t len, uint32_t type, uint64_t n) { mmio_[{pid, gpa, len, type}] += n; }
  void NameMmioType(uint32_t type, const std::string& name);
  void AddUserspaceExits(uint32_t pid, uint32_t tid, const std::string& reason, uint64_t n);
  // Exit cost summarized elsewhere; shown when the filter asked for latency.
  void AddLatency(uint32_t reason_id, const LatencySummary& summary) { latency_.AddSummary(reason_id, summary); }

  const ExitCounts& exits() const { return exits_; }
  const kvm::KvmEvents& kvm() const { return kvm_; }
  kvm::KvmEvents& kvm() { return kvm_; }
  const trace::TraceEvents* trace_events() const { return trace_.get(); }
  const std::vector<uint64_t>& samples_by_attr() const { return samples_by_attr_; }
  const std::map<std::pair<uint16_t, std::pair<uint8_t, bool>>, uint64_t>& pio() const { return pio_; }
  // (pid << 32 | tid, port << 16 | write << 8 | size) -> count: port IO per vCPU thread.
  const FlatCounter& pio_by_thread() const { return pio_by_thread_; }
  // Port IO decoded from kvm_exit's IO exit qualification (info1), VMX or SVM layout.
  const std::map<std::pair<uint16_t, std::pair<uint8_t, bool>>, uint64_t>& pio_from_exits() const { return pio_from_exits_; }
  // (pid, gpa, len, type) -> count: per VMM process, so each VM's map can attribute its own.
  const std::map<std::tuple<uint32_t, uint64_t, uint32_t, uint32_t>, uint64_t>& mmio() const { return mmio_; }
  const std::string& MmioTypeName(uint32_t type) const;
  const std::map<std::pair<uint32_t, bool>, uint64_t>& msr() const { return msr_; }
  const std::map<std::string, uint64_t>& userspace_exits() const { return uexits_; }
  // Injected interrupts (kvm_inj_virq): (vector, soft) -> count.
  const std::map<std::pair<uint32_t, bool>, uint64_t>& injected() const { return injected_; }
  // Userspace exits per vCPU thread (pid << 32 | tid): who exits when kvm_exit is not recorded.
  const std::unordered_map<uint64_t, uint64_t>& userspace_exits_by_thread() const { return uexits_by_thread_; }
  const recording::ThreadTable& threads() const { return threads_.table(); }
  std::string CommOf(uint32_t tid) const;  // ":TID" for a thread no record named
  uint64_t first_time() const { return first_time_; }
  uint64_t last_time() const { return last_time_; }
  uint64_t filtered_samples() const { return filtered_samples_; }
  bool has_tracing_data() const { return trace_ != nullptr; }
  bool latency_enabled() const { return filter_.latency; }
  const ExitLatency& latency() const { return latency_; }
  const AccessLatency& access_latency() const { return access_latency_; }
  bool timeline_enabled() const { return filter_.timeline; }
  // Series: exit reason ids when kvm_exit was recorded; userspace exit reasons otherwise.
  const Timeline& exit_timeline() const { return exit_timeline_; }
  const Timeline& userspace_timeline() const { return userspace_timeline_; }
  const std::vector<std::string>& userspace_series() const { return userspace_series_; }
  // Whether an exit reason passes the --reason filter (reports show only those).
  bool ReasonShown(uint32_t reason_id) const;

 private:
  bool Keep(uint32_t pid, uint64_t time) const;  // the -p and --time filters
  void CountSample(int attr_index, uint64_t time);
  bool ReasonSelected(uint32_t reason_id);

  ExitFilter filter_;
  std::shared_ptr<const trace::TraceEvents> trace_;  // shared with parts
  kvm::KvmEvents kvm_;
  ExitCounts exits_;
  ExitLatency latency_;
  AccessLatency access_latency_;
  Timeline exit_timeline_{filter_.timeline_bucket_ns};
  Timeline userspace_timeline_{filter_.timeline_bucket_ns};
  std::vector<std::string> userspace_series_;
  std::map<std::string, uint32_t> userspace_series_ids_;
  std::vector<uint64_t> samples_by_attr_;
  std::vector<int8_t> reason_selected_;  // by reason id: -1 unknown, 0 no, 1 yes
  std::map<std::pair<uint16_t, std::pair<uint8_t, bool>>, uint64_t> pio_;
  FlatCounter pio_by_thread_;
  std::map<std::pair<uint16_t, std::pair<uint8_t, bool>>, uint64_t> pio_from_exits_;
  std::vector<int8_t> io_reason_;  // by reason id: -1 unknown, 0 not IO, 1 VMX IO, 2 SVM io
  std::map<std::tuple<uint32_t, uint64_t, uint32_t, uint32_t>, uint64_t> mmio_;  // (pid, gpa, len, type)
  std::map<uint32_t, std::string> mmio_type_names_;
  std::map<std::pair<uint32_t, bool>, uint64_t> msr_;
  std::map<std::string, uint64_t> uexits_;
  std::map<std::pair<uint32_t, bool>, uint64_t> injected_;
  std::unordered_map<uint64_t, uint64_t> uexits_by_thread_;
  recording::SinkThreads threads_;
  bool is_part_ = false;
  // A part's thread records, in file order, replayed at the merge where the threads of
  // earlier stretches are known.
  std::vector<recording::ThreadTable::Record> thread_events_;
  uint64_t first_time_ = 0, last_time_ = 0;
  bool zero_time_seen_ = false;  // a sample at time 0: first_time_ restarts after it
  uint64_t filtered_samples_ = 0;
};

}  // namespace exitprof::analysis
