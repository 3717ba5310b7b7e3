// KVM's debugfs statistics (/sys/kernel/debug/kvm/PID-FD/NAME and .../vcpuN/NAME), the source
// kvm_stat uses. Lockdown and many hosts refuse these reads; then the other sources are used.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "base/result.h"
#include "kvmstat/stat_model.h"

namespace exitprof::kvmstat {

// The debugfs directory of the VM `vm_fd` of `pid`, when it exists and its files can be read.
std::optional<std::string> DebugfsVmDir(pid_t pid, int vm_fd);
// Reads every numeric file of `dir` (VM-wide) and of its vcpuN subdirectories.
Result<void> ReadDebugfsStats(const std::string& dir, VmSnapshot& vm);

}  // namespace exitprof::kvmstat
