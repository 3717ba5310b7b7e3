#include "perfdata/file_header.h"

#include "base/byte_reader.h"
#include "perfdata/abi.h"
#include "perfdata/features.h"

namespace exitprof::perfdata {

namespace {

struct Section {
  uint64_t offset = 0, size = 0;
};

Section ReadSection(ByteReader& r) {
  Section s;
  s.offset = r.Read<uint64_t>();
  s.size = r.Read<uint64_t>();
  return s;
}

bool Fits(const Section& s, uint64_t file_size) {
  return s.offset <= file_size && s.size <= file_size - s.offset;
}

std::string SectionError(const std::string& path, const char* what, const Section& s,
                         uint64_t file_size) {
  return path + ": " + what + " section at offset " + HexOffset(s.offset) + " of " +
         std::to_string(s.size) + " bytes runs past the end of the file (" +
         std::to_string(file_size) + " bytes): truncated or corrupt";
}

}  // namespace

Result<FileFormat> DetectFormat(std::span<const uint8_t> head, const std::string& path) {
  if (head.empty()) return Fail(path + ": empty file, expected a perf.data recording");
  if (head.size() < kPipeHeaderSize) {
    return Fail(path + ": " + std::to_string(head.size()) +
                " bytes: too short for a perf.data header (expected at least 16)");
  }
  uint64_t magic = LoadLE<uint64_t>(head.data());
  uint64_t size = LoadLE<uint64_t>(head.data() + 8);
  if (magic == kMagicSwapped) {
    return Fail(path + ": offset 0x0: perf.data written on a big-endian host; "
                "only little-endian recordings are supported");
  }
  if (magic != kMagic) {
    return Fail(path + ": offset 0x0: not a perf.data file (expected magic \"PERFILE2\")");
  }
  if (size == kPipeHeaderSize) return FileFormat::kPipe;
  if (size != kFileHeaderSize) {
    return Fail(path + ": offset 0x8: header size " + std::to_string(size) + ", expected " +
                std::to_string(kFileHeaderSize) + " (file mode) or 16 (pipe mode)");
  }
  return FileFormat::kFile;
}

Result<void> ParseFileHeader(std::span<const uint8_t> file, recording::SessionInfo& info) {
  const std::string& path = info.path;
  const uint64_t file_size = file.size();
  if (file_size < kFileHeaderSize) {
    return Fail(path + ": " + std::to_string(file_size) + " bytes: truncated perf.data header (expected " +
                std::to_string(kFileHeaderSize) + ")");
  }
  ByteReader r(file.first(kFileHeaderSize));
  r.Skip(16);  // magic, header size: checked by DetectFormat
  uint64_t attr_size = r.Read<uint64_t>();
  Section attrs = ReadSection(r);
  Section data = ReadSection(r);
  ReadSection(r);  // event_types: unused since perf 2.6.38
  uint64_t feature_bits[4];
  for (auto& word : feature_bits) word = r.Read<uint64_t>();

  if (attr_size < kAttrSizeVer0 + 16 || attr_size > 4096) {
    return Fail(path + ": offset 0x10: attr_size " + std::to_string(attr_size) +
                ", expected between 80 and 4096");
  }
  if (!Fits(attrs, file_size)) return Fail(SectionError(path, "attrs", attrs, file_size));
  if (!Fits(data, file_size)) return Fail(SectionError(path, "data", data, file_size));
  if (attrs.size % attr_size != 0) {
    return Fail(path + ": attrs section of " + std::to_string(attrs.size) +
                " bytes is not a multiple of attr_size " + std::to_string(attr_size));
  }
  info.data_offset = data.offset;
  info.data_size = data.size;
  if (data.size == 0) {
    // perf writes the final header only when recording ends; the rest cannot be trusted.
    return Fail(path + ": offset 0x30: the header's data size is 0: the recording was not finished "
                "(perf record interrupted?); no events to read");
  }

  const uint64_t n_attrs = attrs.size / attr_size;
  for (uint64_t i = 0; i < n_attrs; ++i) {
    uint64_t off = attrs.offset + i * attr_size;
    std::string where = path + ": offset " + HexOffset(off) + ": attr " + std::to_string(i);
    auto attr = ParseEventAttr(file.subspan(off, attr_size - 16), where);
    if (!attr) return tl::unexpected(attr.error());
    ByteReader ids_ref(file.subspan(off + attr_size - 16, 16));
    Section ids = ReadSection(ids_ref);
    if (!Fits(ids, file_size)) return Fail(SectionError(path, ("ids of attr " + std::to_string(i)).c_str(), ids, file_size));
    ByteReader id_reader(file.subspan(ids.offset, ids.size));
    for (uint64_t k = 0; k < ids.size / 8; ++k) attr->ids.push_back(id_reader.Read<uint64_t>());
    info.attrs.push_back(std::move(*attr));
  }
  if (info.attrs.empty()) return Fail(path + ": the attrs section is empty: no events were recorded");

  // Feature sections: an array of {offset, size} right after the data, one per set bit.
  uint64_t table = data.offset + data.size;
  uint32_t slot = 0;
  for (uint32_t bit = 0; bit < kFeatBits; ++bit) {
    if (!(feature_bits[bit / 64] >> (bit % 64) & 1)) continue;
    uint64_t entry = table + uint64_t{slot++} * 16;
    if (entry + 16 > file_size) {
      return Fail(path + ": offset " + HexOffset(entry) + ": feature table entry for feature " +
                  std::to_string(bit) + " is past the end of the file (truncated?)");
    }
    ByteReader er(file.subspan(entry, 16));
    Section s = ReadSection(er);
    if (!Fits(s, file_size)) return Fail(SectionError(path, ("feature " + std::to_string(bit)).c_str(), s, file_size));
    auto ok = ParseFeature(bit, file.subspan(s.offset, s.size), info,
                           path + ": offset " + HexOffset(s.offset));
    if (!ok) return ok;
  }
  return {};
}

}  // namespace exitprof::perfdata
