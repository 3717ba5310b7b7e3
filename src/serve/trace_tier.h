// The trace tier: exits counted in the kernel by the BPF aggregator (capture/bpf), turned into
// per-VM counters with bounded labels. Each scrape reads the maps, adds what happened since the
// last read to per-VM sums, then forgets ended threads in the maps: a running VM's counters only
// grow, however its threads come and go, and a VM whose process ended loses its series.
#pragma once

#include <sys/types.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "capture/bpf/kvm_aggregator.h"
#include "kvm/reason_table.h"
#include "serve/exposition.h"
#include "serve/vm_identity.h"

namespace exitprof::serve {

// The histogram's bounds: 2^8 ns (256 ns) to 2^25 ns (~33.5 ms), then +Inf.
inline constexpr int kFirstBucketLog2 = 8, kLastBucketLog2 = 25;

struct VmTraceCounts {
  std::map<std::string, uint64_t> exits;   // bounded reason -> count
  std::map<std::string, uint64_t> uexits;  // KVM_EXIT_* -> count
  std::map<std::pair<std::string, std::string>, uint64_t> devices;  // (device, access) -> count
};

struct ReasonLatency {
  std::array<uint64_t, AGG_LOG2_SLOTS> slots{};
  uint64_t count = 0, total_ns = 0;
};

class TraceTier {
 public:
  explicit TraceTier(std::unique_ptr<capture::bpf::KvmAggregator> aggregator);

  // Reads the maps and folds the new counts in. `directory` names VMs and their devices.
  Result<void> Update(VmDirectory& directory);
  // The tier's families, for at most `max_vms` VMs (the rest counted in `dropped_series`).
  void AppendFamilies(VmDirectory& directory, size_t max_vms, std::vector<Family>& out, uint64_t& dropped_series) const;

  const std::map<pid_t, VmTraceCounts>& vms() const { return vms_; }
  uint64_t map_full() const { return map_full_; }
  const capture::bpf::KvmAggregator& aggregator() const { return *aggregator_; }

 private:
  std::unique_ptr<capture::bpf::KvmAggregator> aggregator_;
  kvm::ReasonTable reasons_;
  capture::bpf::Snapshot before_;
  std::map<pid_t, VmTraceCounts> vms_;
  std::map<std::string, ReasonLatency> latency_;  // bounded reason -> host-wide histogram
  uint64_t map_full_ = 0;
};

// Device label of a port or MMIO exit: the QMP map's device (with its qdev id), "unattributed"
// when the map does not place the address, "unknown" when the VM has no map.
std::string DeviceLabel(const qemu::DeviceMapHistory* map, uint64_t address, bool is_io);

}  // namespace exitprof::serve
