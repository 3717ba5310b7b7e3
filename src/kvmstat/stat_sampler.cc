#include "kvmstat/stat_sampler.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "kvmstat/debugfs_stats.h"
#include "kvmstat/fd_borrow.h"
#include "kvmstat/qmp_stats.h"
#include "qemu/qmp.h"

namespace exitprof::kvmstat {
namespace {

std::shared_ptr<const std::vector<StatMeta>> MetaOf(const BinaryStats& stats) {
  auto meta = std::make_shared<std::vector<StatMeta>>();
  meta->reserve(stats.descriptors().size());
  for (const auto& d : stats.descriptors()) {
    meta->push_back(StatMeta{.name = d.name, .type = d.type, .unit = UnitLabel(d), .bucket_size = d.bucket_size,
                             .first = d.offset / 8, .size = d.size});
  }
  return meta;
}

// A borrowed stats fd with its names, ready to be read.
struct FdSource {
  BinaryStats stats;
  std::shared_ptr<const std::vector<StatMeta>> meta;
  void CopyTo(StatTable& table) const {
    table.meta = meta;
    auto raw = stats.raw();
    table.values.assign(raw.begin(), raw.end());
  }
};

Result<FdSource> BorrowStats(const UniqueFd& pidfd, pid_t pid, int fd, const std::string& what) {
  auto borrowed = BorrowFd(pidfd, pid, fd);
  if (!borrowed) return tl::unexpected(borrowed.error());
  auto stats = BinaryStats::Open(std::move(*borrowed), fmt::format("pid {} fd {} ({})", pid, fd, what));
  if (!stats) return tl::unexpected(stats.error());
  auto meta = MetaOf(*stats);
  return FdSource{std::move(*stats), std::move(meta)};
}

bool ProcessExited(const UniqueFd& pidfd) {
  pollfd p{pidfd.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

}  // namespace

struct StatSampler::Tracked {
  DiscoveredVm vm;
  std::chrono::steady_clock::time_point first_seen;
  UniqueFd pidfd;
  VmSnapshot last;
  // Exactly one of these is in use, per last.source.
  std::optional<FdSource> vm_fd_stats;
  std::vector<std::pair<DiscoveredVcpu, FdSource>> vcpu_fd_stats;
  std::string qmp_socket;
  std::unique_ptr<QmpSchemas> qmp_schemas;
  std::string debugfs_dir;

  Result<void> Read();
};

Result<void> StatSampler::Tracked::Read() {
  if (last.source == "stats-fd") {
    if (vm_fd_stats) {
      if (auto r = vm_fd_stats->stats.Refresh(); !r) return r;
      vm_fd_stats->CopyTo(last.stats);
    }
    last.vcpus.resize(vcpu_fd_stats.size());
    for (size_t i = 0; i < vcpu_fd_stats.size(); ++i) {
      auto& [cpu, source] = vcpu_fd_stats[i];
      if (auto r = source.stats.Refresh(); !r) return r;
      last.vcpus[i].vcpu = cpu.vcpu;
      last.vcpus[i].tid = cpu.tid;
      source.CopyTo(last.vcpus[i].stats);
    }
    return {};
  }
  if (last.source == "qmp") {
    try {
      return ReadQmpStats(qmp_socket, qmp_schemas, last);
    } catch (const std::exception& e) {  // a malformed answer from the monitor
      return Fail(fmt::format("{}: unexpected QMP answer: {}", qmp_socket, e.what()), 1);
    }
  }
  if (last.source == "debugfs") return ReadDebugfsStats(debugfs_dir, last);
  return Fail(last.error.empty() ? "no statistics source" : last.error, 1);
}

StatSampler::StatSampler(SamplerOptions options) : options_(std::move(options)) {}
StatSampler::~StatSampler() = default;
StatSampler::StatSampler(StatSampler&&) noexcept = default;

size_t StatSampler::vm_count() const { return vms_.size(); }

void StatSampler::Rescan() {
  // A VMM creates its vCPUs (and their stats fds) just after the VM: a VM first seen a moment
  // ago (2 s) is looked at again on each rescan, in case the scan caught it half made.
  const auto now = std::chrono::steady_clock::now();
  // At most every 200 ms, so fast refreshes (-s 0.01) do not re-read every young VMM's fds each time.
  const bool recheck = now - last_recheck_ >= std::chrono::milliseconds(200);
  if (recheck) last_recheck_ = now;
  auto young = [&](const Tracked& t) { return recheck && now - t.first_seen < std::chrono::seconds(2); };
  std::set<pid_t> tracked;
  for (const auto& [key, t] : vms_) {
    if (!young(*t)) tracked.insert(key.first);
  }
  Discovery found;
  if (auto listed = DebugfsVmList()) {
    // Fast path: debugfs names every VM (PID-FD); look only at processes with a VM we lack.
    std::set<std::pair<pid_t, int>> known;
    for (const auto& [key, t] : vms_) known.emplace(key.first, t->vm.fd);
    std::set<pid_t> wanted;
    for (const auto& vm : *listed) {
      const bool asked = options_.pids.empty() ||
                         std::find(options_.pids.begin(), options_.pids.end(), vm.first) != options_.pids.end();
      if (asked && !known.count(vm)) wanted.insert(vm.first);
    }
    for (const auto& [key, t] : vms_) {
      if (young(*t)) wanted.insert(key.first);
    }
    if (wanted.empty()) return;
    found = DiscoverVms(std::vector<pid_t>(wanted.begin(), wanted.end()));
  } else {
    found = DiscoverVms(options_.pids, tracked);
  }
  unreadable_processes_ = found.unreadable_processes;
  for (auto& vm : found.vms) {
    auto key = std::make_pair(vm.pid, vm.index);
    if (auto it = vms_.find(key); it != vms_.end()) {
      const DiscoveredVm& had = it->second->vm;
      auto stats_fds = [](const DiscoveredVm& v) {
        return std::count_if(v.vcpus.begin(), v.vcpus.end(), [](auto& c) { return c.stats_fd >= 0; }) + (v.stats_fd >= 0);
      };
      const bool grew = vm.fd == had.fd && (vm.vcpus.size() > had.vcpus.size() || stats_fds(vm) > stats_fds(had));
      if (!grew) continue;
      vms_.erase(it);  // opened again below with its new vCPUs
    }
    auto t = std::make_unique<Tracked>();
    t->first_seen = now;
    t->last.pid = vm.pid;
    t->last.index = vm.index;
    t->last.vms_in_process = vm.vms_in_process;
    t->last.name = vm.name;
    t->last.comm = vm.comm;
    std::vector<std::string> problems;
    auto pidfd = OpenPidfd(vm.pid);
    if (!pidfd) continue;  // exited between the scan and now
    t->pidfd = std::move(*pidfd);

    const bool holds_fds = vm.stats_fd >= 0 || std::any_of(vm.vcpus.begin(), vm.vcpus.end(), [](auto& c) { return c.stats_fd >= 0; });
    if (holds_fds && (options_.source == SourceChoice::kAuto || options_.source == SourceChoice::kStatsFd)) {
      bool ok = true;
      if (vm.stats_fd >= 0) {
        auto s = BorrowStats(t->pidfd, vm.pid, vm.stats_fd, "kvm-vm-stats");
        if (s) t->vm_fd_stats = std::move(*s); else { problems.push_back(s.error().message); ok = false; }
      }
      for (const auto& cpu : vm.vcpus) {
        if (!ok || cpu.stats_fd < 0) continue;
        auto s = BorrowStats(t->pidfd, vm.pid, cpu.stats_fd, fmt::format("kvm-vcpu-stats:{}", cpu.vcpu));
        if (s) t->vcpu_fd_stats.emplace_back(cpu, std::move(*s)); else { problems.push_back(s.error().message); ok = false; }
      }
      if (ok) t->last.source = "stats-fd";
      else { t->vm_fd_stats.reset(); t->vcpu_fd_stats.clear(); }
    }
    if (t->last.source.empty() && (options_.source == SourceChoice::kAuto || options_.source == SourceChoice::kQmp)) {
      auto socket = qemu::QmpSocketFromArgs(vm.args, vm.pid);
      if (!socket && !options_.qmp_socket.empty()) socket = options_.qmp_socket;
      if (socket) {
        t->qmp_socket = *socket;
        t->last.source = "qmp";
        t->last.source_detail = *socket;
      } else if (options_.source == SourceChoice::kQmp) {
        problems.push_back("no QMP socket in its command line (give one with --qmp PATH)");
      }
    }
    if (t->last.source.empty() && (options_.source == SourceChoice::kAuto || options_.source == SourceChoice::kDebugfs)) {
      if (auto dir = DebugfsVmDir(vm.pid, vm.fd)) {
        t->debugfs_dir = *dir;
        t->last.source = "debugfs";
        t->last.source_detail = *dir;
      } else {
        problems.push_back(fmt::format("debugfs /sys/kernel/debug/kvm/{}-{} not readable", vm.pid, vm.fd));
      }
    }
    if (t->last.source.empty()) {
      std::string text = "no statistics source";
      for (const auto& p : problems) text += "; " + p;
      if (!holds_fds) text += "; its VMM holds no KVM stats fds";
      t->last.error = text;
    }
    t->vm = std::move(vm);
    vms_.emplace(key, std::move(t));
  }
}

std::vector<VmSnapshot> StatSampler::Refresh() {
  std::vector<VmSnapshot> out;
  out.reserve(vms_.size());
  std::vector<std::pair<pid_t, int>> drop;
  for (auto& [key, t] : vms_) {
    // A borrowed stats fd keeps answering (frozen) after its VM is gone: ask the pidfd first.
    if (ProcessExited(t->pidfd)) {
      t->last.gone = true;
      t->last.error = "the process exited";
      drop.push_back(key);
    } else if (!t->last.source.empty()) {
      if (auto r = t->Read(); !r) {
        if (ProcessExited(t->pidfd)) {
          t->last.gone = true;
          t->last.error = "the process exited";
          drop.push_back(key);
        } else {
          t->last.error = r.error().message;
        }
      } else {
        t->last.error.clear();
      }
    }
    out.push_back(t->last);
  }
  for (const auto& key : drop) vms_.erase(key);
  return out;
}

std::vector<std::string> StatNames(const std::vector<VmSnapshot>& vms) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  auto add = [&](const StatTable& t) {
    if (!t.meta) return;
    for (const auto& m : *t.meta) {
      if (seen.insert(m.name).second) names.push_back(m.name);
    }
  };
  for (const auto& vm : vms) add(vm.stats);
  for (const auto& vm : vms) {
    for (const auto& c : vm.vcpus) add(c.stats);
  }
  return names;
}

}  // namespace exitprof::kvmstat
