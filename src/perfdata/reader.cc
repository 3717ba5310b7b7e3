#include "perfdata/reader.h"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "base/byte_reader.h"
#include "base/unique_fd.h"
#include "perfdata/abi.h"
#include "perfdata/features.h"
#include "perfdata/file_header.h"
#include "perfdata/ordered_queue.h"
#include "perfdata/parallel_scan.h"
#include "perfdata/record_delivery.h"
#include "perfdata/sample_parser.h"

namespace exitprof::perfdata {

namespace {
constexpr size_t kRecordHeader = 8;
constexpr uint64_t kReleaseEvery = 16u << 20;
constexpr uint64_t kProgressEvery = 64u << 20;
constexpr size_t kStreamBuffer = 1u << 20;

// TRACING_DATA (u32 size) and AUXTRACE (u64 size) records are followed by that many bytes.
uint64_t TrailingPayloadSize(std::span<const uint8_t> rec) {
  if (LoadLE<uint32_t>(rec.data()) == kRecordHeaderTracingData) return rec.size() >= 12 ? LoadLE<uint32_t>(rec.data() + 8) : 0;
  return rec.size() >= 16 ? LoadLE<uint64_t>(rec.data() + 8) : 0;
}
}  // namespace

class Reader::Impl {
 public:
  recording::SessionInfo info;
  std::optional<MappedFile> file;
  UniqueFd owned_fd;
  int fd = -1;
  FileFormat format = FileFormat::kFile;
  std::function<void(uint64_t, uint64_t)> progress;
  bool ordered = true;
  unsigned threads = 1;
  uint64_t chunk_bytes = 0;

  ~Impl() {
    if (zstd_) ZSTD_freeDCtx(zstd_);
  }

  Result<recording::ReadStats> Run(recording::EventSink& sink);

 private:
  Result<void> RunMapped(std::span<const uint8_t> data, uint64_t base_offset);
  Result<void> RunStream();
  Result<void> HandleRecord(std::span<const uint8_t> rec, int64_t chunk, uint64_t offset);
  Result<void> HandleUserRecord(std::span<const uint8_t> rec, uint64_t offset);
  Result<void> Decompress(std::span<const uint8_t> payload, uint64_t offset);
  Result<void> EnsureReady();
  void Deliver(const QueuedRecord& q);
  bool ReadInParallel();
  void Enqueue(const QueuedRecord& q);
  Result<void> AddAttr(std::span<const uint8_t> rec, uint64_t offset);
  void NameFromEventUpdate(std::span<const uint8_t> rec);
  std::string Where(uint64_t offset) const { return info.path + ": offset " + HexOffset(offset); }
  // Stream input helpers.
  Result<bool> StreamRead(uint8_t* dst, size_t n, uint64_t offset, const char* what);

