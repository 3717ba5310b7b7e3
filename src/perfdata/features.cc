#include <algorithm>
#include <iterator>
#include <span>

#include "base/byte_reader.h"
#include "perfdata/abi.h"
#include "perfdata/features.h"

namespace exitprof::perfdata {

namespace {

// perf's do_write_string: u32 length (including NUL and padding), then the bytes.
std::string ReadPerfString(ByteReader& r) {
  uint32_t len = r.Read<uint32_t>();
  if (len > r.remaining()) {
    r.Skip(r.remaining() + 1);  // marks the reader failed
    return {};
  }
  return r.ReadFixedString(len);
}

// The names perf's header code gives the features we read (perf report --header-only).
std::string FeatureName(uint32_t feature) {
  static const char* const kNames[] = {"", "TRACING_DATA", "BUILD_ID", "HOSTNAME", "OSRELEASE", "VERSION", "ARCH",
                                       "NRCPUS", "CPUDESC", "CPUID", "TOTAL_MEM", "CMDLINE", "EVENT_DESC"};
  return feature < std::size(kNames) && *kNames[feature] ? std::string(" (") + kNames[feature] + ")" : "";
}

Result<void> Truncated(const std::string& where, uint32_t feature) {
  return Fail(where + ": feature section " + std::to_string(feature) + FeatureName(feature) +
              " is shorter than its contents claim");
}

}  // namespace

namespace {

Result<void> ParseFeatureBody(uint32_t feature, std::span<const uint8_t> bytes, recording::SessionInfo& info,
                              const std::string& where) {
  ByteReader r(bytes);
  switch (feature) {
    case kFeatTracingData:
      info.tracing_data.assign(bytes.begin(), bytes.end());
      return {};
    case kFeatHostname: info.hostname = ReadPerfString(r); break;
    case kFeatOsRelease: info.os_release = ReadPerfString(r); break;
    case kFeatVersion: info.perf_version = ReadPerfString(r); break;
    case kFeatArch: info.arch = ReadPerfString(r); break;
    case kFeatCpuDesc: info.cpu_desc = ReadPerfString(r); break;
    case kFeatCpuId: info.cpu_id = ReadPerfString(r); break;
    case kFeatNrCpus:
      info.nr_cpus_available = r.Read<uint32_t>();
      info.nr_cpus_online = r.Read<uint32_t>();
      break;
    case kFeatTotalMem: info.total_mem_kb = r.Read<uint64_t>(); break;
    case kFeatCmdline: {
      uint32_t n = r.Read<uint32_t>();
      if (n > r.remaining() / 4) return Truncated(where, feature);
      info.cmdline.clear();
      for (uint32_t i = 0; i < n && r.ok(); ++i) info.cmdline.push_back(ReadPerfString(r));
      break;
    }
    case kFeatEventDesc: {
      uint32_t n = r.Read<uint32_t>();
      uint32_t attr_size = r.Read<uint32_t>();
      if (!r.ok()) return Truncated(where, feature);
      if (attr_size < kAttrSizeVer0 || attr_size > 4096 || n > r.remaining() / attr_size)
        return Truncated(where, feature);
      for (uint32_t i = 0; i < n && r.ok(); ++i) {
        auto attr_bytes = r.ReadBytes(attr_size);
        uint32_t nr_ids = r.Read<uint32_t>();
        std::string name = ReadPerfString(r);
        if (nr_ids > r.remaining() / 8) return Truncated(where, feature);
        std::vector<uint64_t> ids(nr_ids);
        for (auto& id : ids) id = r.Read<uint64_t>();
        if (!r.ok()) break;
        // Match by ids when present, by position otherwise.
        bool matched = false;
        for (auto& attr : info.attrs) {
          if (!ids.empty() && std::find(attr.ids.begin(), attr.ids.end(), ids[0]) != attr.ids.end()) {
            attr.name = name;
            matched = true;
          }
        }
        if (!matched && i < info.attrs.size() && info.attrs[i].name.empty()) info.attrs[i].name = name;
        (void)attr_bytes;
      }
      break;
    }
    case kFeatSampleTime:
      // Only script --header and --reltime --time use it: a short one is left out, not fatal.
      if (bytes.size() < 16) return {};
      info.first_sample_time = r.Read<uint64_t>();
      info.last_sample_time = r.Read<uint64_t>();
      break;
    case kFeatCompressed:
      r.Read<uint32_t>();  // version
      info.compression_type = r.Read<uint32_t>();
      info.compression_level = r.Read<uint32_t>();
      r.Read<uint32_t>();  // ratio
      info.compression_mmap_len = r.Read<uint32_t>();
      break;
    default:
      return {};
  }
  if (!r.ok()) return Truncated(where, feature);
  return {};
}

}  // namespace

Result<void> ParseFeature(uint32_t feature, std::span<const uint8_t> bytes, recording::SessionInfo& info,
                          const std::string& where) {
  auto ok = ParseFeatureBody(feature, bytes, info, where);
  if (ok) {
    info.features.push_back(feature);
    return {};
  }
  // Features describe the recording; the samples do not depend on them. perf reads on
  // without a damaged one, and so do we, saying which.
  info.warnings.push_back(ok.error().message + ": skipped (the samples are read without it, as perf reads them)");
  return {};
}

}  // namespace exitprof::perfdata
