#include "perfdata/writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "perfdata/abi.h"

namespace exitprof::perfdata {

namespace {

constexpr size_t kFlushAt = 1u << 20;

template <typename T>
void Put(std::vector<uint8_t>& out, T value) {
  const auto* p = reinterpret_cast<const uint8_t*>(&value);
  out.insert(out.end(), p, p + sizeof(T));
}

void PutHeader(std::vector<uint8_t>& out, uint32_t type, uint16_t misc, uint16_t size) {
  Put<uint32_t>(out, type);
  Put<uint16_t>(out, misc);
  Put<uint16_t>(out, size);
}

void SetRecordSize(std::vector<uint8_t>& rec) {
  uint16_t size = static_cast<uint16_t>(rec.size());
  std::memcpy(rec.data() + 6, &size, 2);
}

// perf's string encoding: u32 length rounded up to 64 (NUL included), then the padded bytes.
void PutPerfString(std::vector<uint8_t>& out, const std::string& s) {
  uint32_t len = static_cast<uint32_t>((s.size() + 1 + 63) / 64 * 64);
  Put<uint32_t>(out, len);
  size_t start = out.size();
  out.resize(start + len, 0);
  std::memcpy(out.data() + start, s.data(), s.size());
}

// A NUL-terminated name padded to a multiple of 8 bytes, as the kernel lays out COMM and MMAP.
void PutPaddedName(std::vector<uint8_t>& out, const std::string& s) {
  size_t start = out.size();
  out.resize(start + (s.size() + 1 + 7) / 8 * 8, 0);
  std::memcpy(out.data() + start, s.data(), s.size());
}

Result<void> WriteAll(int fd, const uint8_t* data, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Fail(path + ": write failed: " + std::strerror(errno), 1);
    data += w;
    n -= static_cast<size_t>(w);
  }
  return {};
}

}  // namespace

std::vector<uint32_t> FeaturesToWrite(const recording::SessionInfo& info) {
  std::vector<uint32_t> out;
  if (!info.tracing_data.empty()) out.push_back(kFeatTracingData);
  if (!info.hostname.empty()) out.push_back(kFeatHostname);
  if (!info.os_release.empty()) out.push_back(kFeatOsRelease);
  if (!info.perf_version.empty()) out.push_back(kFeatVersion);
  if (!info.arch.empty()) out.push_back(kFeatArch);
  if (info.nr_cpus_available) out.push_back(kFeatNrCpus);
  if (!info.cpu_desc.empty()) out.push_back(kFeatCpuDesc);
  if (!info.cpu_id.empty()) out.push_back(kFeatCpuId);
  if (info.total_mem_kb) out.push_back(kFeatTotalMem);
  if (!info.cmdline.empty()) out.push_back(kFeatCmdline);
  out.push_back(kFeatEventDesc);
  return out;
}

std::vector<uint8_t> EncodeFeature(uint32_t feature, const recording::SessionInfo& info) {
  std::vector<uint8_t> out;
  switch (feature) {
    case kFeatTracingData: out = info.tracing_data; break;
    case kFeatHostname: PutPerfString(out, info.hostname); break;
    case kFeatOsRelease: PutPerfString(out, info.os_release); break;
    case kFeatVersion: PutPerfString(out, info.perf_version); break;
    case kFeatArch: PutPerfString(out, info.arch); break;
    case kFeatCpuDesc: PutPerfString(out, info.cpu_desc); break;
    case kFeatCpuId: PutPerfString(out, info.cpu_id); break;
    case kFeatNrCpus:
      Put<uint32_t>(out, info.nr_cpus_available);
      Put<uint32_t>(out, info.nr_cpus_online);
      break;
    case kFeatTotalMem: Put<uint64_t>(out, info.total_mem_kb); break;
    case kFeatCmdline:
      Put<uint32_t>(out, static_cast<uint32_t>(info.cmdline.size()));
      for (const auto& arg : info.cmdline) PutPerfString(out, arg);
      break;
    case kFeatEventDesc:
      Put<uint32_t>(out, static_cast<uint32_t>(info.attrs.size()));
      Put<uint32_t>(out, kAttrSizeWrite);
      for (const auto& attr : info.attrs) {
        auto bytes = EncodeEventAttr(attr);
        out.insert(out.end(), bytes.begin(), bytes.end());
        Put<uint32_t>(out, static_cast<uint32_t>(attr.ids.size()));
        PutPerfString(out, attr.name);
        for (uint64_t id : attr.ids) Put<uint64_t>(out, id);
      }
      break;
    default: break;
  }
  return out;
}

