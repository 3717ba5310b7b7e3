// Snapshot tables as plain structs, intervals as differences, names of userspace exits.
#include <linux/kvm.h>

#include <cstring>

#include <fmt/format.h>

#include <map>
#include <tuple>
#include <algorithm>
#include "capture/bpf/kvm_aggregator.h"

namespace exitprof::capture::bpf {

namespace {

template <typename Key>
Key KeyOf(const std::string& bytes) {
  Key k{};
  std::memcpy(&k, bytes.data(), std::min(bytes.size(), sizeof k));
  return k;
}

uint64_t Word(const std::vector<uint64_t>& v, size_t i) { return i < v.size() ? v[i] : 0; }

// now - before, word by word; keys with nothing new are left out. `keep` words (min/max)
// are taken from `now` as they are.
RawTable Subtract(const RawTable& now, const RawTable& before, size_t count_word, const std::vector<size_t>& keep = {}) {
  RawTable out;
  for (const auto& [key, words] : now) {
    auto old = before.find(key);
    std::vector<uint64_t> d = words;
    if (old != before.end()) {
      for (size_t i = 0; i < d.size(); ++i) {
        if (std::find(keep.begin(), keep.end(), i) != keep.end()) continue;
        uint64_t o = Word(old->second, i);
        d[i] = d[i] >= o ? d[i] - o : 0;
      }
    }
    if (Word(d, count_word) != 0) out.emplace(key, std::move(d));
  }
  return out;
}

}  // namespace

std::vector<ExitCount> Snapshot::Exits() const {
  std::vector<ExitCount> out;
  for (const auto& [key, v] : exits) {
    auto k = KeyOf<agg_exit_key>(key);
    out.push_back({k.pid, k.tid, k.vcpu, k.reason, k.isa, Word(v, 0)});
  }
  return out;
}

std::vector<RipCount> Snapshot::Rips() const {
  // Keyed by CPU in the map (one writer per entry): summed over CPUs here.
  std::map<std::tuple<uint32_t, uint32_t, uint64_t>, uint64_t> sum;
  for (const auto& [key, v] : rips) {
    auto k = KeyOf<agg_rip_key>(key);
    sum[{k.reason, k.isa, k.rip}] += Word(v, 0);
  }
  std::vector<RipCount> out;
  for (const auto& [k, n] : sum) out.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), n});
  return out;
}

std::vector<LatencyHistogram> Snapshot::Latency() const {
  std::map<std::pair<uint32_t, uint32_t>, LatencyHistogram> sum;  // over CPUs, as for Rips
  for (const auto& [key, v] : latency) {
    auto k = KeyOf<agg_lat_key>(key);
    auto [it, fresh] = sum.try_emplace({k.reason, k.isa}, LatencyHistogram{k.reason, k.isa, 0, 0, 0, 0, {}});
    LatencyHistogram& h = it->second;
    const uint64_t n = Word(v, 0);
    if (n && (h.count == 0 || Word(v, 2) < h.min_ns)) h.min_ns = Word(v, 2);
    h.max_ns = std::max(h.max_ns, Word(v, 3));
    h.count += n;
    h.total_ns += Word(v, 1);
    for (size_t i = 0; i < h.slots.size(); ++i) h.slots[i] += Word(v, 4 + i);
    (void)fresh;
  }
  std::vector<LatencyHistogram> out;
  for (const auto& [k, h] : sum) out.push_back(h);
  return out;
}

std::vector<PioCount> Snapshot::Pio() const {
  std::vector<PioCount> out;
  for (const auto& [key, v] : pio) {
    auto k = KeyOf<agg_pio_key>(key);
    out.push_back({k.pid, k.tid, k.port, k.size, k.write != 0, Word(v, 0)});
  }
  return out;
}

std::vector<MmioCount> Snapshot::Mmio() const {
  std::vector<MmioCount> out;
  for (const auto& [key, v] : mmio) {
    auto k = KeyOf<agg_mmio_key>(key);
    out.push_back({k.pid, k.tid, k.gpa, k.len, k.type, Word(v, 0)});
  }
  return out;
}

std::vector<UserspaceExitCount> Snapshot::UserspaceExits() const {
  std::vector<UserspaceExitCount> out;
  for (const auto& [key, v] : uexits) {
    auto k = KeyOf<agg_uexit_key>(key);
    out.push_back({k.pid, k.tid, k.reason, Word(v, 0)});
  }
  return out;
}

uint64_t Snapshot::dropped() const {
  uint64_t n = 0;
  for (uint64_t d : drops) n += d;
  return n;
}

Snapshot Delta(const Snapshot& now, const Snapshot& before) {
  Snapshot d;
  d.time_ns = now.time_ns;
  d.exits = Subtract(now.exits, before.exits, 0);
  d.rips = Subtract(now.rips, before.rips, 0);
  d.latency = Subtract(now.latency, before.latency, 0, {2, 3});
  d.pio = Subtract(now.pio, before.pio, 0);
  d.mmio = Subtract(now.mmio, before.mmio, 0);
  d.uexits = Subtract(now.uexits, before.uexits, 0);
  for (size_t i = 0; i < d.events.size(); ++i) d.events[i] = now.events[i] - std::min(now.events[i], before.events[i]);
  for (size_t i = 0; i < d.drops.size(); ++i) d.drops[i] = now.drops[i] - std::min(now.drops[i], before.drops[i]);
  for (size_t i = 0; i < d.busy.size(); ++i) d.busy[i] = now.busy[i] - std::min(now.busy[i], before.busy[i]);
  d.threads = now.threads;
  return d;
}

