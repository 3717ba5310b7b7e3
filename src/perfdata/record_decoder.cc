#include "perfdata/record_decoder.h"

#include <cstring>

#include "base/byte_reader.h"
#include "perfdata/abi.h"

namespace exitprof::perfdata {

namespace {

// The sample_id trailer names the thread that was running when the kernel wrote the record,
// not the one the record is about: a KVM worker's COMM (kvm-nx-lpage-re) carries the VMM
// thread that created it, and perf's synthesized records carry zeros. Records with ids of their
// own keep them; the trailer still gives the time, cpu and id.
bool TrailerUnderOwnIds(const SampleParser& parser, std::span<const uint8_t> rec, Event& e) {
  const uint32_t pid = e.pid, tid = e.tid;
  bool ok = parser.ParseTrailer(rec, e);
  e.pid = pid;
  e.tid = tid;
  return ok;
}

}  // namespace

DecodeResult DecodeRecord(const SampleParser& parser, std::span<const uint8_t> rec, Event& e) {
  constexpr size_t kHeader = 8;
  if (rec.size() < kHeader) return DecodeResult::kDamaged;
  e.type = LoadLE<uint32_t>(rec.data());
  e.misc = LoadLE<uint16_t>(rec.data() + 4);
  e.record = rec;
  ByteReader body(rec.subspan(kHeader));
  bool ok = true;
  switch (e.type) {
    case kRecordSample: {
      int index = parser.AttrIndexForSample(rec);
      if (index < 0) return DecodeResult::kUnknownId;
      ok = parser.ParseSampleAs(index, rec, e);
      break;
    }
    case kRecordComm: {
      e.pid = body.Read<uint32_t>();
      e.tid = body.Read<uint32_t>();
      auto rest = body.ReadBytes(body.remaining());
      const void* nul = std::memchr(rest.data(), 0, rest.size());
      e.comm = std::string_view(reinterpret_cast<const char*>(rest.data()),
                                nul ? static_cast<const uint8_t*>(nul) - rest.data() : 0);
      ok = body.ok() && nul && TrailerUnderOwnIds(parser, rec, e);
      break;
    }
    case kRecordFork:
    case kRecordExit: {
      e.pid = body.Read<uint32_t>();
      e.ppid = body.Read<uint32_t>();
      e.tid = body.Read<uint32_t>();
      e.ptid = body.Read<uint32_t>();
      e.time = body.Read<uint64_t>();
      ok = body.ok();
      if (ok) TrailerUnderOwnIds(parser, rec, e);
      break;
    }
    case kRecordMmap:
    case kRecordMmap2: {
      e.pid = body.Read<uint32_t>();
      e.tid = body.Read<uint32_t>();
      e.map_start = body.Read<uint64_t>();
      e.map_len = body.Read<uint64_t>();
      e.map_pgoff = body.Read<uint64_t>();
      e.map_prot = 5;  // PROT_READ | PROT_EXEC: plain MMAP records describe executable maps
      if (e.type == kRecordMmap2) {
        body.Skip(24);  // maj, min, ino, ino_generation (or build id)
        e.map_prot = body.Read<uint32_t>();
        body.Skip(4);  // flags
      }
      auto rest = body.ReadBytes(body.remaining());
      const void* nul = std::memchr(rest.data(), 0, rest.size());
      e.filename = std::string_view(reinterpret_cast<const char*>(rest.data()),
                                    nul ? static_cast<const uint8_t*>(nul) - rest.data() : 0);
      ok = body.ok() && nul;
      if (ok) TrailerUnderOwnIds(parser, rec, e);
      break;
    }
    case kRecordLost:
      e.id = body.Read<uint64_t>();
      e.lost = body.Read<uint64_t>();
      ok = body.ok();
      parser.ParseTrailer(rec, e);
      break;
    case kRecordLostSamples:
      e.lost = body.Read<uint64_t>();
      ok = body.ok();
      parser.ParseTrailer(rec, e);
      break;
    default:
      parser.ParseTrailer(rec, e);
      break;
  }
  return ok ? DecodeResult::kOk : DecodeResult::kDamaged;
}

}  // namespace exitprof::perfdata
