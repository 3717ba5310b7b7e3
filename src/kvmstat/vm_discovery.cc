#include "kvmstat/vm_discovery.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <optional>
#include <string_view>

#include "qemu/qmp.h"

namespace exitprof::kvmstat {
namespace {

std::optional<long> Number(std::string_view text) {
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::vector<long> NumericEntries(const std::string& dir) {
  std::vector<long> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (auto n = Number(e->d_name)) out.push_back(*n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

enum class FdKind { kVm, kVmStats, kVcpu, kVcpuStats };
struct KvmFd {
  int fd;
  FdKind kind;
  int vcpu;
};

std::optional<KvmFd> Classify(int fd, std::string_view link) {
  constexpr std::string_view kPrefix = "anon_inode:kvm-";
  if (!link.starts_with(kPrefix)) return std::nullopt;
  link.remove_prefix(kPrefix.size());
  if (link == "vm") return KvmFd{fd, FdKind::kVm, -1};
  if (link == "vm-stats") return KvmFd{fd, FdKind::kVmStats, -1};
  for (auto [prefix, kind] : {std::pair{std::string_view("vcpu:"), FdKind::kVcpu},
                              std::pair{std::string_view("vcpu-stats:"), FdKind::kVcpuStats}}) {
    if (link.starts_with(prefix)) {
      auto n = Number(link.substr(prefix.size()));
      if (n && *n >= 0 && *n < 65536) return KvmFd{fd, kind, static_cast<int>(*n)};
    }
  }
  return std::nullopt;
}

// Files one process's KVM fds under its VMs (see DiscoverVms).
std::vector<DiscoveredVm> GroupFds(pid_t pid, const std::vector<KvmFd>& fds) {
  std::vector<DiscoveredVm> vms;
  for (const KvmFd& f : fds) {
    if (f.kind == FdKind::kVm) {
      DiscoveredVm vm;
      vm.pid = pid;
      vm.index = static_cast<int>(vms.size());
      vm.fd = f.fd;
      vms.push_back(std::move(vm));
    }
  }
  if (vms.empty()) return vms;
  auto vcpu_of = [](DiscoveredVm& vm, int n) -> DiscoveredVcpu& {
    auto it = std::find_if(vm.vcpus.begin(), vm.vcpus.end(), [&](const DiscoveredVcpu& c) { return c.vcpu == n; });
    if (it != vm.vcpus.end()) return *it;
    vm.vcpus.push_back(DiscoveredVcpu{.vcpu = n});
    return vm.vcpus.back();
  };
  // The VM an fd belongs to: the latest one opened before it that still lacks this slot.
  auto owner = [&](int fd, auto&& lacks) -> DiscoveredVm* {
    DiscoveredVm* best = nullptr;
    for (auto& vm : vms) {
      if (lacks(vm) && (best == nullptr || vm.fd < fd)) best = &vm;
    }
    return best;
  };
  for (const KvmFd& f : fds) {
    switch (f.kind) {
      case FdKind::kVm: break;
      case FdKind::kVmStats:
        if (auto* vm = owner(f.fd, [](DiscoveredVm& v) { return v.stats_fd < 0; })) vm->stats_fd = f.fd;
        break;
      case FdKind::kVcpu:
        if (auto* vm = owner(f.fd, [&](DiscoveredVm& v) { return vcpu_of(v, f.vcpu).fd < 0; })) vcpu_of(*vm, f.vcpu).fd = f.fd;
        break;
      case FdKind::kVcpuStats:
        if (auto* vm = owner(f.fd, [&](DiscoveredVm& v) { return vcpu_of(v, f.vcpu).stats_fd < 0; }))
          vcpu_of(*vm, f.vcpu).stats_fd = f.fd;
        break;
    }
  }
  for (auto& vm : vms) {
    // vcpu_of() above may have added empty slots while probing; keep the real ones.
    std::erase_if(vm.vcpus, [](const DiscoveredVcpu& c) { return c.fd < 0 && c.stats_fd < 0; });
    std::sort(vm.vcpus.begin(), vm.vcpus.end(), [](auto& a, auto& b) { return a.vcpu < b.vcpu; });
    vm.vms_in_process = static_cast<int>(vms.size());
  }
  return vms;
}

}  // namespace

std::vector<std::pair<int, pid_t>> VcpuThreads(pid_t pid) {
  std::vector<std::pair<int, pid_t>> out;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  for (long tid : NumericEntries(task)) {
    std::string comm = ReadLine(task + "/" + std::to_string(tid) + "/comm");
    std::string_view c = comm;
    if (!c.starts_with("CPU ") || !c.ends_with("/KVM")) continue;
    if (auto n = Number(c.substr(4, c.size() - 8))) out.emplace_back(static_cast<int>(*n), static_cast<pid_t>(tid));
  }
  return out;
}

std::optional<std::vector<std::pair<pid_t, int>>> DebugfsVmList() {
  DIR* d = ::opendir("/sys/kernel/debug/kvm");
  if (d == nullptr) return std::nullopt;
  std::vector<std::pair<pid_t, int>> out;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    size_t dash = name.find('-');
    if (dash == std::string_view::npos) continue;
    auto pid = Number(name.substr(0, dash));
    auto fd = Number(name.substr(dash + 1));
    if (pid && fd) out.emplace_back(static_cast<pid_t>(*pid), static_cast<int>(*fd));
  }
  ::closedir(d);
  return out;
}

Discovery DiscoverVms(const std::vector<pid_t>& pids, const std::set<pid_t>& skip) {
  Discovery result;
  std::vector<long> candidates;
  if (pids.empty()) {
    candidates = NumericEntries("/proc");
  } else {
    candidates.assign(pids.begin(), pids.end());
  }
  const pid_t self = ::getpid();
  char link[256];
  for (long pid : candidates) {
    if (pid == self || skip.count(static_cast<pid_t>(pid))) continue;  // ours hold only borrowed stats fds
    const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR* d = ::opendir(fd_dir.c_str());
    if (d == nullptr) {
      if (errno == EACCES) ++result.unreadable_processes;
      continue;
    }
    std::vector<KvmFd> fds;
    while (dirent* e = ::readdir(d)) {
      auto n = Number(e->d_name);
      if (!n) continue;
      ssize_t len = ::readlinkat(::dirfd(d), e->d_name, link, sizeof link - 1);
      if (len <= 0) continue;
      if (auto f = Classify(static_cast<int>(*n), std::string_view(link, static_cast<size_t>(len)))) fds.push_back(*f);
    }
    ::closedir(d);
    if (fds.empty()) continue;
    std::sort(fds.begin(), fds.end(), [](const KvmFd& a, const KvmFd& b) { return a.fd < b.fd; });
    auto vms = GroupFds(static_cast<pid_t>(pid), fds);
    if (vms.empty()) continue;
    const std::string comm = ReadLine("/proc/" + std::to_string(pid) + "/comm");
    auto args = qemu::ProcessArgs(static_cast<pid_t>(pid));
    std::string name = qemu::QemuNameFromArgs(args);
    if (name.empty()) name = comm;
    // The k-th thread named "CPU N/KVM" runs vCPU N of the k-th VM that has one.
    std::map<int, int> seen;
    auto threads = VcpuThreads(static_cast<pid_t>(pid));
    for (auto& [vcpu_number, tid] : threads) {
      // A plain copy: lambdas may not capture structured bindings before C++20 compilers caught up (clang 14).
      const int n = vcpu_number;
      int k = seen[n]++;
      for (auto& vm : vms) {
        auto it = std::find_if(vm.vcpus.begin(), vm.vcpus.end(), [n](auto& c) { return c.vcpu == n; });
        if (it != vm.vcpus.end() && k-- == 0) {
          it->tid = tid;
          break;
        }
      }
    }
    for (auto& vm : vms) {
      vm.comm = comm;
      vm.name = name;
      vm.args = args;
      result.vms.push_back(std::move(vm));
    }
  }
  return result;
}

}  // namespace exitprof::kvmstat