Result<Writer> Writer::Create(const std::string& path, const recording::SessionInfo& header, bool pipe_mode) {
  Writer w;
  w.owned_ = UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!w.owned_.valid()) return Fail(path + ": cannot create: " + std::strerror(errno), 1);
  w.fd_ = w.owned_.get();
  w.path_ = path;
  w.pipe_ = pipe_mode;
  w.header_ = header;
  auto ok = pipe_mode ? w.WritePipePreamble() : w.WriteHeaderPlaceholder();
  if (!ok) return tl::unexpected(ok.error());
  return w;
}

Result<Writer> Writer::CreateOnFd(int fd, const recording::SessionInfo& header) {
  Writer w;
  w.fd_ = fd;
  w.path_ = "<stdout>";
  w.pipe_ = true;
  w.header_ = header;
  if (auto ok = w.WritePipePreamble(); !ok) return tl::unexpected(ok.error());
  return w;
}

Result<void> Writer::Append(std::span<const uint8_t> bytes) {
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  offset_ += bytes.size();
  if (buffer_.size() >= kFlushAt) return Flush();
  return {};
}

Result<void> Writer::Flush() {
  auto ok = WriteAll(fd_, buffer_.data(), buffer_.size(), path_);
  buffer_.clear();
  return ok;
}

Result<void> Writer::WriteHeaderPlaceholder() {
  std::vector<uint8_t> head(kFileHeaderSize, 0);
  if (auto ok = Append(head); !ok) return ok;
  // Each attr's ids, then the attrs section (attr + {ids offset, ids size}).
  std::vector<uint64_t> id_offsets;
  for (const auto& attr : header_.attrs) {
    id_offsets.push_back(offset_);
    std::vector<uint8_t> ids;
    for (uint64_t id : attr.ids) Put<uint64_t>(ids, id);
    if (auto ok = Append(ids); !ok) return ok;
  }
  attrs_offset_ = offset_;
  for (size_t i = 0; i < header_.attrs.size(); ++i) {
    auto bytes = EncodeEventAttr(header_.attrs[i]);
    Put<uint64_t>(bytes, id_offsets[i]);
    Put<uint64_t>(bytes, header_.attrs[i].ids.size() * 8);
    if (auto ok = Append(bytes); !ok) return ok;
  }
  data_offset_ = offset_;
  return {};
}

Result<void> Writer::WritePipePreamble() {
  std::vector<uint8_t> out;
  Put<uint64_t>(out, kMagic);
  Put<uint64_t>(out, kPipeHeaderSize);
  for (uint32_t feature : FeaturesToWrite(header_)) {
    if (feature == kFeatTracingData || feature == kFeatEventDesc) continue;
    std::vector<uint8_t> rec;
    PutHeader(rec, kRecordHeaderFeature, 0, 0);
    Put<uint64_t>(rec, feature);
    auto body = EncodeFeature(feature, header_);
    rec.insert(rec.end(), body.begin(), body.end());
    SetRecordSize(rec);
    out.insert(out.end(), rec.begin(), rec.end());
  }
  for (const auto& attr : header_.attrs) {
    std::vector<uint8_t> rec;
    PutHeader(rec, kRecordHeaderAttr, 0, 0);
    auto bytes = EncodeEventAttr(attr);
    rec.insert(rec.end(), bytes.begin(), bytes.end());
    for (uint64_t id : attr.ids) Put<uint64_t>(rec, id);
    SetRecordSize(rec);
    out.insert(out.end(), rec.begin(), rec.end());
  }
  if (!header_.tracing_data.empty()) {
    uint32_t size = static_cast<uint32_t>(header_.tracing_data.size());
    uint32_t aligned = (size + 7) / 8 * 8;
    PutHeader(out, kRecordHeaderTracingData, 0, 12);
    Put<uint32_t>(out, aligned);
    out.insert(out.end(), header_.tracing_data.begin(), header_.tracing_data.end());
    out.resize(out.size() + (aligned - size), 0);
  }
  std::vector<uint8_t> init;
  PutHeader(init, kRecordFinishedInit, 0, 8);
  out.insert(out.end(), init.begin(), init.end());
  return Append(out);
}

