#include "kvmstat/binary_stats.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/byte_reader.h"

namespace exitprof::kvmstat {
namespace {

constexpr size_t kHeaderSize = 24;
constexpr size_t kDescriptorFixedSize = 16;
// Far above any kernel's (a few hundred descriptors, names under 64 bytes); stops hostile sizes.
constexpr uint32_t kMaxDescriptors = 4096;
constexpr uint32_t kMaxNameSize = 4096;
constexpr uint32_t kMaxDataSize = 16 << 20;

std::string Text(std::span<const uint8_t> bytes) {
  std::string_view view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return std::string(view.substr(0, view.find('\0')));
}

}  // namespace

Result<StatsLayout> ParseStatsLayout(std::span<const uint8_t> bytes, const std::string& where) {
  ByteReader header(bytes);
  if (bytes.size() < kHeaderSize) {
    return Fail(fmt::format("{}: KVM stats header: expected {} bytes, found {}", where, kHeaderSize, bytes.size()));
  }
  header.Read<uint32_t>();  // flags: none defined yet
  const uint32_t name_size = header.Read<uint32_t>();
  const uint32_t num_desc = header.Read<uint32_t>();
  const uint32_t id_offset = header.Read<uint32_t>();
  const uint32_t desc_offset = header.Read<uint32_t>();
  const uint32_t data_offset = header.Read<uint32_t>();
  if (name_size == 0 || name_size > kMaxNameSize) {
    return Fail(fmt::format("{}: KVM stats header: name_size {}, expected 1..{}", where, name_size, kMaxNameSize));
  }
  if (num_desc > kMaxDescriptors) {
    return Fail(fmt::format("{}: KVM stats header: {} descriptors, expected at most {}", where, num_desc, kMaxDescriptors));
  }
  const uint64_t desc_size = kDescriptorFixedSize + name_size;
  const uint64_t desc_end = desc_offset + desc_size * num_desc;
  if (uint64_t{id_offset} + name_size > bytes.size() || desc_end > bytes.size()) {
    return Fail(fmt::format("{}: KVM stats header: id at {} and descriptors up to {}, expected within {} bytes",
                            where, id_offset, desc_end, bytes.size()));
  }
  StatsLayout layout;
  layout.id = Text(bytes.subspan(id_offset, name_size));
  layout.data_offset = data_offset;
  layout.descriptors.reserve(num_desc);
  for (uint32_t i = 0; i < num_desc; ++i) {
    const size_t at = desc_offset + desc_size * i;
    ByteReader r(bytes.subspan(at, desc_size));
    const uint32_t flags = r.Read<uint32_t>();
    StatDescriptor d;
    d.exponent = r.Read<int16_t>();
    d.size = r.Read<uint16_t>();
    d.offset = r.Read<uint32_t>();
    d.bucket_size = r.Read<uint32_t>();
    d.name = Text(r.ReadBytes(name_size));
    const uint32_t type = flags & 0xf, unit = (flags >> 4) & 0xf, base = (flags >> 8) & 0xf;
    auto bad = [&](const std::string& what) {
      return Fail(fmt::format("{}: KVM stats descriptor {} ('{}') at offset {}: {}", where, i, d.name, at, what));
    };
    if (type > 4) return bad(fmt::format("type {}, expected 0..4", type));
    if (unit > 4) return bad(fmt::format("unit {}, expected 0..4", unit));
    if (base > 1) return bad(fmt::format("base {}, expected 0 (10) or 1 (2)", base));
    if (d.size == 0 || d.offset % 8 != 0) {
      return bad(fmt::format("size {} offset {}, expected size >= 1 and an 8-byte aligned offset", d.size, d.offset));
    }
    d.type = static_cast<StatType>(type);
    d.unit = static_cast<StatUnit>(unit);
    d.base2 = base == 1;
    if (!d.histogram() && d.size != 1) return bad(fmt::format("a {} value of size {}, expected 1", TypeName(d.type), d.size));
    const uint64_t end = uint64_t{d.offset} + uint64_t{d.size} * 8;
    if (end > kMaxDataSize) return bad(fmt::format("values end at {}, expected under {}", end, kMaxDataSize));
    layout.data_size = std::max<uint32_t>(layout.data_size, static_cast<uint32_t>(end));
    layout.descriptors.push_back(std::move(d));
  }
  return layout;
}

const char* TypeName(StatType type) {
  switch (type) {
    case StatType::kCumulative: return "cumulative";
    case StatType::kInstant: return "instant";
    case StatType::kPeak: return "peak";
    case StatType::kLinearHist: return "linear-hist";
    case StatType::kLogHist: return "log-hist";
  }
  return "?";
}

std::string UnitLabel(const StatDescriptor& d) {
  switch (d.unit) {
    case StatUnit::kNone: return "";
    case StatUnit::kBoolean: return "boolean";
    case StatUnit::kCycles: return "cycles";
    case StatUnit::kSeconds:
      if (d.base2) return fmt::format("2^{} s", d.exponent);
      switch (d.exponent) {
        case 0: return "s";
        case -3: return "ms";
        case -6: return "us";
        case -9: return "ns";
        default: return fmt::format("1e{} s", d.exponent);
      }
    case StatUnit::kBytes:
      if (d.base2 && d.exponent == 12) return "pages";
      if (d.exponent == 0) return "bytes";
      return d.base2 ? fmt::format("2^{} bytes", d.exponent) : fmt::format("1e{} bytes", d.exponent);
  }
  return "";
}

BinaryStats::BinaryStats(UniqueFd fd, StatsLayout layout, std::string where)
    : fd_(std::move(fd)), layout_(std::move(layout)), where_(std::move(where)), values_((layout_.data_size + 7) / 8, 0) {}

Result<BinaryStats> BinaryStats::Open(UniqueFd fd, const std::string& where) {
  // The header and descriptors come first; read until the header's data_offset is covered.
  std::vector<uint8_t> bytes(4096);
  size_t have = 0;
  while (true) {
    ssize_t n = ::pread(fd.get(), bytes.data() + have, bytes.size() - have, static_cast<off_t>(have));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(fmt::format("{}: cannot read the KVM stats fd: {}", where, std::strerror(errno)), 1);
    }
    have += static_cast<size_t>(n);
    if (n == 0 || have < bytes.size()) break;
    if (bytes.size() >= (64u << 20)) break;
    bytes.resize(bytes.size() * 2);
  }
  bytes.resize(have);
  auto layout = ParseStatsLayout(bytes, where);
  if (!layout) return tl::unexpected(layout.error());
  BinaryStats stats(std::move(fd), std::move(*layout), where);
  if (auto r = stats.Refresh(); !r) return tl::unexpected(r.error());
  return stats;
}

Result<void> BinaryStats::Refresh() {
  const size_t want = layout_.data_size;
  ssize_t n;
  do {
    n = ::pread(fd_.get(), values_.data(), want, layout_.data_offset);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Fail(fmt::format("{}: cannot read KVM stats: {}", where_, std::strerror(errno)), 1);
  if (static_cast<size_t>(n) != want) {
    return Fail(fmt::format("{}: KVM stats data: expected {} bytes, read {}", where_, want, n), 1);
  }
  return {};
}

}  // namespace exitprof::kvmstat
