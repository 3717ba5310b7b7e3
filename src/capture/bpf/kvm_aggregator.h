// In-kernel aggregation of the kvm tracepoints (kvm_agg.bpf.c), from user space: load the
// programs with the cheapest attach mode the kernel accepts, read the maps as plain structs.
// Counts are cumulative since Open(); Delta() turns two snapshots into one interval.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "capture/bpf/kvm_agg.h"

namespace exitprof::capture::bpf {

enum class AttachMode { kTpBtf, kRawTp, kTracepoint };
const char* AttachModeName(AttachMode mode);  // "tp_btf", "raw_tp", "tracepoint"

struct AggregatorOptions {
  std::vector<pid_t> pids;  // empty: every process
  bool rips = true;         // per (reason, rip) counts
  bool latency = true;      // exit -> entry histograms
  bool exits = true;        // attach kvm_exit / kvm_entry at all
  // Tests and diagnosis: try only this attach mode; shrink the port map to see it fill.
  std::optional<AttachMode> only_mode;
  uint32_t pio_max_entries = 0;  // 0: AGG_MAX_PIO_KEYS
};

// One map's content: key bytes -> value words (per-CPU maps already folded over the CPUs).
using RawTable = std::map<std::string, std::vector<uint64_t>>;

struct ExitCount {
  uint32_t pid, tid, vcpu, reason, isa;  // vcpu ~0: the format has no vcpu_id
  uint64_t count;
};
struct RipCount {
  uint32_t reason, isa;
  uint64_t rip, count;
};
struct LatencyHistogram {
  uint32_t reason, isa;
  uint64_t count, total_ns, min_ns, max_ns;  // min/max: since Open(), even in a Delta
  std::array<uint64_t, AGG_LOG2_SLOTS> slots;
};
struct PioCount {
  uint32_t pid, tid;
  uint16_t port;
  uint8_t size;
  bool write;
  uint64_t count;
};
struct MmioCount {
  uint32_t pid, tid;
  uint64_t gpa;
  uint32_t len, type;  // type as kvm_mmio: 0 unsatisfied-read, 1 read, 2 write
  uint64_t count;
};
struct UserspaceExitCount {
  uint32_t pid, tid, reason;  // reason: KVM_EXIT_* number
  uint64_t count;
};
struct ThreadComm {
  uint32_t pid, tid;
  std::string comm;
};

struct Snapshot {
  uint64_t time_ns = 0;  // CLOCK_MONOTONIC when read
  RawTable exits, rips, latency, pio, mmio, uexits;
  std::array<uint64_t, AGG_EV_COUNT> events{};  // firings that passed the pid filter
  std::array<uint64_t, AGG_MAP_COUNT> drops{};  // events not counted: an insert into that map failed
  std::array<uint64_t, AGG_MAP_COUNT> busy{};   // of those, inserts refused although the map had room (-EBUSY)
  std::map<uint32_t, ThreadComm> threads;       // tid -> name when first seen

  std::vector<ExitCount> Exits() const;
  std::vector<RipCount> Rips() const;
  std::vector<LatencyHistogram> Latency() const;
  std::vector<PioCount> Pio() const;
  std::vector<MmioCount> Mmio() const;
  std::vector<UserspaceExitCount> UserspaceExits() const;
  uint64_t dropped() const;
};

// What happened between two snapshots of the same aggregator (names are taken from `now`).
Snapshot Delta(const Snapshot& now, const Snapshot& before);

// Why this process may not use BPF here (no privilege, locked down, no BTF), or nullopt.
// Checked up front so the message names the cause instead of a bare EPERM.
std::optional<std::string> BpfNotAllowedReason();

struct KvmAggSkeleton;  // the generated skeleton and its links, kept out of this header

class KvmAggregator {
 public:
  // Loads and attaches. Tries tp_btf, raw_tp, then tracepoint programs; kvm_exit/kvm_entry
  // are attached when the kernel has them (exit_status() says why not otherwise).
  static Result<std::unique_ptr<KvmAggregator>> Open(const AggregatorOptions& options);
  ~KvmAggregator();
  KvmAggregator(const KvmAggregator&) = delete;
  KvmAggregator& operator=(const KvmAggregator&) = delete;

  Result<Snapshot> Read() const;
  // Long-running views: deletes the per-thread keys (exits, ports, MMIO, userspace exits) of
  // threads `gone` says have ended, from the maps and from `snapshot` alike, so a host where
  // VMs come and go does not fill the maps with the dead. Returns how many keys went.
  Result<size_t> ForgetThreads(Snapshot& snapshot, const std::function<bool(uint32_t pid, uint32_t tid)>& gone) const;
  AttachMode mode() const { return mode_; }
  bool exit_attached() const { return exit_attached_; }
  bool entry_attached() const { return entry_attached_; }
  // "" when kvm_exit is attached, else why not (e.g. "kvm:kvm_exit does not exist").
  const std::string& exit_status() const { return exit_status_; }
  // Whether map reads use batch lookups (false: the get_next_key fallback).
  bool batch_reads() const { return batch_reads_; }

 private:
  KvmAggregator() = default;
  std::unique_ptr<KvmAggSkeleton> skel_;
  AttachMode mode_ = AttachMode::kTracepoint;
  bool exit_attached_ = false, entry_attached_ = false;
  std::string exit_status_;
  mutable bool batch_reads_ = true;
  bool read_rips_ = true, read_latency_ = true;  // as opened: maps the programs leave empty are not read
};

// For `exitprof stat -t --bpf`: counts per (pid, event, reason) in a snapshot or delta.
// event: "kvm_exit" (reason "isa:number"), "kvm_userspace_exit" (reason "KVM_EXIT_*"),
// "kvm_pio" (reason "0x3f8:write"), "kvm_mmio" (reason "0xd0000:read").
struct PidEventCount {
  uint32_t pid;
  std::string event, reason;
  uint64_t count;
};
std::vector<PidEventCount> CountsByPid(const Snapshot& snapshot);

// "KVM_EXIT_IO" for 2, "KVM_EXIT_<n>" for numbers this build does not know.
std::string UserspaceExitName(uint32_t reason);

}  // namespace exitprof::capture::bpf