void Writer::AppendSampleId(std::vector<uint8_t>& rec, uint32_t pid, uint32_t tid, uint64_t time,
                            uint32_t cpu) const {
  if (header_.attrs.empty() || !header_.attrs[0].sample_id_all()) return;
  const EventAttr& attr = header_.attrs[0];
  uint64_t st = attr.sample_type;
  uint64_t id = attr.ids.empty() ? 0 : attr.ids[0];
  if (st & kSampleTid) {
    Put<uint32_t>(rec, pid);
    Put<uint32_t>(rec, tid);
  }
  if (st & kSampleTime) Put<uint64_t>(rec, time);
  if (st & kSampleId) Put<uint64_t>(rec, id);
  if (st & kSampleStreamId) Put<uint64_t>(rec, id);
  if (st & kSampleCpu) {
    Put<uint32_t>(rec, cpu);
    Put<uint32_t>(rec, 0);
  }
  if (st & kSampleIdentifier) Put<uint64_t>(rec, id);
}

Result<void> Writer::WriteSample(size_t attr_index, const SampleFields& s) {
  if (attr_index >= header_.attrs.size()) return Fail("writer: no attr " + std::to_string(attr_index), 1);
  const EventAttr& attr = header_.attrs[attr_index];
  const uint64_t st = attr.sample_type;
  const uint64_t id = attr.ids.empty() ? 0 : attr.ids[0];
  std::vector<uint8_t> rec;
  rec.reserve(64 + s.raw.size() + s.callchain.size() * 8);
  PutHeader(rec, kRecordSample, 0, 0);
  if (st & kSampleIdentifier) Put<uint64_t>(rec, id);
  if (st & kSampleIp) Put<uint64_t>(rec, s.ip);
  if (st & kSampleTid) {
    Put<uint32_t>(rec, s.pid);
    Put<uint32_t>(rec, s.tid);
  }
  if (st & kSampleTime) Put<uint64_t>(rec, s.time);
  if (st & kSampleAddr) Put<uint64_t>(rec, 0);
  if (st & kSampleId) Put<uint64_t>(rec, id);
  if (st & kSampleStreamId) Put<uint64_t>(rec, id);
  if (st & kSampleCpu) {
    Put<uint32_t>(rec, s.cpu);
    Put<uint32_t>(rec, 0);
  }
  if (st & kSamplePeriod) Put<uint64_t>(rec, s.period);
  if (st & kSampleCallchain) {
    Put<uint64_t>(rec, s.callchain.size());
    for (uint64_t ip : s.callchain) Put<uint64_t>(rec, ip);
  }
  if (st & kSampleRaw) {
    // As the kernel does: pad the payload so that the u32 size plus the data is 8-aligned.
    uint32_t padded = static_cast<uint32_t>((s.raw.size() + 4 + 7) / 8 * 8 - 4);
    Put<uint32_t>(rec, padded);
    rec.insert(rec.end(), s.raw.begin(), s.raw.end());
    rec.resize(rec.size() + (padded - s.raw.size()), 0);
  }
  if (rec.size() > 0xffff) return Fail("writer: sample of " + std::to_string(rec.size()) + " bytes exceeds 64 KiB", 1);
  SetRecordSize(rec);
  return Append(rec);
}

Result<void> Writer::WriteComm(uint32_t pid, uint32_t tid, const std::string& comm, uint64_t time,
                               bool exec, std::optional<Reporter> reporter) {
  std::vector<uint8_t> rec;
  PutHeader(rec, kRecordComm, exec ? kMiscCommExec : 0, 0);
  Put<uint32_t>(rec, pid);
  Put<uint32_t>(rec, tid);
  PutPaddedName(rec, comm.substr(0, 15));
  const Reporter by = reporter.value_or(Reporter{pid, tid});
  AppendSampleId(rec, by.pid, by.tid, time, 0);
  SetRecordSize(rec);
  return Append(rec);
}

