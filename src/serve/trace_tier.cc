#include "serve/trace_tier.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>

#include "serve/bounded_reasons.h"

namespace exitprof::serve {

namespace bpf = capture::bpf;

namespace {
bool PathExists(const std::string& path) { return !(::access(path.c_str(), F_OK) != 0 && errno == ENOENT); }
}  // namespace

TraceTier::TraceTier(std::unique_ptr<bpf::KvmAggregator> aggregator)
    : aggregator_(std::move(aggregator)), reasons_(kvm::ReasonTable::FromTracefs()) {}

std::string DeviceLabel(const qemu::DeviceMapHistory* map, uint64_t address, bool is_io) {
  if (!map) return "unknown";
  auto a = map->Attribute(address, is_io);
  if (!a.attributed()) return "unattributed";
  return a.id.empty() ? a.device : a.device + " " + a.id;
}

Result<void> TraceTier::Update(VmDirectory& directory) {
  auto now = aggregator_->Read();
  if (!now) return tl::unexpected(now.error());
  const bpf::Snapshot delta = bpf::Delta(*now, before_);
  // New VMs are named now, and start their device map pollers.
  for (const auto& p : delta.Pio()) directory.Get(p.pid);
  for (const auto& m : delta.Mmio()) directory.Get(m.pid);
  directory.RefreshDevices();
  for (const auto& e : delta.Exits()) {
    const kvm::Isa isa = kvm::ExitIsa(e.isa);
    vms_[e.pid].exits[BoundedExitReason(isa, reasons_.NameOf(isa, e.reason))] += e.count;
  }
  for (const auto& u : delta.UserspaceExits()) {
    vms_[u.pid].uexits[BoundedUserspaceReason(bpf::UserspaceExitName(u.reason))] += u.count;
  }
  for (const auto& p : delta.Pio()) {
    vms_[p.pid].devices[{DeviceLabel(directory.Devices(p.pid), p.port, true), p.write ? "write" : "read"}] += p.count;
  }
  for (const auto& m : delta.Mmio()) {
    if (m.type != 1 && m.type != 2) continue;  // unsatisfied-read is the exit half of a read counted as "read"
    vms_[m.pid].devices[{DeviceLabel(directory.Devices(m.pid), m.gpa, false), m.type == 2 ? "write" : "read"}] += m.count;
  }
  for (const auto& h : delta.Latency()) {
    const kvm::Isa isa = kvm::ExitIsa(h.isa);
    auto& l = latency_[BoundedExitReason(isa, reasons_.NameOf(isa, h.reason))];
    for (size_t k = 0; k < h.slots.size(); ++k) l.slots[k] += h.slots[k];
    l.count += h.count;
    l.total_ns += h.total_ns;
  }
  map_full_ = now->dropped();
  // Ended threads' keys go from the maps and from the snapshot kept, so the next delta does not
  // see them vanish (their counts are in vms_ already).
  // /proc/PID/stat is formatted by the kernel on each read: once per process per scrape.
  std::map<uint32_t, bool> alive;
  auto process_alive = [&alive](uint32_t pid) {
    auto [it, added] = alive.emplace(pid, false);
    if (added) it->second = ProcessAlive(static_cast<pid_t>(pid));
    return it->second;
  };
  std::map<std::pair<uint32_t, uint32_t>, bool> thread_gone;  // a thread has keys in several maps
  auto forgotten = aggregator_->ForgetThreads(*now, [&](uint32_t pid, uint32_t tid) {
    auto [it, added] = thread_gone.emplace(std::make_pair(pid, tid), false);
    if (added)
      it->second = !process_alive(pid) || !PathExists("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid));
    return it->second;
  });
  if (!forgotten) return tl::unexpected(forgotten.error());
  before_ = std::move(*now);
  for (auto it = vms_.begin(); it != vms_.end();) {
    it = process_alive(static_cast<uint32_t>(it->first)) ? std::next(it) : vms_.erase(it);
  }
  return {};
}

void TraceTier::AppendFamilies(VmDirectory& directory, size_t max_vms, std::vector<Family>& out,
                               uint64_t& dropped_series) const {
  Family exits{"kvm_exits_total", MetricType::kCounter,
               "VM exits by reason (the dozen most common per ISA, the rest as other), counted in the kernel"};
  Family uexits{"kvm_userspace_exits_total", MetricType::kCounter, "Exits handed to the VMM (KVM_RUN returned), by KVM_EXIT_* reason"};
  Family devices{"kvm_device_exits_total", MetricType::kCounter,
                 "Port and MMIO exits by device (from the QEMU device map; unknown without one) and access"};
  size_t shown = 0;
  for (const auto& [pid, counts] : vms_) {
    const size_t series = counts.exits.size() + counts.uexits.size() + counts.devices.size();
    if (shown++ >= max_vms) {
      dropped_series += series;
      continue;
    }
    const std::string& vm = directory.Get(pid).vm;
    for (const auto& [reason, n] : counts.exits) exits.Add({{"vm", vm}, {"reason", reason}}, static_cast<double>(n));
    for (const auto& [reason, n] : counts.uexits) uexits.Add({{"vm", vm}, {"reason", reason}}, static_cast<double>(n));
    for (const auto& [key, n] : counts.devices)
      devices.Add({{"vm", vm}, {"device", key.first}, {"access", key.second}}, static_cast<double>(n));
  }
  Family duration{"kvm_exit_duration_seconds", MetricType::kHistogram,
                  "Time from kvm_exit to the next kvm_entry of the same vCPU thread, by reason, host-wide"};
  std::vector<double> bounds;
  for (int k = kFirstBucketLog2; k <= kLastBucketLog2; ++k) bounds.push_back(std::ldexp(1.0, k) / 1e9);
  bounds.push_back(INFINITY);
  for (const auto& [reason, l] : latency_) {
    std::vector<uint64_t> cumulative;
    uint64_t sum = 0;
    size_t slot = 0;
    // Slot k holds [2^k, 2^(k+1)) ns: the bucket le=2^b ns holds slots 0..b-1.
    for (int b = kFirstBucketLog2; b <= kLastBucketLog2; ++b) {
      for (; slot < static_cast<size_t>(b); ++slot) sum += l.slots[slot];
      cumulative.push_back(sum);
    }
    for (; slot < l.slots.size(); ++slot) sum += l.slots[slot];
    cumulative.push_back(sum);  // +Inf: every slot, so the buckets and _count agree
    duration.AddHistogram({{"reason", reason}}, bounds, cumulative, l.total_ns / 1e9);
  }
  out.push_back(std::move(exits));
  out.push_back(std::move(duration));
  out.push_back(std::move(uexits));
  out.push_back(std::move(devices));
}

}  // namespace exitprof::serve
