// What port IO and MMIO accesses cost, paired as `perf kvm stat --event=ioport|mmio` pairs them
// (tools/perf/arch/x86/util/kvm-stat.c): a port access runs from kvm_pio to the thread's next
// kvm_entry; an MMIO write from kvm_mmio(write) to kvm_entry; an MMIO read from kvm_exit to
// kvm_mmio(read) (unsatisfied-read ignored). A thread counts only from its first kvm_entry.
// Keys are perf's: "0x3f8:POUT" / "0x3fd:PIN", "0xfed000f0:R" / "0xfebc3818:W".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "analysis/duration_stats.h"

namespace exitprof::analysis {

class AccessLatency {
 public:
  explicit AccessLatency(size_t max_stored_values = 1u << 20) : io_(max_stored_values), mmio_(max_stored_values) {}

  void OnExit(uint32_t tid, uint64_t time);
  void OnEntry(uint32_t tid, uint64_t time);
  void OnPio(uint32_t tid, uint64_t time, uint16_t port, bool write);
  // kvm_mmio type: 0 unsatisfied-read, 1 read, 2 write.
  void OnMmio(uint32_t tid, uint64_t time, uint64_t gpa, uint32_t type);

  struct Row {
    std::string key;  // perf's key text
    LatencySummary summary;
  };
  std::vector<Row> IoRows() const { return Rows(io_, io_keys_); }
  std::vector<Row> MmioRows() const { return Rows(mmio_, mmio_keys_); }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct ThreadState {
    uint64_t io_start = 0, mmio_start = 0;  // 0: no access open, as perf's start_time
    uint32_t io_key = kNone, mmio_key = kNone;
  };
  uint32_t KeyId(std::map<std::string, uint32_t>& keys, std::string text);
  static std::vector<Row> Rows(const DurationStats& stats, const std::map<std::string, uint32_t>& keys);
  ThreadState* Tracked(uint32_t tid);

  DurationStats io_, mmio_;
  std::map<std::string, uint32_t> io_keys_, mmio_keys_;
  std::unordered_map<uint32_t, ThreadState> threads_;
  std::unordered_map<uint64_t, uint32_t> io_ids_, mmio_ids_;  // packed key -> id
};

}  // namespace exitprof::analysis