Result<void> Writer::WriteFork(uint32_t pid, uint32_t ppid, uint32_t tid, uint32_t ptid, uint64_t time,
                               std::optional<Reporter> reporter) {
  std::vector<uint8_t> rec;
  PutHeader(rec, kRecordFork, 0, 0);
  Put<uint32_t>(rec, pid);
  Put<uint32_t>(rec, ppid);
  Put<uint32_t>(rec, tid);
  Put<uint32_t>(rec, ptid);
  Put<uint64_t>(rec, time);
  const Reporter by = reporter.value_or(Reporter{pid, tid});
  AppendSampleId(rec, by.pid, by.tid, time, 0);
  SetRecordSize(rec);
  return Append(rec);
}

Result<void> Writer::WriteLost(uint64_t id, uint64_t lost, uint64_t time) {
  std::vector<uint8_t> rec;
  PutHeader(rec, kRecordLost, 0, 0);
  Put<uint64_t>(rec, id);
  Put<uint64_t>(rec, lost);
  AppendSampleId(rec, 0, 0, time, 0);
  SetRecordSize(rec);
  return Append(rec);
}

Result<void> Writer::WriteMmap(uint32_t pid, uint32_t tid, uint64_t start, uint64_t len, uint64_t pgoff,
                               const std::string& filename, uint16_t misc, uint64_t time) {
  std::vector<uint8_t> rec;
  PutHeader(rec, kRecordMmap, misc, 0);
  Put<uint32_t>(rec, pid);
  Put<uint32_t>(rec, tid);
  Put<uint64_t>(rec, start);
  Put<uint64_t>(rec, len);
  Put<uint64_t>(rec, pgoff);
  PutPaddedName(rec, filename);
  AppendSampleId(rec, pid, tid, time, 0);
  SetRecordSize(rec);
  return Append(rec);
}

Result<void> Writer::WriteFinishedRound() {
  std::vector<uint8_t> rec;
  PutHeader(rec, kRecordFinishedRound, 0, 8);
  return Append(rec);
}

Result<void> Writer::WriteRaw(std::span<const uint8_t> record) { return Append(record); }

Result<void> Writer::Finish() {
  if (finished_) return {};
  finished_ = true;
  if (pipe_) return Flush();
  const uint64_t data_size = offset_ - data_offset_;
  auto features = FeaturesToWrite(header_);
  std::vector<std::vector<uint8_t>> bodies;
  for (uint32_t f : features) bodies.push_back(EncodeFeature(f, header_));
  uint64_t content = offset_ + features.size() * 16;
  std::vector<uint8_t> table;
  for (const auto& body : bodies) {
    Put<uint64_t>(table, content);
    Put<uint64_t>(table, body.size());
    content += body.size();
  }
  if (auto ok = Append(table); !ok) return ok;
  for (const auto& body : bodies) {
    if (auto ok = Append(body); !ok) return ok;
  }
  if (auto ok = Flush(); !ok) return ok;

  std::vector<uint8_t> head;
  Put<uint64_t>(head, kMagic);
  Put<uint64_t>(head, kFileHeaderSize);
  Put<uint64_t>(head, kAttrSizeWrite + 16);
  Put<uint64_t>(head, attrs_offset_);
  Put<uint64_t>(head, header_.attrs.size() * (kAttrSizeWrite + 16));
  Put<uint64_t>(head, data_offset_);
  Put<uint64_t>(head, data_size);
  Put<uint64_t>(head, 0);
  Put<uint64_t>(head, 0);
  uint64_t bits[4] = {};
  for (uint32_t f : features) bits[f / 64] |= 1ULL << (f % 64);
  for (uint64_t b : bits) Put<uint64_t>(head, b);
  if (::pwrite(fd_, head.data(), head.size(), 0) != static_cast<ssize_t>(head.size())) {
    return Fail(path_ + ": cannot write the header: " + std::strerror(errno), 1);
  }
  return {};
}

}  // namespace exitprof::perfdata
