#include "symbols/line_table.h"

#include <dwarf.h>

#include <algorithm>
#include <cstring>

namespace exitprof::symbols {

namespace {

struct Reader {
  const uint8_t* p;
  const uint8_t* end;
  bool bad = false;

  bool Need(uint64_t n) {
    if (bad || static_cast<uint64_t>(end - p) < n) bad = true;
    return !bad;
  }
  uint64_t Fixed(unsigned n) {
    if (!Need(n)) return 0;
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    p += n;
    return v;
  }
  void Skip(uint64_t n) {
    if (Need(n)) p += n;
  }
  uint64_t Uleb() {
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
      if (!Need(1)) return 0;
      uint8_t b = *p++;
      if (shift < 64) v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  }
  int64_t Sleb() {
    int64_t v = 0;
    unsigned shift = 0;
    uint8_t b = 0;
    do {
      if (!Need(1)) return 0;
      b = *p++;
      if (shift < 64) v |= static_cast<int64_t>(static_cast<uint64_t>(b & 0x7f) << shift);
      shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40)) v |= -(static_cast<int64_t>(1) << shift);
    return v;
  }
  const char* String() {
    const void* nul = bad ? nullptr : std::memchr(p, 0, static_cast<size_t>(end - p));
    if (nul == nullptr) {
      bad = true;
      return "";
    }
    const char* s = reinterpret_cast<const char*>(p);
    p = static_cast<const uint8_t*>(nul) + 1;
    return s;
  }
};

const char* StringAt(std::span<const uint8_t> section, uint64_t offset) {
  if (offset >= section.size()) return nullptr;
  const void* nul = std::memchr(section.data() + offset, 0, section.size() - offset);
  return nul ? reinterpret_cast<const char*>(section.data() + offset) : nullptr;
}

bool IsAbsolute(const char* path) { return path != nullptr && path[0] == '/'; }

// One attribute of a DWARF 5 directory or file entry: a string, a number, or skipped.
bool ReadEntryValue(Reader& r, uint64_t form, unsigned offset_size, const LineSections& s, const char** text, uint64_t* number) {
  switch (form) {
    case DW_FORM_string: *text = r.String(); return !r.bad;
    case DW_FORM_line_strp: case DW_FORM_strp: {
      const char* str = StringAt(form == DW_FORM_line_strp ? s.line_str : s.str, r.Fixed(offset_size));
      if (str == nullptr) return false;
      *text = str;
      return !r.bad;
    }
    case DW_FORM_udata: *number = r.Uleb(); return !r.bad;
    case DW_FORM_data1: *number = r.Fixed(1); return !r.bad;
    case DW_FORM_data2: *number = r.Fixed(2); return !r.bad;
    case DW_FORM_data4: *number = r.Fixed(4); return !r.bad;
    case DW_FORM_data8: *number = r.Fixed(8); return !r.bad;
    case DW_FORM_data16: r.Skip(16); return !r.bad;
    case DW_FORM_block: r.Skip(r.Uleb()); return !r.bad;
    default: return false;  // strx and the like need more context: left to libdw
  }
}

}  // namespace

