// The run loop of one vCPU thread: KVM_RUN, service the exit, count it in the account, pace,
// until the guest writes the done port, the duration passes, a stop is requested, or an exit
// is unexpected (then the error names the exit, the rip and the op the script expected).
#pragma once

#include <atomic>
#include <functional>
#include <chrono>
#include <optional>
#include <stop_token>

#include "guest/guest.h"
#include "guest/kvm_vm.h"

namespace exitprof::guest {

struct VcpuJob {
  int vm = 0;
  int vcpu = 0;
  Vcpu* kvm_vcpu = nullptr;
  const GuestProgram* program = nullptr;
  uint64_t rate = 0;
  std::optional<std::chrono::steady_clock::time_point> deadline{};
  std::stop_token stop{};                  // the caller's
  const std::atomic<bool>* abort = nullptr;  // set when another vCPU failed
  bool vm_stats_fd = false;
  bool hold = false;                          // wait for `stop` after the work (see RunOptions)
  std::atomic<int>* holding = nullptr;        // counts vCPUs that are holding
  const std::function<void()>* on_hold = nullptr;  // called by the last vCPU to start holding
  int total_vcpus = 1;
};

// Runs on the calling thread (it names itself "CPU N/KVM" first).
Result<VcpuAccount> RunVcpu(const VcpuJob& job);

}  // namespace exitprof::guest
