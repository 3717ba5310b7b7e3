// Which processes run KVM VMs, found in /proc: a VM is an `anon_inode:kvm-vm` fd, its vCPUs are
// `anon_inode:kvm-vcpu:N` fds and its binary stats fds (when the VMM keeps them open) are
// `anon_inode:kvm-vm-stats` and `anon_inode:kvm-vcpu-stats:N`. Names come from QEMU's -name
// (libvirt passes -name guest=NAME), else the command. vCPU threads are those named "CPU N/KVM".
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace exitprof::kvmstat {

struct DiscoveredVcpu {
  int vcpu = 0;
  int fd = -1;        // kvm-vcpu:N in the VMM
  int stats_fd = -1;  // kvm-vcpu-stats:N, -1 when the VMM holds none
  pid_t tid = 0;      // its thread, 0 when unknown
};

struct DiscoveredVm {
  pid_t pid = 0;
  int index = 0;         // which VM of this process (fd order), 0 for almost every VMM
  int vms_in_process = 1;
  std::string comm;      // /proc/PID/comm
  std::string name;      // -name, else comm
  std::vector<std::string> args;
  int fd = -1;           // kvm-vm in the VMM
  int stats_fd = -1;     // kvm-vm-stats, -1 when the VMM holds none
  std::vector<DiscoveredVcpu> vcpus;  // by vcpu number
};

struct Discovery {
  std::vector<DiscoveredVm> vms;  // by pid, then index
  int unreadable_processes = 0;   // /proc/PID/fd we may not list (not root)
};

// Scans /proc (or only `pids` when not empty). A process holding several VMs gets them split by
// fd order: each vCPU and stats fd goes to the latest VM fd opened before it (how VMMs create them).
// Processes in `skip` are not looked at (the caller tracks them already).
Discovery DiscoverVms(const std::vector<pid_t>& pids = {}, const std::set<pid_t>& skip = {});

// KVM's debugfs directory lists every VM as "PID-FD" even where reading the statistics in it
// is refused: a cheap way to see which processes to look at. nullopt when it cannot be listed.
std::optional<std::vector<std::pair<pid_t, int>>> DebugfsVmList();

// Threads of `pid` named "CPU N/KVM" (QEMU's and our guest's naming), sorted by tid:
// (vcpu number, tid) pairs.
std::vector<std::pair<int, pid_t>> VcpuThreads(pid_t pid);

}  // namespace exitprof::kvmstat
