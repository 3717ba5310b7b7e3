// Finds the VMs on this host and reads their statistics each refresh, from the best source each
// VM offers: (a) the binary stats fds its VMM holds, borrowed with pidfd_getfd; (b) QMP
// query-stats on the QEMU monitor socket named in its command line (or --qmp); (c) debugfs.
// VMs that appear are picked up at the next Rescan(); VMs whose process exits are reported once
// as gone (their last numbers kept) and then dropped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "kvmstat/stat_model.h"
#include "kvmstat/vm_discovery.h"

namespace exitprof::kvmstat {

enum class SourceChoice { kAuto, kStatsFd, kQmp, kDebugfs };

struct SamplerOptions {
  std::vector<pid_t> pids;   // only these VMM processes (empty: all)
  std::string qmp_socket;    // --qmp PATH: use this QMP socket for the VM(s) of -p / the only QEMU
  SourceChoice source = SourceChoice::kAuto;
};

class StatSampler {
 public:
  explicit StatSampler(SamplerOptions options);
  ~StatSampler();
  StatSampler(StatSampler&&) noexcept;

  // Looks for VMs that appeared since the last call and opens their sources. Problems with one
  // VM (not permitted, no stats anywhere) are kept in its snapshot's `error`, not returned.
  void Rescan();
  // Reads every VM's statistics now: one pread per stats fd, one QMP exchange per QEMU.
  // Returns the VMs sorted by (pid, index); gone ones are listed this once with gone = true.
  std::vector<VmSnapshot> Refresh();

  size_t vm_count() const;
  int unreadable_processes() const { return unreadable_processes_; }

 private:
  struct Tracked;
  SamplerOptions options_;
  std::map<std::pair<pid_t, int>, std::unique_ptr<Tracked>> vms_;
  int unreadable_processes_ = 0;
  std::chrono::steady_clock::time_point last_recheck_{};  // of young VMs (see Rescan)
};

// The names of every statistic the VMs offer (for -f help), VM-wide first then per-vCPU.
std::vector<std::string> StatNames(const std::vector<VmSnapshot>& vms);

}  // namespace exitprof::kvmstat
