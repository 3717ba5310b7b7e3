#include "trace/tracing_data.h"

#include <cstring>
#include <map>

#include "base/byte_reader.h"

namespace exitprof::trace {

namespace {

constexpr uint8_t kMagic[] = {0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g'};
constexpr uint64_t kMaxPiece = 1ULL << 30;

template <typename T>
void Put(std::vector<uint8_t>& out, T value) {
  const auto* p = reinterpret_cast<const uint8_t*>(&value);
  out.insert(out.end(), p, p + sizeof(T));
}

void PutBytes(std::vector<uint8_t>& out, const std::string& s) { out.insert(out.end(), s.begin(), s.end()); }

}  // namespace

Result<TracingData> ParseTracingData(std::span<const uint8_t> bytes, const std::string& where) {
  auto fail = [&](ByteReader& r, const std::string& what) {
    return Fail(where + ": tracing data offset " + HexOffset(r.offset()) + ": " + what);
  };
  ByteReader r(bytes);
  TracingData td;
  auto magic = r.ReadBytes(sizeof kMagic);
  if (!r.ok() || std::memcmp(magic.data(), kMagic, sizeof kMagic) != 0) {
    return Fail(where + ": tracing data does not start with the \"\\x17\\x08Dtracing\" magic");
  }
  td.version = r.ReadCString();
  if (!r.ok()) return fail(r, "unterminated version string");
  td.big_endian = r.Read<uint8_t>() != 0;
  td.long_size = r.Read<uint8_t>();
  td.page_size = r.Read<uint32_t>();
  if (!r.ok()) return fail(r, "truncated before the page size");
  if (td.big_endian) return Fail(where + ": tracing data from a big-endian host is not supported");
  auto read_piece = [&](const char* name, std::string& out) -> bool {
    if (name) {
      std::string tag = r.ReadCString();
      if (!r.ok() || tag != name) return false;
    }
    uint64_t size = r.Read<uint64_t>();
    if (!r.ok() || size > kMaxPiece || size > r.remaining()) return false;
    auto b = r.ReadBytes(size);
    out.assign(reinterpret_cast<const char*>(b.data()), b.size());
    return true;
  };
  if (!read_piece("header_page", td.header_page)) return fail(r, "expected \"header_page\" and its size");
  if (!read_piece("header_event", td.header_event)) return fail(r, "expected \"header_event\" and its size");
  uint32_t n_ftrace = r.Read<uint32_t>();
  if (!r.ok() || n_ftrace > r.remaining() / 8) return fail(r, "bad ftrace format count");
  for (uint32_t i = 0; i < n_ftrace; ++i) {
    FormatFile f{"ftrace", {}};
    if (!read_piece(nullptr, f.text)) return fail(r, "truncated ftrace format");
    td.formats.push_back(std::move(f));
  }
  uint32_t n_systems = r.Read<uint32_t>();
  if (!r.ok() || n_systems > r.remaining()) return fail(r, "bad event system count");
  for (uint32_t s = 0; s < n_systems; ++s) {
    std::string system = r.ReadCString();
    uint32_t n = r.Read<uint32_t>();
    if (!r.ok() || n > r.remaining() / 8) return fail(r, "bad event count for system \"" + system + "\"");
    for (uint32_t i = 0; i < n; ++i) {
      FormatFile f{system, {}};
      if (!read_piece(nullptr, f.text)) return fail(r, "truncated format in system \"" + system + "\"");
      td.formats.push_back(std::move(f));
    }
  }
  // kallsyms and printk formats: u32 sizes. Missing tails are tolerated (old perf).
  auto read_u32_piece = [&](std::string& out) {
    if (r.remaining() < 4) return;
    uint32_t size = r.Read<uint32_t>();
    if (size > r.remaining()) {
      r.Skip(r.remaining());
      return;
    }
    auto b = r.ReadBytes(size);
    out.assign(reinterpret_cast<const char*>(b.data()), b.size());
  };
  read_u32_piece(td.kallsyms);
  read_u32_piece(td.printk_formats);
  if (td.version >= "0.6" && r.remaining() >= 8) {
    uint64_t size = r.Read<uint64_t>();
    if (size <= r.remaining()) {
      auto b = r.ReadBytes(size);
      td.saved_cmdlines.assign(reinterpret_cast<const char*>(b.data()), b.size());
    }
  }
  return td;
}

std::vector<uint8_t> EncodeTracingData(const TracingData& td) {
  std::vector<uint8_t> out(std::begin(kMagic), std::end(kMagic));
  PutBytes(out, td.version);
  out.push_back(0);
  out.push_back(td.big_endian ? 1 : 0);
  out.push_back(td.long_size);
  Put<uint32_t>(out, td.page_size);
  PutBytes(out, "header_page");
  out.push_back(0);
  Put<uint64_t>(out, td.header_page.size());
  PutBytes(out, td.header_page);
  PutBytes(out, "header_event");
  out.push_back(0);
  Put<uint64_t>(out, td.header_event.size());
  PutBytes(out, td.header_event);
  std::vector<const FormatFile*> ftrace;
  std::map<std::string, std::vector<const FormatFile*>> systems;
  for (const auto& f : td.formats) {
    if (f.system == "ftrace") ftrace.push_back(&f);
    else systems[f.system].push_back(&f);
  }
  Put<uint32_t>(out, static_cast<uint32_t>(ftrace.size()));
  for (const auto* f : ftrace) {
    Put<uint64_t>(out, f->text.size());
    PutBytes(out, f->text);
  }
  Put<uint32_t>(out, static_cast<uint32_t>(systems.size()));
  for (const auto& [name, files] : systems) {
    PutBytes(out, name);
    out.push_back(0);
    Put<uint32_t>(out, static_cast<uint32_t>(files.size()));
    for (const auto* f : files) {
      Put<uint64_t>(out, f->text.size());
      PutBytes(out, f->text);
    }
  }
  Put<uint32_t>(out, static_cast<uint32_t>(td.kallsyms.size()));
  PutBytes(out, td.kallsyms);
  Put<uint32_t>(out, static_cast<uint32_t>(td.printk_formats.size()));
  PutBytes(out, td.printk_formats);
  Put<uint64_t>(out, td.saved_cmdlines.size());
  PutBytes(out, td.saved_cmdlines);
  return out;
}

}  // namespace exitprof::trace
