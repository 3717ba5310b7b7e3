#include "tracedat/file.h"

#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <set>

#include "base/byte_reader.h"

namespace exitprof::tracedat {

namespace {

constexpr uint8_t kMagic[] = {0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g'};
constexpr uint64_t kMaxPiece = 1ULL << 30;  // no metadata piece is near 1 GiB
constexpr uint64_t kMaxInflated = 16ULL << 30;

// Option and section ids (trace-cmd.dat.v7(5)).
enum : uint16_t {
  kOptDone = 0,
  kOptBuffer = 3,
  kOptTraceClock = 4,
  kOptUname = 5,
  kOptCpuCount = 8,
  kOptVersion = 9,
  kOptTraceId = 11,
  kOptTimeShift = 12,
  kOptGuest = 13,
  kOptTsc2Nsec = 14,
  kOptHeaderInfo = 16,
  kOptFtraceEvents = 17,
  kOptEventFormats = 18,
  kOptKallsyms = 19,
  kOptPrintk = 20,
  kOptCmdlines = 21,
  kOptBufferText = 22,
};
constexpr uint16_t kSectionCompressed = 1;

// Parsing state shared by the helpers: the file and the name used in messages.
struct Ctx {
  std::span<const uint8_t> file;
  const std::string& where;
  TraceDatFile& out;
};

std::string AsString(std::span<const uint8_t> b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

// A NUL-terminated option string (the NUL and anything after it dropped).
std::string OptionString(std::span<const uint8_t> b) {
  std::string s = AsString(b);
  return s.substr(0, s.find('\0'));
}

Error At(const Ctx& c, uint64_t offset, const std::string& what) {
  return Error{c.where + ": offset " + HexOffset(offset) + ": " + what};
}

// Reads a size-prefixed piece (u32 or u64 size) into `out`.
template <typename SizeT>
bool ReadPiece(ByteReader& r, std::string& out) {
  uint64_t size = r.Read<SizeT>();
  if (!r.ok() || size > kMaxPiece || size > r.remaining()) return false;
  out = AsString(r.ReadBytes(size));
  return true;
}

// The metadata pieces; `base` is the file offset of r's first byte (for messages).
Result<void> ReadHeaderInfo(const Ctx& c, ByteReader& r, uint64_t base) {
  if (r.ReadCString() != "header_page" || !ReadPiece<uint64_t>(r, c.out.meta.header_page)) {
    return tl::unexpected(At(c, base + r.offset(), "expected \"header_page\" and its size"));
  }
  if (r.ReadCString() != "header_event" || !ReadPiece<uint64_t>(r, c.out.meta.header_event)) {
    return tl::unexpected(At(c, base + r.offset(), "expected \"header_event\" and its size"));
  }
  return {};
}

Result<void> ReadFtraceFormats(const Ctx& c, ByteReader& r, uint64_t base) {
  uint32_t n = r.Read<uint32_t>();
  if (!r.ok() || n > r.remaining() / 8) return tl::unexpected(At(c, base + r.offset(), "bad ftrace format count"));
  for (uint32_t i = 0; i < n; ++i) {
    trace::FormatFile f{"ftrace", {}};
    if (!ReadPiece<uint64_t>(r, f.text)) return tl::unexpected(At(c, base + r.offset(), "truncated ftrace format"));
    c.out.meta.formats.push_back(std::move(f));
  }
  return {};
}

Result<void> ReadEventFormats(const Ctx& c, ByteReader& r, uint64_t base) {
  uint32_t systems = r.Read<uint32_t>();
  if (!r.ok() || systems > r.remaining() / 5) return tl::unexpected(At(c, base + r.offset(), "bad event system count"));
  for (uint32_t s = 0; s < systems; ++s) {
    std::string system = r.ReadCString();
    uint32_t n = r.Read<uint32_t>();
    if (!r.ok() || n > r.remaining() / 8) {
      return tl::unexpected(At(c, base + r.offset(), "bad event count for system \"" + system + "\""));
    }
    for (uint32_t i = 0; i < n; ++i) {
      trace::FormatFile f{system, {}};
      if (!ReadPiece<uint64_t>(r, f.text)) {
        return tl::unexpected(At(c, base + r.offset(), "truncated format in system \"" + system + "\""));
      }
      c.out.meta.formats.push_back(std::move(f));
    }
  }
  return {};
}

Result<void> ReadSized(const Ctx& c, ByteReader& r, uint64_t base, bool wide, std::string& out, const char* what) {
  bool ok = wide ? ReadPiece<uint64_t>(r, out) : ReadPiece<uint32_t>(r, out);
  if (!ok) return tl::unexpected(At(c, base + r.offset(), std::string("truncated ") + what));
  return {};
}

// A v7 section at `offset`: checks its header and returns its (inflated) body.
Result<std::vector<uint8_t>> ReadSection(const Ctx& c, uint64_t offset, uint16_t expected_id) {
  if (offset > c.file.size() || c.file.size() - offset < 16) {
    return tl::unexpected(At(c, offset, "section " + std::to_string(expected_id) + " lies beyond the end of the file (" +
                                            std::to_string(c.file.size()) + " bytes): truncated?"));
  }
  ByteReader r(c.file.subspan(offset));
  uint16_t id = r.Read<uint16_t>();
  uint16_t flags = r.Read<uint16_t>();
  r.Read<uint32_t>();  // description string id
  uint64_t size = r.Read<uint64_t>();
  if (id != expected_id) {
    return tl::unexpected(At(c, offset, "expected section " + std::to_string(expected_id) + ", found id " + std::to_string(id)));
  }
  if (size > r.remaining()) {
    return tl::unexpected(At(c, offset, "section " + std::to_string(id) + " of " + std::to_string(size) +
                                            " bytes runs past the end of the file: truncated?"));
  }
  auto body = r.ReadBytes(size);
  if (!(flags & kSectionCompressed)) return std::vector<uint8_t>(body.begin(), body.end());
  ByteReader z(body);
  uint32_t zsize = z.Read<uint32_t>();
  uint32_t usize = z.Read<uint32_t>();
  if (!z.ok() || zsize > z.remaining()) {
    return tl::unexpected(At(c, offset + 16, "compressed section header does not fit its section"));
  }
  return Decompress(c.out.compression, z.ReadBytes(zsize), usize, c.where + ": section at " + HexOffset(offset));
}

Result<void> ReadMetaSection(const Ctx& c, uint16_t id, uint64_t offset) {
  auto body = ReadSection(c, offset, id);
  if (!body) return tl::unexpected(body.error());
  ByteReader r(*body);
  const uint64_t base = offset + 16;  // messages point into the section (inflated offsets if compressed)
  switch (id) {
    case kOptHeaderInfo: return ReadHeaderInfo(c, r, base);
    case kOptFtraceEvents: return ReadFtraceFormats(c, r, base);
    case kOptEventFormats: return ReadEventFormats(c, r, base);
    case kOptKallsyms: return ReadSized(c, r, base, false, c.out.meta.kallsyms, "kallsyms");
    case kOptPrintk: return ReadSized(c, r, base, false, c.out.meta.printk_formats, "printk formats");
    case kOptCmdlines: return ReadSized(c, r, base, true, c.out.meta.saved_cmdlines, "saved cmdlines");
    default: return {};
  }
}

Result<void> ParseGuest(const Ctx& c, std::span<const uint8_t> data, uint64_t at) {
  ByteReader r(data);
  Guest g;
  g.name = r.ReadCString();
  g.trace_id = r.Read<uint64_t>();
  uint32_t n = r.Read<uint32_t>();
  if (!r.ok() || n > r.remaining() / 8) return tl::unexpected(At(c, at, "GUEST option: bad vCPU count"));
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t vcpu = r.Read<uint32_t>();
    uint32_t tid = r.Read<uint32_t>();
    g.vcpu_to_host_tid.emplace_back(vcpu, tid);
  }
  c.out.guests.push_back(std::move(g));
  return {};
}

// v6 and v7 BUFFER options differ: v6 holds an offset and a name (the per-CPU table is at the
// offset); v7 also holds the clock and the per-CPU table itself.
Result<void> ParseBufferOption(const Ctx& c, std::span<const uint8_t> data, uint64_t at) {
  ByteReader r(data);
  Buffer b;
  uint64_t offset = r.Read<uint64_t>();
  b.name = r.ReadCString();
  if (!r.ok()) return tl::unexpected(At(c, at, "BUFFER option: expected an offset and a name"));
  if (c.out.version >= 7) {
    b.clock = r.ReadCString();
    // trace-cmd 3.2 added the sub-buffer (page) size before the CPU count: tell by the length.
    uint32_t n = 0;
    if (r.remaining() >= 8) {
      uint32_t first, second;
      std::memcpy(&first, data.data() + r.offset(), 4);
      std::memcpy(&second, data.data() + r.offset() + 4, 4);
      if (r.remaining() != 4 + uint64_t{first} * 20 && r.remaining() == 8 + uint64_t{second} * 20) r.Skip(4);
    }
    n = r.Read<uint32_t>();
    if (!r.ok() || n > r.remaining() / 20) return tl::unexpected(At(c, at, "BUFFER option: bad CPU count"));
    for (uint32_t i = 0; i < n; ++i) {
      CpuData cpu;
      cpu.cpu = r.Read<uint32_t>();
      cpu.offset = r.Read<uint64_t>();
      cpu.size = r.Read<uint64_t>();
      b.cpus.push_back(cpu);
    }
    // The flyrecord section header says whether the data is compressed.
    if (offset > c.file.size() || c.file.size() - offset < 16) {
      return tl::unexpected(At(c, at, "BUFFER \"" + b.name + "\": its section offset " + HexOffset(offset) + " is beyond the end of the file"));
    }
    ByteReader h(c.file.subspan(offset));
    uint16_t id = h.Read<uint16_t>();
    uint16_t flags = h.Read<uint16_t>();
    if (id != kOptBuffer) {
      return tl::unexpected(At(c, offset, "expected a flyrecord buffer section (id 3), found id " + std::to_string(id)));
    }
    b.compressed = flags & kSectionCompressed;
  } else {
    if (offset > c.file.size()) return tl::unexpected(At(c, at, "BUFFER \"" + b.name + "\": offset beyond the end of the file"));
    ByteReader t(c.file.subspan(offset));
    if (t.remaining() >= 10 && std::memcmp(c.file.data() + offset, "flyrecord", 10) == 0) t.Skip(10);
    for (uint32_t i = 0; i < c.out.cpu_count; ++i) {
      CpuData cpu{i, t.Read<uint64_t>(), t.Read<uint64_t>()};
      if (!t.ok()) return tl::unexpected(At(c, offset, "BUFFER \"" + b.name + "\": truncated per-CPU table"));
      b.cpus.push_back(cpu);
    }
  }
  c.out.buffers.push_back(std::move(b));
  return {};
}

// One option; v7 metadata options point at sections read right away.
Result<void> ParseOption(const Ctx& c, uint16_t id, std::span<const uint8_t> data, uint64_t at) {
  ByteReader r(data);
  switch (id) {
    case kOptBuffer: return ParseBufferOption(c, data, at);
    case kOptTraceClock: c.out.trace_clock = OptionString(data); return {};
    case kOptUname: c.out.uname = OptionString(data); return {};
    case kOptVersion: c.out.tracer_version = OptionString(data); return {};
    case kOptCpuCount:
      if (data.size() >= 4) c.out.cpu_count = r.Read<uint32_t>();
      return {};
    case kOptTraceId:
      if (data.size() >= 8) c.out.trace_id = r.Read<uint64_t>();
      return {};
    case kOptTimeShift: c.out.has_time_shift = true; return {};
    case kOptGuest: return ParseGuest(c, data, at);
    case kOptTsc2Nsec:
      if (data.size() >= 16) {
        Tsc2Nsec t;
        t.mult = r.Read<uint32_t>();
        t.shift = r.Read<uint32_t>();
        t.offset = r.Read<uint64_t>();
        if (t.mult && t.shift < 64) c.out.tsc2nsec = t;
      }
      return {};
    case kOptBufferText: c.out.has_latency_text = true; return {};
    case kOptHeaderInfo:
    case kOptFtraceEvents:
    case kOptEventFormats:
    case kOptKallsyms:
    case kOptPrintk:
    case kOptCmdlines:
      if (c.out.version < 7 || data.size() < 8) return {};
      return ReadMetaSection(c, id, r.Read<uint64_t>());
    default: return {};  // unknown options are skipped, as trace-cmd does
  }
}

// A run of options ending with DONE (or, in v6, with id 0 and no size). Returns DONE's
// next-section offset (v7) or 0.
Result<uint64_t> ParseOptions(const Ctx& c, ByteReader& r, uint64_t base) {
  for (;;) {
    uint64_t at = base + r.offset();
    uint16_t id = r.Read<uint16_t>();
    if (!r.ok()) return tl::unexpected(At(c, at, "options end without a DONE option: truncated?"));
    if (id == kOptDone && c.out.version < 7) return uint64_t{0};
    uint32_t size = r.Read<uint32_t>();
    if (!r.ok() || size > r.remaining()) {
      return tl::unexpected(At(c, at, "option " + std::to_string(id) + " of " + std::to_string(size) +
                                          " bytes does not fit in what is left of its section"));
    }
    auto data = r.ReadBytes(size);
    if (id == kOptDone) {
      if (size < 8) return uint64_t{0};
      uint64_t next;
      std::memcpy(&next, data.data(), 8);
      return next;
    }
    auto ok = ParseOption(c, id, data, at);
    if (!ok) return tl::unexpected(ok.error());
  }
}

Result<void> ParseV7(const Ctx& c, ByteReader& r) {
  c.out.compression = r.ReadCString();
  r.ReadCString();  // compression library version
  uint64_t options = r.Read<uint64_t>();
  if (!r.ok()) return tl::unexpected(At(c, r.offset(), "truncated before the first options offset"));
  if (c.out.compression != "none" && c.out.compression != "zlib" && c.out.compression != "zstd") {
    return tl::unexpected(At(c, 0, "compression \"" + c.out.compression + "\" is not supported (expected none, zlib or zstd)"));
  }
  std::set<uint64_t> seen;
  while (options) {
    if (!seen.insert(options).second || seen.size() > 4096) {
      return tl::unexpected(At(c, options, "options sections form a loop"));
    }
    auto body = ReadSection(c, options, kOptDone);
    if (!body) return tl::unexpected(body.error());
    ByteReader o(*body);
    auto next = ParseOptions(c, o, options + 16);
    if (!next) return tl::unexpected(next.error());
    options = *next;
  }
  if (c.out.meta.header_page.empty()) return tl::unexpected(At(c, 0, "no HEADER_INFO section: the ring-buffer page layout is unknown"));
  return {};
}

Result<void> ParseV6(const Ctx& c, ByteReader& r) {
  auto ok = ReadHeaderInfo(c, r, 0);
  if (ok) ok = ReadFtraceFormats(c, r, 0);
  if (ok) ok = ReadEventFormats(c, r, 0);
  if (ok) ok = ReadSized(c, r, 0, false, c.out.meta.kallsyms, "kallsyms");
  if (ok) ok = ReadSized(c, r, 0, false, c.out.meta.printk_formats, "printk formats");
  if (ok) ok = ReadSized(c, r, 0, true, c.out.meta.saved_cmdlines, "saved cmdlines");
  if (!ok) return ok;
  c.out.cpu_count = r.Read<uint32_t>();
  if (!r.ok() || c.out.cpu_count > 65536) return tl::unexpected(At(c, r.offset(), "bad CPU count"));
  for (;;) {
    uint64_t at = r.offset();
    std::string tag = r.ReadFixedString(10);
    tag = tag.substr(0, tag.find(' '));  // "options  " and "latency  " are space-padded
    if (!r.ok()) return tl::unexpected(At(c, at, "truncated before the trace data (expected \"flyrecord\")"));
    if (tag == "options") {
      auto next = ParseOptions(c, r, 0);
      if (!next) return tl::unexpected(next.error());
      continue;
    }
    if (tag == "latency") {
      c.out.has_latency_text = true;
      return {};
    }
    if (tag != "flyrecord") return tl::unexpected(At(c, at, "expected \"options\", \"latency\" or \"flyrecord\", found \"" + tag + "\""));
    Buffer top;
    top.clock = SelectedClock(c.out.trace_clock);
    for (uint32_t i = 0; i < c.out.cpu_count; ++i) {
      CpuData cpu{i, r.Read<uint64_t>(), r.Read<uint64_t>()};
      if (!r.ok()) return tl::unexpected(At(c, r.offset(), "truncated per-CPU offset table"));
      top.cpus.push_back(cpu);
    }
    // v6 instance buffers (BUFFER options) carry no clock: they share the top one's.
    for (auto& b : c.out.buffers) b.clock = top.clock;
    c.out.buffers.insert(c.out.buffers.begin(), std::move(top));
    return {};
  }
}

}  // namespace

Result<std::vector<uint8_t>> ReadCpuPages(const TraceDatFile& file, std::span<const uint8_t> bytes, const Buffer& buffer,
                                          const CpuData& cpu, const std::string& where) {
  if (cpu.offset > bytes.size() || cpu.size > bytes.size() - cpu.offset) {
    return Fail(where + ": data at " + HexOffset(cpu.offset) + " (" + std::to_string(cpu.size) +
                " bytes) runs past the end of the file (" + std::to_string(bytes.size()) + " bytes): truncated?");
  }
  if (!buffer.compressed) {
    auto raw = bytes.subspan(cpu.offset, cpu.size);
    return std::vector<uint8_t>(raw.begin(), raw.end());
  }
  // trace-cmd's size leaves out the 4-byte chunk count that precedes the chunks.
  ByteReader r(bytes.subspan(cpu.offset, std::min<uint64_t>(cpu.size + 4, bytes.size() - cpu.offset)));
  uint32_t chunks = r.Read<uint32_t>();
  if (!r.ok() || chunks > r.remaining() / 8) return Fail(where + ": bad compressed chunk count");
  std::vector<uint8_t> out;
  for (uint32_t i = 0; i < chunks; ++i) {
    uint32_t zsize = r.Read<uint32_t>();
    uint32_t usize = r.Read<uint32_t>();
    if (!r.ok() || zsize > r.remaining()) {
      return Fail(where + ": compressed chunk " + std::to_string(i) + " runs past its data: truncated?");
    }
    auto block = Decompress(file.compression, r.ReadBytes(zsize), usize, where + " chunk " + std::to_string(i));
    if (!block) return tl::unexpected(block.error());
    out.insert(out.end(), block->begin(), block->end());
  }
  return out;
}

bool HasTraceDatMagic(std::span<const uint8_t> bytes) {
  return bytes.size() >= sizeof kMagic && std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0;
}

std::string SelectedClock(const std::string& trace_clock) {
  auto open = trace_clock.find('[');
  auto close = trace_clock.find(']', open == std::string::npos ? 0 : open);
  if (open != std::string::npos && close != std::string::npos) return trace_clock.substr(open + 1, close - open - 1);
  auto end = trace_clock.find_last_not_of(" \n");
  return end == std::string::npos ? std::string() : trace_clock.substr(0, end + 1);
}

Result<std::vector<uint8_t>> Decompress(const std::string& algorithm, std::span<const uint8_t> in, uint64_t size,
                                        const std::string& where) {
  // A claimed size is checked before it is allocated: deflate cannot expand more than 1032
  // times, and a zstd frame states its content size.
  uint64_t limit = in.size() * uint64_t{1032} + 4096;
  if (algorithm == "zstd") {
    const unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR) limit = declared;
  }
  if (size > kMaxInflated || size > limit) {
    return Fail(where + ": a compressed block of " + std::to_string(in.size()) + " bytes claims " + std::to_string(size) +
                " bytes inflated (at most " + std::to_string(std::min<uint64_t>(limit, kMaxInflated)) + " possible): damaged");
  }
  std::vector<uint8_t> out(size);
  if (algorithm == "zlib") {
    uLongf got = size;
    int rc = uncompress(out.data(), &got, in.data(), in.size());
    if (rc != Z_OK || got != size) {
      return Fail(where + ": zlib block does not inflate to its " + std::to_string(size) + " bytes (" +
                  (rc == Z_OK ? std::to_string(got) + " bytes" : std::string(zError(rc))) + ")");
    }
  } else if (algorithm == "zstd") {
    size_t got = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
    if (ZSTD_isError(got) || got != size) {
      return Fail(where + ": zstd block does not inflate to its " + std::to_string(size) + " bytes (" +
                  (ZSTD_isError(got) ? std::string(ZSTD_getErrorName(got)) : std::to_string(got) + " bytes") + ")");
    }
  } else {
    return Fail(where + ": compressed data, but the file names no compression algorithm");
  }
  return out;
}

Result<TraceDatFile> ParseTraceDat(std::span<const uint8_t> file, const std::string& where) {
  TraceDatFile out;
  Ctx c{file, where, out};
  if (!HasTraceDatMagic(file)) return Fail(where + ": not a trace.dat file (no \"\\x17\\x08Dtracing\" magic)");
  ByteReader r(file);
  r.Skip(sizeof kMagic);
  std::string version = r.ReadCString();
  if (!r.ok() || (version != "6" && version != "7")) {
    return Fail(where + ": trace.dat version \"" + version.substr(0, 16) + "\" is not supported (expected 6 or 7)");
  }
  out.version = version[0] - '0';
  uint8_t endian = r.Read<uint8_t>();
  out.long_size = r.Read<uint8_t>();
  out.page_size = r.Read<uint32_t>();
  if (!r.ok()) return Fail(where + ": truncated trace.dat header");
  if (endian != 0) return Fail(where + ": big-endian trace.dat files are not supported");
  if (out.page_size < 64 || out.page_size > (1u << 24) || (out.page_size & (out.page_size - 1))) {
    return Fail(where + ": page size " + std::to_string(out.page_size) + " is not a power of two between 64 B and 16 MiB");
  }
  auto ok = out.version == 7 ? ParseV7(c, r) : ParseV6(c, r);
  if (!ok) return tl::unexpected(ok.error());
  out.meta.long_size = out.long_size;
  out.meta.page_size = out.page_size;
  if (out.trace_clock.empty() && !out.buffers.empty()) out.trace_clock = out.buffers[0].clock;
  return out;
}

}  // namespace exitprof::tracedat