std::optional<LineTable> LineTable::Decode(const LineSections& s, uint64_t offset, unsigned address_size, const char* comp_dir) {
  if (offset >= s.line.size() || (address_size != 4 && address_size != 8)) return std::nullopt;
  Reader r{s.line.data() + offset, s.line.data() + s.line.size()};
  unsigned offset_size = 4;
  uint64_t length = r.Fixed(4);
  if (length == 0xffffffff) {
    offset_size = 8;
    length = r.Fixed(8);
  }
  if (r.bad || length > static_cast<uint64_t>(r.end - r.p)) return std::nullopt;
  r.end = r.p + length;
  LineTable t;
  t.version_ = static_cast<unsigned>(r.Fixed(2));
  if (t.version_ < 2 || t.version_ > 5) return std::nullopt;
  if (t.version_ >= 5) {
    r.Fixed(1);  // address_size
    r.Fixed(1);  // segment selector size
  }
  uint64_t header_length = r.Fixed(offset_size);
  if (r.bad || header_length > static_cast<uint64_t>(r.end - r.p)) return std::nullopt;
  const uint8_t* program = r.p + header_length;
  unsigned min_inst = static_cast<unsigned>(r.Fixed(1));
  if (t.version_ >= 4) r.Fixed(1);  // maximum_operations_per_instruction (1 outside VLIW)
  r.Fixed(1);                        // default_is_stmt
  int line_base = static_cast<int8_t>(r.Fixed(1));
  unsigned line_range = static_cast<unsigned>(r.Fixed(1));
  unsigned opcode_base = static_cast<unsigned>(r.Fixed(1));
  if (r.bad || line_range == 0 || opcode_base == 0) return std::nullopt;
  std::vector<uint8_t> arg_counts(opcode_base, 0);
  for (unsigned i = 1; i < opcode_base; ++i) arg_counts[i] = static_cast<uint8_t>(r.Fixed(1));

  std::vector<const char*>& dirs = t.dirs_;
  std::vector<RawFile>& raw = t.raw_files_;
  if (t.version_ >= 5) {
    for (int table = 0; table < 2 && !r.bad; ++table) {
      unsigned format_count = static_cast<unsigned>(r.Fixed(1));
      std::vector<std::pair<uint64_t, uint64_t>> format;
      for (unsigned i = 0; i < format_count && !r.bad; ++i) {
        uint64_t content = r.Uleb();  // two statements: argument order is unspecified
        uint64_t form = r.Uleb();
        format.emplace_back(content, form);
      }
      uint64_t count = r.Uleb();
      if (r.bad || count > 1000000) return std::nullopt;
      for (uint64_t i = 0; i < count; ++i) {
        RawFile entry;
        for (auto [content, form] : format) {
          const char* text = nullptr;
          uint64_t number = 0;
          if (!ReadEntryValue(r, form, offset_size, s, &text, &number)) return std::nullopt;
          if (content == DW_LNCT_path) entry.name = text;
          else if (content == DW_LNCT_directory_index) entry.dir = number;
        }
        if (table == 0) dirs.push_back(entry.name);
        else raw.push_back(entry);
      }
    }
  } else {
    for (;;) {
      const char* dir = r.String();
      if (r.bad) return std::nullopt;
      if (*dir == '\0') break;
      dirs.push_back(dir);
    }
    for (;;) {
      const char* name = r.String();
      if (r.bad) return std::nullopt;
      if (*name == '\0') break;
      RawFile f{name, r.Uleb()};
      r.Uleb();
      r.Uleb();
      raw.push_back(f);
    }
  }
  if (r.bad) return std::nullopt;
  t.comp_dir_ = comp_dir;
  // Version 5 numbers files and directories from 0; earlier versions from 1 (0 = none).
  if (t.version_ < 5) raw.insert(raw.begin(), RawFile{});
  t.files_.resize(raw.size());

  // The program (about one row per 3 bytes of it, in compilers' output).
  r.p = program;
  if (program < r.end) t.rows_.reserve(static_cast<size_t>(r.end - program) / 3);
  while (r.p < r.end && !r.bad) {
    uint64_t address = 0;
    uint64_t file = 1;
    bool file_set = false;
    int64_t line = 1;
    uint32_t discriminator = 0;
    Sequence seq;
    seq.first = static_cast<uint32_t>(t.rows_.size());
    bool ended = false;
    bool too_wide = false;
    auto emit = [&]() {
      // bfd starts a DWARF 5 sequence at file 0 (the standard says 1).
      uint64_t named = (t.version_ >= 5 && !file_set) ? 0 : file;
      too_wide |= named > UINT16_MAX || discriminator > UINT16_MAX;
      t.rows_.push_back({address, static_cast<uint32_t>(line), static_cast<uint16_t>(named), static_cast<uint16_t>(discriminator)});
      discriminator = 0;
    };
    while (!ended && r.p < r.end && !r.bad) {
      unsigned op = static_cast<unsigned>(r.Fixed(1));
      if (op >= opcode_base) {
        unsigned adjusted = op - opcode_base;
        address += static_cast<uint64_t>(adjusted / line_range) * min_inst;
        line += line_base + static_cast<int>(adjusted % line_range);
        emit();
        continue;
      }
      switch (op) {
        case 0: {
          uint64_t len = r.Uleb();
          if (r.bad || len == 0 || len > static_cast<uint64_t>(r.end - r.p)) return std::nullopt;
          const uint8_t* next = r.p + len;
          unsigned sub = static_cast<unsigned>(r.Fixed(1));
          if (sub == DW_LNE_end_sequence) {
            seq.low = t.rows_.size() > seq.first ? t.rows_[seq.first].address : address;
            seq.high = address;
            seq.count = static_cast<uint32_t>(t.rows_.size() - seq.first);
            ended = true;
          } else if (sub == DW_LNE_set_address) {
            address = len - 1 >= 8 ? r.Fixed(8) : r.Fixed(static_cast<unsigned>(len - 1));
          } else if (sub == DW_LNE_set_discriminator) {
            discriminator = static_cast<uint32_t>(r.Uleb());
          }
          r.p = next;
          break;
        }
        case DW_LNS_copy: emit(); break;
        case DW_LNS_advance_pc: address += r.Uleb() * min_inst; break;
        case DW_LNS_advance_line: line += r.Sleb(); break;
        case DW_LNS_set_file: file = r.Uleb(); file_set = true; break;
        case DW_LNS_set_column: r.Uleb(); break;
        case DW_LNS_negate_stmt: case DW_LNS_set_basic_block: case DW_LNS_set_prologue_end: case DW_LNS_set_epilogue_begin: break;
        case DW_LNS_const_add_pc: address += static_cast<uint64_t>((255 - opcode_base) / line_range) * min_inst; break;
        case DW_LNS_fixed_advance_pc: address += r.Fixed(2); break;
        default:
          for (unsigned i = 0; i < arg_counts[op]; ++i) r.Uleb();
      }
    }
    if (r.bad || too_wide) return std::nullopt;
    if (!ended) {
      t.rows_.resize(seq.first);  // a sequence without its end: bfd drops it too
      break;
    }
    if (seq.count > 0 && seq.high > seq.low) {
      // Rows of a sequence are in address order; a stable sort keeps equal addresses in
      // program order, so the last of them is the one found.
      auto first = t.rows_.begin() + seq.first;
      if (!std::is_sorted(first, t.rows_.end(), [](const Row& a, const Row& b) { return a.address < b.address; }))
        std::stable_sort(first, t.rows_.end(), [](const Row& a, const Row& b) { return a.address < b.address; });
      t.sequences_.push_back(seq);
    } else {
      t.rows_.resize(seq.first);
    }
  }
  std::stable_sort(t.sequences_.begin(), t.sequences_.end(), [](const Sequence& a, const Sequence& b) { return a.low < b.low; });
  return t;
}