std::string UserspaceExitName(uint32_t reason) {
  // The kernel's print fmt names them by these macros; the numbers are KVM's user ABI.
#define EXITPROF_KVM_EXIT(name) \
  case name: return #name;
  switch (reason) {
    case AGG_UEXIT_RESTART: return "restart";
    case AGG_UEXIT_ERROR: return "error";
    EXITPROF_KVM_EXIT(KVM_EXIT_UNKNOWN)
    EXITPROF_KVM_EXIT(KVM_EXIT_EXCEPTION)
    EXITPROF_KVM_EXIT(KVM_EXIT_IO)
    EXITPROF_KVM_EXIT(KVM_EXIT_HYPERCALL)
    EXITPROF_KVM_EXIT(KVM_EXIT_DEBUG)
    EXITPROF_KVM_EXIT(KVM_EXIT_HLT)
    EXITPROF_KVM_EXIT(KVM_EXIT_MMIO)
    EXITPROF_KVM_EXIT(KVM_EXIT_IRQ_WINDOW_OPEN)
    EXITPROF_KVM_EXIT(KVM_EXIT_SHUTDOWN)
    EXITPROF_KVM_EXIT(KVM_EXIT_FAIL_ENTRY)
    EXITPROF_KVM_EXIT(KVM_EXIT_INTR)
    EXITPROF_KVM_EXIT(KVM_EXIT_SET_TPR)
    EXITPROF_KVM_EXIT(KVM_EXIT_TPR_ACCESS)
    EXITPROF_KVM_EXIT(KVM_EXIT_S390_SIEIC)
    EXITPROF_KVM_EXIT(KVM_EXIT_S390_RESET)
    EXITPROF_KVM_EXIT(KVM_EXIT_DCR)
    EXITPROF_KVM_EXIT(KVM_EXIT_NMI)
    EXITPROF_KVM_EXIT(KVM_EXIT_INTERNAL_ERROR)
    EXITPROF_KVM_EXIT(KVM_EXIT_OSI)
    EXITPROF_KVM_EXIT(KVM_EXIT_PAPR_HCALL)
    EXITPROF_KVM_EXIT(KVM_EXIT_S390_UCONTROL)
    EXITPROF_KVM_EXIT(KVM_EXIT_WATCHDOG)
    EXITPROF_KVM_EXIT(KVM_EXIT_S390_TSCH)
    EXITPROF_KVM_EXIT(KVM_EXIT_EPR)
    EXITPROF_KVM_EXIT(KVM_EXIT_SYSTEM_EVENT)
    EXITPROF_KVM_EXIT(KVM_EXIT_S390_STSI)
    EXITPROF_KVM_EXIT(KVM_EXIT_IOAPIC_EOI)
    EXITPROF_KVM_EXIT(KVM_EXIT_HYPERV)
    EXITPROF_KVM_EXIT(KVM_EXIT_ARM_NISV)
    EXITPROF_KVM_EXIT(KVM_EXIT_X86_RDMSR)
    EXITPROF_KVM_EXIT(KVM_EXIT_X86_WRMSR)
    EXITPROF_KVM_EXIT(KVM_EXIT_DIRTY_RING_FULL)
    EXITPROF_KVM_EXIT(KVM_EXIT_AP_RESET_HOLD)
    EXITPROF_KVM_EXIT(KVM_EXIT_X86_BUS_LOCK)
    EXITPROF_KVM_EXIT(KVM_EXIT_XEN)
    EXITPROF_KVM_EXIT(KVM_EXIT_RISCV_SBI)
    EXITPROF_KVM_EXIT(KVM_EXIT_RISCV_CSR)
    EXITPROF_KVM_EXIT(KVM_EXIT_NOTIFY)
    default: break;
  }
#undef EXITPROF_KVM_EXIT
  return "KVM_EXIT_" + std::to_string(reason);
}

std::vector<PidEventCount> CountsByPid(const Snapshot& s) {
  std::map<std::tuple<uint32_t, std::string, std::string>, uint64_t> sums;
  for (const auto& e : s.Exits()) sums[{e.pid, "kvm_exit", fmt::format("{}:{}", e.isa, e.reason)}] += e.count;
  for (const auto& e : s.UserspaceExits()) sums[{e.pid, "kvm_userspace_exit", UserspaceExitName(e.reason)}] += e.count;
  for (const auto& e : s.Pio()) sums[{e.pid, "kvm_pio", fmt::format("{:#x}:{}", e.port, e.write ? "write" : "read")}] += e.count;
  static const char* const kMmio[] = {"unsatisfied-read", "read", "write"};
  for (const auto& e : s.Mmio())
    sums[{e.pid, "kvm_mmio", fmt::format("{:#x}:{}", e.gpa, e.type < 3 ? kMmio[e.type] : std::to_string(e.type))}] += e.count;
  std::vector<PidEventCount> out;
  for (const auto& [k, n] : sums) out.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), n});
  return out;
}

}  // namespace exitprof::capture::bpf
