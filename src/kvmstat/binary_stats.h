// KVM binary statistics (KVM_GET_STATS_FD, Linux 5.14+): the header and descriptors of one VM or
// vCPU stats fd, parsed once, then every refresh is a single pread of the data block.
//
// The layout (include/uapi/linux/kvm.h) is pinned here, so parsing never depends on host headers:
//   header {u32 flags, name_size, num_desc, id_offset, desc_offset, data_offset}
//   descriptor {u32 flags; s16 exponent; u16 size; u32 offset; u32 bucket_size; char name[name_size]}
//   data: u64 values, descriptor i's `size` of them at data_offset + offset.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace exitprof::kvmstat {

enum class StatType : uint8_t { kCumulative, kInstant, kPeak, kLinearHist, kLogHist };
enum class StatUnit : uint8_t { kNone, kBytes, kSeconds, kCycles, kBoolean };

struct StatDescriptor {
  std::string name;
  StatType type = StatType::kCumulative;
  StatUnit unit = StatUnit::kNone;
  bool base2 = false;       // exponent is a power of 2 (bytes: pages = 2^12), else of 10
  int16_t exponent = 0;     // value * base^exponent is in `unit` (seconds: -9 = nanoseconds)
  uint16_t size = 1;        // number of u64 values (buckets for histograms)
  uint32_t offset = 0;      // byte offset of the first value in the data block
  uint32_t bucket_size = 0; // linear histograms: the width of one bucket
  bool histogram() const { return type == StatType::kLinearHist || type == StatType::kLogHist; }
};

// What the header and descriptors say; data_size covers every descriptor's values.
struct StatsLayout {
  std::string id;  // "kvm-PID" for a VM, "kvm-PID/vcpu-N" for a vCPU
  uint32_t data_offset = 0;
  uint32_t data_size = 0;
  std::vector<StatDescriptor> descriptors;
};

// Parses the bytes from offset 0 of a stats fd up to (at least) the end of its descriptors.
// `where` names the source in errors ("pid 123 fd 7: ...: expected X, found Y").
Result<StatsLayout> ParseStatsLayout(std::span<const uint8_t> bytes, const std::string& where);

// "ns", "bytes", "pages", "cycles", "" for plain counts: the unit one raw value is in.
std::string UnitLabel(const StatDescriptor& d);
const char* TypeName(StatType type);

class BinaryStats {
 public:
  // Reads and checks the layout of an open stats fd (owned from now on).
  static Result<BinaryStats> Open(UniqueFd fd, const std::string& where);

  // One pread of the data block; false with an error when the fd can no longer be read.
  Result<void> Refresh();

  const StatsLayout& layout() const { return layout_; }
  const std::vector<StatDescriptor>& descriptors() const { return layout_.descriptors; }
  // The values of descriptor i as of the last Refresh (size() of them).
  std::span<const uint64_t> Values(size_t i) const {
    const auto& d = layout_.descriptors[i];
    return {values_.data() + d.offset / 8, d.size};
  }
  // The whole data block as of the last Refresh, u64-indexed (descriptor offset / 8).
  std::span<const uint64_t> raw() const { return values_; }

 private:
  BinaryStats(UniqueFd fd, StatsLayout layout, std::string where);
  UniqueFd fd_;
  StatsLayout layout_;
  std::string where_;
  std::vector<uint64_t> values_;  // the data block, u64-indexed
};

}  // namespace exitprof::kvmstat