const LineTable::Row* LineTable::Find(uint64_t address) const {
  auto it = std::upper_bound(sequences_.begin(), sequences_.end(), address,
                             [](uint64_t a, const Sequence& s) { return a < s.low; });
  // The sequence holding the address (they rarely overlap; look back a little).
  for (int steps = 0; it != sequences_.begin() && steps < 8; ++steps) {
    --it;
    if (address >= it->high) continue;
    auto first = rows_.begin() + it->first, last = first + it->count;
    auto row = std::upper_bound(first, last, address, [](uint64_t a, const Row& r) { return a < r.address; });
    if (row == first) continue;
    return &*std::prev(row);
  }
  return nullptr;
}

// As bfd's concat_filename: an absolute name as it is; else below its directory when that
// is absolute, else below the unit's DW_AT_comp_dir (and its directory, if any).
const std::string& LineTable::File(uint64_t index) const {
  static const std::string kNone;
  if (index >= raw_files_.size()) return kNone;
  if (files_[index]) return *files_[index];
  const RawFile& f = raw_files_[index];
  std::string& out = files_[index].emplace();
  if (f.name == nullptr || f.name[0] == '\0' || IsAbsolute(f.name)) {
    if (f.name) out = f.name;
    return out;
  }
  const char* subdir = nullptr;
  if (f.dir != 0) {
    uint64_t i = version_ >= 5 ? f.dir : f.dir - 1;
    if (i < dirs_.size()) subdir = dirs_[i];
  }
  const char* dir_name = nullptr;
  if (subdir == nullptr || !IsAbsolute(subdir)) dir_name = comp_dir_;
  if (dir_name == nullptr || dir_name[0] == '\0') {
    dir_name = subdir;
    subdir = nullptr;
  }
  if (dir_name == nullptr || dir_name[0] == '\0') {
    out = f.name;
  } else {
    out = dir_name;
    if (subdir != nullptr && subdir[0] != '\0') {
      out += '/';
      out += subdir;
    }
    out += '/';
    out += f.name;
  }
  return out;
}

}  // namespace exitprof::symbols