  recording::EventSink* sink_ = nullptr;
  bool ready_ = false;
  SampleParser parser_;
  OrderedQueue queue_;
  ChunkArena arena_;
  recording::ReadStats stats_;
  ZSTD_DCtx* zstd_ = nullptr;
  std::vector<uint8_t> decompressed_;  // bytes of a record split across COMPRESSED records
  uint64_t decompressed_offset_ = 0;
  std::vector<uint8_t> stream_buf_;
  size_t stream_pos_ = 0, stream_len_ = 0;
  bool in_compressed_ = false;
  std::vector<bool> count_only_;  // by attr: samples the sink only counts
  std::optional<RecordDelivery> delivery_;
};

Result<recording::ReadStats> Reader::Impl::Run(recording::EventSink& sink) {
  sink_ = &sink;
  delivery_.emplace(parser_, sink, stats_, count_only_);
  auto deliver = [this](const QueuedRecord& q) { Deliver(q); };
  Result<void> ok;
  if (file) {
    auto bytes = file->bytes();
    if (format == FileFormat::kFile) {
      parser_.SetAttrs(info.attrs);
      if (info.data_size == 0) {
        return Fail(info.path + ": the header's data size is 0: the recording was not finished "
                    "(perf record interrupted?); no events to read");
      }
      if (auto r = EnsureReady(); !r) return tl::unexpected(r.error());
      if (!ReadInParallel()) ok = RunMapped(bytes.subspan(info.data_offset, info.data_size), info.data_offset);
    } else {
      ok = RunMapped(bytes.subspan(kPipeHeaderSize), kPipeHeaderSize);
    }
  } else {
    ok = RunStream();
  }
  if (!ok) return tl::unexpected(ok.error());
  queue_.FlushAll(deliver);
  if (!decompressed_.empty()) ++stats_.damaged_records;  // a record cut at the stream's end
  if (!ready_) {
    if (auto r = EnsureReady(); !r) return tl::unexpected(r.error());
  }
  stats_.out_of_order = queue_.unordered();
  return stats_;
}

Result<void> Reader::Impl::EnsureReady() {
  if (ready_) return {};
  ready_ = true;
  stats_.samples_by_attr.assign(info.attrs.size(), 0);
  parser_.SetAttrs(info.attrs);
  auto ready = sink_->OnSessionReady(info);
  count_only_ = sink_->CountOnlyAttrs();
  count_only_.resize(info.attrs.size(), false);
  return ready;
}

void Reader::Impl::Enqueue(const QueuedRecord& q) {
  queue_.Push(q);
  if (queue_.over_limit()) {
    queue_.PopCount(queue_.size() / 2, [this](const QueuedRecord& r) { Deliver(r); });
  }
}

Result<void> Reader::Impl::RunMapped(std::span<const uint8_t> data, uint64_t base) {
  size_t pos = 0;
  uint64_t next_release = kReleaseEvery, next_progress = kProgressEvery;
  while (pos < data.size()) {
    const uint64_t offset = base + pos;
    if (data.size() - pos < kRecordHeader) {
      return Fail(Where(offset) + ": " + std::to_string(data.size() - pos) +
                  " bytes left, too few for a record header (expected 8): truncated data section");
    }
    uint16_t size = LoadLE<uint16_t>(data.data() + pos + 6);
    uint32_t type = LoadLE<uint32_t>(data.data() + pos);
    if (size < kRecordHeader) {
      return Fail(Where(offset) + ": bad record header size " + std::to_string(size) +
                  " (type " + std::to_string(type) + "), expected at least 8");
    }
    if (size > data.size() - pos) {
      return Fail(Where(offset) + ": record of " + std::to_string(size) + " bytes (type " +
                  RecordTypeName(type) + ") runs past the end of the data (" +
                  std::to_string(data.size() - pos) + " bytes left): truncated file");
    }
    auto rec = data.subspan(pos, size);
    __builtin_prefetch(data.data() + pos + 2048);  // across page boundaries, which the hardware prefetcher does not cross
    pos += size;
    // Records that carry a payload after themselves.
    if (type == kRecordHeaderTracingData || type == kRecordAuxtrace) {
      uint64_t payload = TrailingPayloadSize(rec);
      if (payload > data.size() - pos) {
        return Fail(Where(offset) + ": " + RecordTypeName(type) + " payload of " +
                    std::to_string(payload) + " bytes runs past the end of the data");
      }
      if (type == kRecordHeaderTracingData) {
        info.tracing_data.assign(data.begin() + pos, data.begin() + pos + payload);
      }
      pos += payload;
      ++stats_.records;
      ++stats_.records_by_type[type];
      continue;
    }
    if (auto r = HandleRecord(rec, ChunkArena::kNoChunk, offset); !r) return r;
    if (pos >= next_release) {
      next_release = pos + kReleaseEvery;
      file->ReleaseBefore(std::min<uint64_t>(queue_.MinPendingFileOffset(), base + pos));
    }
    if (progress && pos >= next_progress) {
      next_progress = pos + kProgressEvery;
      progress(pos, data.size());
    }
  }
  if (progress) progress(data.size(), data.size());
  return {};
}

Result<bool> Reader::Impl::StreamRead(uint8_t* dst, size_t n, uint64_t offset, const char* what) {
  size_t done = 0;
  while (done < n) {
    if (stream_pos_ == stream_len_) {
      if (stream_buf_.empty()) stream_buf_.resize(kStreamBuffer);
      ssize_t got;
      do {
        got = ::read(fd, stream_buf_.data(), stream_buf_.size());
      } while (got < 0 && errno == EINTR);
      if (got < 0) return Fail(info.path + ": read failed: " + std::strerror(errno), 1);
      if (got == 0) {
        if (done == 0) return false;
        return Fail(Where(offset) + ": input ends inside a " + what + " (" + std::to_string(done) +
                    " of " + std::to_string(n) + " bytes): truncated");
      }
      stream_pos_ = 0;
      stream_len_ = static_cast<size_t>(got);
    }
    size_t take = std::min(n - done, stream_len_ - stream_pos_);
    if (dst) std::memcpy(dst + done, stream_buf_.data() + stream_pos_, take);
    stream_pos_ += take;
    done += take;
  }
  return true;
}

Result<void> Reader::Impl::RunStream() {
  uint64_t offset = kPipeHeaderSize;
  for (;;) {
    uint8_t header[kRecordHeader];
    auto got = StreamRead(header, kRecordHeader, offset, "record header");
    if (!got) return tl::unexpected(got.error());
    if (!*got) return {};
    uint32_t type = LoadLE<uint32_t>(header);
    uint16_t size = LoadLE<uint16_t>(header + 6);
    if (size < kRecordHeader) {
      return Fail(Where(offset) + ": bad record header size " + std::to_string(size) +
                  " (type " + std::to_string(type) + "), expected at least 8");
    }
    int64_t chunk;
    uint8_t* dst = arena_.Allocate(size, chunk);
    std::memcpy(dst, header, kRecordHeader);
    got = StreamRead(dst + kRecordHeader, size - kRecordHeader, offset, "record");
    if (!got) return tl::unexpected(got.error());
    if (!*got && size > kRecordHeader) {
      return Fail(Where(offset) + ": input ends inside a record of " + std::to_string(size) + " bytes");
    }
    std::span<const uint8_t> rec(dst, size);
    uint64_t record_offset = offset;
    offset += size;
    if (type == kRecordHeaderTracingData || type == kRecordAuxtrace) {
      uint64_t payload = TrailingPayloadSize(rec);
      if (payload > (1ULL << 32)) return Fail(Where(record_offset) + ": implausible payload size");
      if (type == kRecordHeaderTracingData) {
        // Grow with what arrives: a damaged size must not allocate gigabytes up front.
        info.tracing_data.clear();
        for (uint64_t done = 0; done < payload;) {
          const size_t n = static_cast<size_t>(std::min<uint64_t>(payload - done, kStreamBuffer));
          info.tracing_data.resize(done + n);
          got = StreamRead(info.tracing_data.data() + done, n, offset + done, "record payload");
          if (!got) return tl::unexpected(got.error());
          if (!*got) return Fail(Where(offset) + ": input ends before a record's payload");
          done += n;
        }
      } else {
        got = StreamRead(nullptr, payload, offset, "record payload");
        if (!got) return tl::unexpected(got.error());
        if (!*got && payload) return Fail(Where(offset) + ": input ends before a record's payload");
      }
      offset += payload;
      ++stats_.records;
      ++stats_.records_by_type[type];
      continue;
    }
    arena_.AddRef(chunk);
    if (auto r = HandleRecord(rec, chunk, record_offset); !r) return r;
  }
}

Result<void> Reader::Impl::HandleRecord(std::span<const uint8_t> rec, int64_t chunk, uint64_t offset) {
  uint32_t type = LoadLE<uint32_t>(rec.data());
  ++stats_.records;
  ++stats_.records_by_type[std::min<uint32_t>(type, 127)];
  if (type >= kRecordHeaderAttr || type == 0) {
    auto r = HandleUserRecord(rec, offset);
    if (chunk >= 0) arena_.Release(chunk);
    return r;
  }
  if (!ready_) {
    if (auto r = EnsureReady(); !r) return r;
  }
  QueuedRecord q{0, 0, rec.data(), static_cast<uint32_t>(rec.size()), chunk, offset};
  uint64_t time;
  if (ordered && parser_.Time(rec, time)) {
    q.time = time;
    Enqueue(q);
  } else {
    Deliver(q);
  }
  return {};
}

Result<void> Reader::Impl::HandleUserRecord(std::span<const uint8_t> rec, uint64_t offset) {
  uint32_t type = LoadLE<uint32_t>(rec.data());
  switch (type) {
    case kRecordFinishedRound:
      queue_.FinishRound([this](const QueuedRecord& r) { Deliver(r); });
      return {};
    case kRecordHeaderAttr:
      return AddAttr(rec, offset);
    case kRecordHeaderFeature: {
      if (rec.size() < 16) return Fail(Where(offset) + ": FEATURE record shorter than 16 bytes");
      uint64_t feature = LoadLE<uint64_t>(rec.data() + 8);
      if (feature >= kFeatBits) return {};
      return ParseFeature(static_cast<uint32_t>(feature), rec.subspan(16), info, Where(offset));
    }
    case kRecordEventUpdate:
      NameFromEventUpdate(rec);
      return {};
    case kRecordHeaderEventType: {
      // Old pipe mode: {u64 event id (the attr's config), char name[]}.
      if (rec.size() < 17) return {};
      uint64_t config = LoadLE<uint64_t>(rec.data() + 8);
      ByteReader r(rec.subspan(16));
      std::string name = r.ReadFixedString(r.remaining());
      for (auto& attr : info.attrs) {
        if (attr.config == config && attr.name.empty()) attr.name = name;
      }
      return {};
    }
    case kRecordCompressed:
      return Decompress(rec.subspan(kRecordHeader), offset);
    case kRecordCompressed2: {
      if (rec.size() < 16) return Fail(Where(offset) + ": COMPRESSED2 record shorter than 16 bytes");
      uint64_t n = LoadLE<uint64_t>(rec.data() + 8);
      if (n > rec.size() - 16) return Fail(Where(offset) + ": COMPRESSED2 data_size exceeds the record");
      return Decompress(rec.subspan(16, n), offset);
    }
    default:
      return {};  // build ids, id index, maps, time conversion...: not needed by our analyses
  }
}

Result<void> Reader::Impl::AddAttr(std::span<const uint8_t> rec, uint64_t offset) {
  // The sinks sized their tables by the attrs OnSessionReady gave them: an ATTR record after
  // that (a damaged or reordered stream) is not added; its samples count as unknown ids.
  if (ready_) {
    ++stats_.damaged_records;
    return {};
  }
  if (rec.size() < kRecordHeader + kAttrSizeVer0) {
    return Fail(Where(offset) + ": ATTR record of " + std::to_string(rec.size()) + " bytes, expected at least 72");
  }
  uint32_t attr_size = LoadLE<uint32_t>(rec.data() + kRecordHeader + 4);
  if (attr_size == 0) attr_size = kAttrSizeVer0;
  if (attr_size < kAttrSizeVer0 || attr_size > rec.size() - kRecordHeader) {
    return Fail(Where(offset) + ": ATTR record's attr size " + std::to_string(attr_size) +
                " does not fit the record of " + std::to_string(rec.size()) + " bytes");
  }
  auto attr = ParseEventAttr(rec.subspan(kRecordHeader, attr_size), Where(offset));
  if (!attr) return tl::unexpected(attr.error());
  ByteReader ids(rec.subspan(kRecordHeader + attr_size));
  while (ids.remaining() >= 8) attr->ids.push_back(ids.Read<uint64_t>());
  info.attrs.push_back(std::move(*attr));
  parser_.SetAttrs(info.attrs);
  stats_.samples_by_attr.resize(info.attrs.size(), 0);
  return {};
}

void Reader::Impl::NameFromEventUpdate(std::span<const uint8_t> rec) {
  constexpr uint64_t kUpdateName = 2;
  if (rec.size() < 24 || LoadLE<uint64_t>(rec.data() + 8) != kUpdateName) return;
  uint64_t id = LoadLE<uint64_t>(rec.data() + 16);
  ByteReader r(rec.subspan(24));
  std::string name = r.ReadFixedString(r.remaining());
  for (auto& attr : info.attrs) {
    if (std::find(attr.ids.begin(), attr.ids.end(), id) != attr.ids.end()) attr.name = name;
  }
}

Result<void> Reader::Impl::Decompress(std::span<const uint8_t> payload, uint64_t offset) {
  if (in_compressed_) return Fail(Where(offset) + ": a compressed record inside a compressed record");
  if (!zstd_) zstd_ = ZSTD_createDCtx();
  ++stats_.compressed_records;
  if (decompressed_.empty()) decompressed_offset_ = offset;
  ZSTD_inBuffer in{payload.data(), payload.size(), 0};
  uint8_t out_buf[1 << 16];
  for (;;) {
    ZSTD_outBuffer out{out_buf, sizeof out_buf, 0};
    size_t rc = ZSTD_decompressStream(zstd_, &out, &in);
    if (ZSTD_isError(rc)) {
      return Fail(Where(offset) + ": COMPRESSED record: zstd: " + ZSTD_getErrorName(rc));
    }
    decompressed_.insert(decompressed_.end(), out_buf, out_buf + out.pos);
    stats_.decompressed_bytes += out.pos;
    // Done when the input is consumed and zstd had no more output than the buffer held.
    if (in.pos == in.size && out.pos < out.size) break;
  }
  // Hand every whole record on; keep a partial one for the next COMPRESSED record.
  size_t pos = 0;
  in_compressed_ = true;
  while (decompressed_.size() - pos >= kRecordHeader) {
    uint16_t size = LoadLE<uint16_t>(decompressed_.data() + pos + 6);
    if (size < kRecordHeader) {
      in_compressed_ = false;
      return Fail(Where(offset) + ": bad record header size " + std::to_string(size) +
                  " inside a COMPRESSED record");
    }
    if (size > decompressed_.size() - pos) break;
    int64_t chunk;
    uint8_t* dst = arena_.Allocate(size, chunk);
    std::memcpy(dst, decompressed_.data() + pos, size);
    arena_.AddRef(chunk);
    auto r = HandleRecord({dst, size}, chunk, decompressed_offset_);
    if (!r) {
      in_compressed_ = false;
      return r;
    }
    pos += size;
  }
  in_compressed_ = false;
  decompressed_.erase(decompressed_.begin(), decompressed_.begin() + static_cast<long>(pos));
  return {};
}

bool Reader::Impl::ReadInParallel() {
  // Parts of a file are counted apart and merged, for sinks that can be split. Sinks that need
  // time order (latency pairing) stay on the one ordered pass: perf flushes each round only up
  // to the previous round's last time, so a cut at a round boundary can reorder records that
  // straddle it, and the port/MMIO cost pairing (AccessLatency) has no merge. The round-chunked
  // path (ScanPlan::ordered, ExitLatency::MergePart) waits for both.
  if (ordered) return false;
  if ((threads < 2 && !ordered) || format != FileFormat::kFile || !file) return false;
  ScanPlan plan;
  plan.file = &*file;
  plan.data_offset = info.data_offset;
  plan.data_size = info.data_size;
  plan.attrs = &info.attrs;
  plan.threads = threads;
  plan.ordered = ordered;
  plan.chunk_bytes = chunk_bytes;
  plan.progress = progress;
  return ScanInParallel(plan, *sink_, count_only_, stats_);
}

void Reader::Impl::Deliver(const QueuedRecord& q) {
  delivery_->Deliver(q.data, q.size, q.file_offset);
  if (q.chunk >= 0) arena_.Release(q.chunk);
}

// ---- Reader ----

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)), info_(impl_->info) {}
Reader::~Reader() = default;

