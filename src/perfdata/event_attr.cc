#include "perfdata/event_attr.h"

#include <algorithm>
#include <cstring>

#include "base/byte_reader.h"
#include "perfdata/abi.h"

namespace exitprof::perfdata {

namespace {
// Byte offsets inside perf_event_attr (stable across versions; newer fields only append).
constexpr size_t kOffType = 0, kOffSize = 4, kOffConfig = 8, kOffPeriod = 16,
                 kOffSampleType = 24, kOffReadFormat = 32, kOffFlags = 40,
                 kOffBranchSampleType = 72, kOffRegsUser = 80, kOffStackUser = 88, kOffRegsIntr = 96;
}  // namespace

bool EventAttr::sample_id_all() const { return (flags & kAttrFlagSampleIdAll) != 0; }

Result<EventAttr> ParseEventAttr(std::span<const uint8_t> bytes, const std::string& where) {
  if (bytes.size() < kAttrSizeVer0) {
    return Fail(where + ": perf_event_attr of " + std::to_string(bytes.size()) +
                " bytes, expected at least " + std::to_string(kAttrSizeVer0));
  }
  uint8_t buf[kAttrSizeOurs] = {};
  std::memcpy(buf, bytes.data(), std::min<size_t>(bytes.size(), sizeof buf));
  EventAttr attr;
  attr.type = LoadLE<uint32_t>(buf + kOffType);
  attr.size = LoadLE<uint32_t>(buf + kOffSize);
  attr.config = LoadLE<uint64_t>(buf + kOffConfig);
  attr.sample_period = LoadLE<uint64_t>(buf + kOffPeriod);
  attr.sample_type = LoadLE<uint64_t>(buf + kOffSampleType);
  attr.read_format = LoadLE<uint64_t>(buf + kOffReadFormat);
  attr.flags = LoadLE<uint64_t>(buf + kOffFlags);
  attr.branch_sample_type = LoadLE<uint64_t>(buf + kOffBranchSampleType);
  attr.sample_regs_user = LoadLE<uint64_t>(buf + kOffRegsUser);
  attr.sample_stack_user = LoadLE<uint32_t>(buf + kOffStackUser);
  attr.sample_regs_intr = LoadLE<uint64_t>(buf + kOffRegsIntr);
  if (attr.sample_type & ~kSampleKnownMask) {
    return Fail(where + ": perf_event_attr sample_type " + HexOffset(attr.sample_type) +
                " has bits this reader does not know (newer perf?)");
  }
  return attr;
}

std::vector<uint8_t> EncodeEventAttr(const EventAttr& attr) {
  std::vector<uint8_t> out(kAttrSizeWrite, 0);
  auto put32 = [&](size_t off, uint32_t v) { std::memcpy(out.data() + off, &v, 4); };
  auto put64 = [&](size_t off, uint64_t v) { std::memcpy(out.data() + off, &v, 8); };
  put32(kOffType, attr.type);
  put32(kOffSize, kAttrSizeWrite);
  put64(kOffConfig, attr.config);
  put64(kOffPeriod, attr.sample_period);
  put64(kOffSampleType, attr.sample_type);
  put64(kOffReadFormat, attr.read_format);
  put64(kOffFlags, attr.flags);
  put64(kOffBranchSampleType, attr.branch_sample_type);
  put64(kOffRegsUser, attr.sample_regs_user);
  put32(kOffStackUser, attr.sample_stack_user);
  put64(kOffRegsIntr, attr.sample_regs_intr);
  return out;
}

}  // namespace exitprof::perfdata

namespace exitprof::perfdata {

std::string DefaultEventName(const EventAttr& attr) {
  static const char* const kHardware[] = {"cycles", "instructions", "cache-references", "cache-misses",
                                          "branch-instructions", "branch-misses", "bus-cycles",
                                          "stalled-cycles-frontend", "stalled-cycles-backend", "ref-cycles"};
  static const char* const kSoftware[] = {"cpu-clock", "task-clock", "page-faults", "context-switches",
                                          "cpu-migrations", "minor-faults", "major-faults",
                                          "alignment-faults", "emulation-faults", "dummy", "bpf-output"};
  if (attr.type == kTypeHardware && attr.config < std::size(kHardware)) return kHardware[attr.config];
  if (attr.type == kTypeSoftware && attr.config < std::size(kSoftware)) return kSoftware[attr.config];
  return "type" + std::to_string(attr.type) + "/config" + std::to_string(attr.config);
}

}  // namespace exitprof::perfdata
