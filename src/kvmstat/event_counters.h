// Counting kvm events instead of reading KVM's statistics (`stat -t`, as kvm_stat -t): one
// counter per kvm tracepoint, and per exit reason of kvm_exit and kvm_userspace_exit (ftrace
// filters), read as one group per CPU (or per thread with -p). EventCounters is the seam for
// other counting back ends (a BPF one counts the same names in maps).
#pragma once

#include <sys/types.h>

#include <memory>
#include <regex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "kvm/reason_table.h"
#include "kvmstat/stat_model.h"

namespace exitprof::kvmstat {

class EventCounters {
 public:
  virtual ~EventCounters() = default;
  // The counts since the counters were opened, as one cumulative table (names like
  // "kvm_pio", "kvm_exit(HLT)", "kvm_userspace_exit(KVM_EXIT_IO)").
  virtual Result<void> Read(StatTable& table) = 0;
  virtual std::string source() const = 0;
};

struct TracepointOptions {
  std::vector<pid_t> pids;             // count only these processes' threads (empty: every CPU)
  std::optional<std::regex> fields;    // open only the counters whose name matches
};

// Opens and enables the counters; fails with a clear line when tracefs or perf_event_open refuse.
Result<std::unique_ptr<EventCounters>> OpenTracepointCounters(const TracepointOptions& options);

// The reasons counted one by one for a kvm event, from its own format (the reason table's
// entries in print fmt order): kvm_exit's of this host's ISA, kvm_userspace_exit's; none for others.
std::vector<kvm::ReasonInfo> CountedReasons(const std::string& event, const std::string& format);

// Whether kvm_exit reasons here are SVM's (the second table of its print fmt) rather than VMX's.
bool HostIsAmd();

// `stat -t --bpf`: the same counter names, counted in the kernel by capture::bpf::KvmAggregator,
// for the events it attaches (kvm_exit, kvm_entry, kvm_pio, kvm_mmio, kvm_userspace_exit).
// Fails when BPF is not allowed or cannot load (exit code 1: the caller may fall back to
// OpenTracepointCounters) or when the options cannot work with BPF at all (exit code 2).
Result<std::unique_ptr<EventCounters>> OpenBpfCounters(const TracepointOptions& options);

}  // namespace exitprof::kvmstat