void Reader::SetProgress(std::function<void(uint64_t, uint64_t)> progress) {
  impl_->progress = std::move(progress);
}

Result<recording::ReadStats> Reader::Run(recording::EventSink& sink) { return impl_->Run(sink); }

void Reader::SetOrdered(bool ordered) { impl_->ordered = ordered; }

void Reader::SetThreads(unsigned threads, uint64_t chunk_bytes) {
  impl_->threads = std::max(1u, threads);
  impl_->chunk_bytes = chunk_bytes;
}

Result<std::unique_ptr<Reader>> Reader::OpenStream(int fd, const std::string& name, std::span<const uint8_t> given,
                                                  UniqueFd owned) {
  auto impl = std::make_unique<Impl>();
  impl->info.path = name;
  impl->info.pipe_mode = true;
  impl->fd = fd;
  impl->owned_fd = std::move(owned);
  impl->format = FileFormat::kPipe;
  uint8_t head[kPipeHeaderSize];
  size_t done = std::min(given.size(), sizeof head);
  if (done) std::memcpy(head, given.data(), done);
  while (done < sizeof head && given.empty()) {
    ssize_t got = ::read(fd, head + done, sizeof head - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Fail(name + ": read failed: " + std::strerror(errno), 1);
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  auto format = DetectFormat({head, done}, name);
  if (!format) return tl::unexpected(format.error());
  if (*format != FileFormat::kPipe) {
    return Fail(name + ": a file-mode perf.data cannot be read from a pipe; pass it with -i FILE");
  }
  return std::unique_ptr<Reader>(new Reader(std::move(impl)));
}

Result<std::unique_ptr<Reader>> Reader::Open(const std::string& path) {
  if (path == "-") return OpenStream(STDIN_FILENO, "<stdin>");
  auto file = MappedFile::Open(path);
  if (!file) return tl::unexpected(file.error());
  auto format = DetectFormat(file->bytes().first(std::min<size_t>(file->bytes().size(), 16)), path);
  if (!format) return tl::unexpected(format.error());
  auto impl = std::make_unique<Impl>();
  impl->info.path = path;
  impl->info.file_size = file->bytes().size();
  impl->format = *format;
  impl->info.pipe_mode = *format == FileFormat::kPipe;
  if (*format == FileFormat::kFile) {
    if (auto r = ParseFileHeader(file->bytes(), impl->info); !r) return tl::unexpected(r.error());
  }
  impl->file.emplace(std::move(*file));
  return std::unique_ptr<Reader>(new Reader(std::move(impl)));
}

}  // namespace exitprof::perfdata
