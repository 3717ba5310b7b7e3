#include "symbols/die_scanner.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>

#include <cstring>
#include <string_view>

namespace exitprof::symbols {

namespace {

// A bounds-checked cursor; any overrun sets `bad` and reads zeros.
struct Cursor {
  const uint8_t* p;
  const uint8_t* end;
  bool bad = false;

  bool Need(uint64_t n) {
    if (bad || static_cast<uint64_t>(end - p) < n) {
      bad = true;
      return false;
    }
    return true;
  }
  uint64_t Fixed(unsigned n) {
    if (!Need(n)) return 0;
    uint64_t v = 0;
    std::memcpy(&v, p, n);  // little-endian hosts (x86-64), as the files we read
    p += n;
    return v;
  }
  void Skip(uint64_t n) {
    if (Need(n)) p += n;
  }
  uint64_t Uleb() {
    uint64_t v = 0;
    for (unsigned shift = 0; !bad; shift += 7) {
      if (!Need(1)) return 0;
      uint8_t b = *p++;
      if (shift < 64) v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    return v;
  }
  void SkipString() {
    const void* nul = bad ? nullptr : std::memchr(p, 0, static_cast<size_t>(end - p));
    if (nul == nullptr) {
      bad = true;
      return;
    }
    p = static_cast<const uint8_t*>(nul) + 1;
  }
};

struct UnitShape {
  unsigned offset_size = 4, address_size = 8, version = 0;
};

// Steps over one attribute value. False: a form this reader does not know.
bool SkipForm(Cursor& c, uint32_t form, const UnitShape& u, int depth = 0) {
  switch (form) {
    case DW_FORM_flag_present: case DW_FORM_implicit_const: return true;
    case DW_FORM_data1: case DW_FORM_ref1: case DW_FORM_flag: case DW_FORM_strx1: case DW_FORM_addrx1: c.Skip(1); return true;
    case DW_FORM_data2: case DW_FORM_ref2: case DW_FORM_strx2: case DW_FORM_addrx2: c.Skip(2); return true;
    case DW_FORM_strx3: case DW_FORM_addrx3: c.Skip(3); return true;
    case DW_FORM_data4: case DW_FORM_ref4: case DW_FORM_strx4: case DW_FORM_addrx4: case DW_FORM_ref_sup4: c.Skip(4); return true;
    case DW_FORM_data8: case DW_FORM_ref8: case DW_FORM_ref_sig8: case DW_FORM_ref_sup8: c.Skip(8); return true;
    case DW_FORM_data16: c.Skip(16); return true;
    case DW_FORM_addr: c.Skip(u.address_size); return true;
    case DW_FORM_ref_addr: c.Skip(u.version <= 2 ? u.address_size : u.offset_size); return true;
    case DW_FORM_strp: case DW_FORM_line_strp: case DW_FORM_sec_offset: case DW_FORM_strp_sup:
    case DW_FORM_GNU_ref_alt: case DW_FORM_GNU_strp_alt:
      c.Skip(u.offset_size);
      return true;
    case DW_FORM_sdata: case DW_FORM_udata: case DW_FORM_ref_udata: case DW_FORM_strx: case DW_FORM_addrx:
    case DW_FORM_loclistx: case DW_FORM_rnglistx: case DW_FORM_GNU_addr_index: case DW_FORM_GNU_str_index:
      c.Uleb();
      return true;
    case DW_FORM_string: c.SkipString(); return true;
    case DW_FORM_block1: c.Skip(c.Fixed(1)); return true;
    case DW_FORM_block2: c.Skip(c.Fixed(2)); return true;
    case DW_FORM_block4: c.Skip(c.Fixed(4)); return true;
    case DW_FORM_block: case DW_FORM_exprloc: c.Skip(c.Uleb()); return true;
    case DW_FORM_indirect:
      if (depth > 2) return false;
      return SkipForm(c, static_cast<uint32_t>(c.Uleb()), u, depth + 1);
    default:
      return false;
  }
}

std::span<const uint8_t> SectionBytes(Elf* elf, std::string_view name) {
  size_t shstrndx;
  if (elf == nullptr || elf_getshdrstrndx(elf, &shstrndx) != 0) return {};
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    const char* n = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (n == nullptr || name != n) continue;
    if (shdr.sh_flags & SHF_COMPRESSED) return {};  // libdw did not inflate it in place
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data == nullptr || data->d_buf == nullptr) return {};
    return {static_cast<const uint8_t*>(data->d_buf), data->d_size};
  }
  return {};
}

// The size of a form's value when it does not depend on the data, else -1.
int FixedFormSize(uint32_t form, const UnitShape& u) {
  switch (form) {
    case DW_FORM_flag_present: case DW_FORM_implicit_const: return 0;
    case DW_FORM_data1: case DW_FORM_ref1: case DW_FORM_flag: case DW_FORM_strx1: case DW_FORM_addrx1: return 1;
    case DW_FORM_data2: case DW_FORM_ref2: case DW_FORM_strx2: case DW_FORM_addrx2: return 2;
    case DW_FORM_strx3: case DW_FORM_addrx3: return 3;
    case DW_FORM_data4: case DW_FORM_ref4: case DW_FORM_strx4: case DW_FORM_addrx4: case DW_FORM_ref_sup4: return 4;
    case DW_FORM_data8: case DW_FORM_ref8: case DW_FORM_ref_sig8: case DW_FORM_ref_sup8: return 8;
    case DW_FORM_data16: return 16;
    case DW_FORM_addr: return static_cast<int>(u.address_size);
    case DW_FORM_ref_addr: return static_cast<int>(u.version <= 2 ? u.address_size : u.offset_size);
    case DW_FORM_strp: case DW_FORM_line_strp: case DW_FORM_sec_offset: case DW_FORM_strp_sup:
    case DW_FORM_GNU_ref_alt: case DW_FORM_GNU_strp_alt:
      return static_cast<int>(u.offset_size);
    default:
      return -1;
  }
}

}  // namespace

std::span<const uint8_t> DebugSection(Dwarf* dwarf, const char* name) { return SectionBytes(dwarf_getelf(dwarf), name); }

std::unique_ptr<DieScanner> DieScanner::Create(Dwarf* dwarf) {
  Elf* elf = dwarf_getelf(dwarf);
  std::unique_ptr<DieScanner> s(new DieScanner());
  s->info_ = SectionBytes(elf, ".debug_info");
  s->abbrev_ = SectionBytes(elf, ".debug_abbrev");
  if (s->info_.empty() || s->abbrev_.empty()) return nullptr;
  return s;
}

const DieScanner::AbbrevTable* DieScanner::Abbrevs(uint64_t offset, unsigned offset_size, unsigned address_size, unsigned version) {
  AbbrevTable& table = table_;
  bool same_shape = table.offset_size == offset_size && table.address_size == address_size && table.version == version;
  if (offset == table_offset_ && same_shape) return &table;
  table_offset_ = UINT64_MAX;
  if (offset >= abbrev_.size()) return nullptr;
  table.offset_size = offset_size;
  table.address_size = address_size;
  table.version = version;
  table.codes.assign(1, Abbrev{});
  table.specs.clear();
  UnitShape shape{offset_size, address_size, version};
  Cursor c{abbrev_.data() + offset, abbrev_.data() + abbrev_.size()};
  while (!c.bad) {
    uint64_t code = c.Uleb();
    if (code == 0 || c.bad) break;
    if (code > 100000) return nullptr;  // codes are small and dense in practice
    Abbrev a;
    a.tag = static_cast<uint32_t>(c.Uleb());
    a.children = c.Fixed(1) != 0;
    a.first_attr = static_cast<uint32_t>(table.specs.size());
    int size = 0;
    while (!c.bad) {
      uint64_t name = c.Uleb();
      uint64_t form = c.Uleb();
      if (name == 0 && form == 0) break;
      if (form == DW_FORM_implicit_const) c.Uleb();
      table.specs.push_back({static_cast<uint32_t>(name), static_cast<uint32_t>(form)});
      a.has_code |= name == DW_AT_low_pc || name == DW_AT_ranges;
      int n = size < 0 ? -1 : FixedFormSize(static_cast<uint32_t>(form), shape);
      if (n < 0) {
        size = -1;
        continue;
      }
      if (name == DW_AT_sibling && form != DW_FORM_ref_addr && form != DW_FORM_ref_sig8 && n > 0) {
        a.sibling_at = size;
        a.sibling_size = n;
      }
      size += n;
    }
    a.attr_count = static_cast<uint32_t>(table.specs.size()) - a.first_attr;
    a.fixed_size = size;
    if (size < 0) a.sibling_at = -1;
    if (table.codes.size() <= code) table.codes.resize(code + 1);
    table.codes[code] = a;
  }
  if (c.bad) return nullptr;
  table_offset_ = offset;
  return &table;
}

bool DieScanner::FunctionDies(uint64_t unit_offset, std::vector<FunctionRange>& ranges, std::vector<uint64_t>& out) {
  if (unit_offset >= info_.size()) return false;
  const uint8_t* base = info_.data();
  Cursor c{base + unit_offset, base + info_.size()};
  UnitShape u;
  uint64_t length = c.Fixed(4);
  if (length == 0xffffffff) {
    u.offset_size = 8;
    length = c.Fixed(8);
  }
  if (c.bad || length > static_cast<uint64_t>(c.end - c.p)) return false;
  const uint8_t* unit_end = c.p + length;
  c.end = unit_end;
  u.version = static_cast<unsigned>(c.Fixed(2));
  uint64_t abbrev_offset;
  if (u.version >= 5) {
    unsigned type = static_cast<unsigned>(c.Fixed(1));
    if (type != DW_UT_compile && type != DW_UT_partial) return false;
    u.address_size = static_cast<unsigned>(c.Fixed(1));
    abbrev_offset = c.Fixed(u.offset_size);
  } else if (u.version >= 2) {
    abbrev_offset = c.Fixed(u.offset_size);
    u.address_size = static_cast<unsigned>(c.Fixed(1));
  } else {
    return false;
  }
  if (c.bad || (u.address_size != 4 && u.address_size != 8)) return false;
  const AbbrevTable* abbrevs = Abbrevs(abbrev_offset, u.offset_size, u.address_size, u.version);
  if (abbrevs == nullptr) return false;
  const std::vector<Abbrev>* table = &abbrevs->codes;
  const uint8_t* unit_start = base + unit_offset;

  // Reads one DIE's attributes; returns its abbrev (null at a 0 code = end of siblings) and
  // the sibling's position when DW_AT_sibling gives it.
  bool failed = false;
  // A function DIE's pc range when it is given as DW_FORM_addr + a constant or address.
  bool pc_ok = false;
  uint64_t low_pc = 0, high_pc = 0;
  bool high_is_offset = false, have_low = false, have_high = false;
  auto read_die = [&](const Abbrev** abbrev, const uint8_t** sibling) -> bool {
    have_low = have_high = false;
    uint64_t code = c.Uleb();
    if (c.bad) return false;
    *sibling = nullptr;
    if (code == 0) {
      *abbrev = nullptr;
      return true;
    }
    if (code >= table->size() || (*table)[code].tag == 0) return false;
    const Abbrev& a = (*table)[code];
    *abbrev = &a;
    if (a.fixed_size >= 0 && !(a.tag == DW_TAG_subprogram && a.has_code)) {
      if (!c.Need(static_cast<uint64_t>(a.fixed_size))) return false;
      if (a.sibling_at >= 0) {
        uint64_t ref = 0;
        std::memcpy(&ref, c.p + a.sibling_at, static_cast<size_t>(a.sibling_size));
        if (ref < static_cast<uint64_t>(unit_end - unit_start) && unit_start + ref > c.p) *sibling = unit_start + ref;
      }
      c.p += a.fixed_size;
      return true;
    }
    for (uint32_t i = 0; i < a.attr_count; ++i) {
      const AttrSpec& spec = abbrevs->specs[a.first_attr + i];
      if (spec.name == DW_AT_sibling) {
        uint64_t ref = 0;
        switch (spec.form) {
          case DW_FORM_ref1: ref = c.Fixed(1); break;
          case DW_FORM_ref2: ref = c.Fixed(2); break;
          case DW_FORM_ref4: ref = c.Fixed(4); break;
          case DW_FORM_ref8: ref = c.Fixed(8); break;
          case DW_FORM_ref_udata: ref = c.Uleb(); break;
          default:
            if (!SkipForm(c, spec.form, u)) return false;
            continue;
        }
        if (ref < static_cast<uint64_t>(unit_end - unit_start) && unit_start + ref > c.p) *sibling = unit_start + ref;
        continue;
      }
      if (a.tag == DW_TAG_subprogram && spec.name == DW_AT_low_pc && spec.form == DW_FORM_addr) {
        low_pc = c.Fixed(u.address_size);
        have_low = true;
        continue;
      }
      if (a.tag == DW_TAG_subprogram && spec.name == DW_AT_high_pc) {
        unsigned n = spec.form == DW_FORM_addr ? u.address_size
                     : spec.form == DW_FORM_data1 ? 1 : spec.form == DW_FORM_data2 ? 2
                     : spec.form == DW_FORM_data4 ? 4 : spec.form == DW_FORM_data8 ? 8 : 0;
        if (n != 0) {
          high_pc = c.Fixed(n);
          high_is_offset = spec.form != DW_FORM_addr;
          have_high = true;
          continue;
        }
      }
      if (!SkipForm(c, spec.form, u)) return false;
    }
    pc_ok = have_low && have_high;
    return !c.bad;
  };

  // Walks a list of sibling DIEs at `depth`; collects functions, looks inside containers.
  std::vector<int> unused;
  auto walk = [&](auto&& self, int depth) -> void {
    while (!failed) {
      const uint8_t* die = c.p;
      const Abbrev* a;
      const uint8_t* sibling;
      if (!read_die(&a, &sibling)) {
        failed = true;
        return;
      }
      if (a == nullptr) return;  // end of this list
      bool container = a->tag == DW_TAG_namespace || a->tag == DW_TAG_class_type || a->tag == DW_TAG_structure_type ||
                       a->tag == DW_TAG_union_type || a->tag == DW_TAG_module;
      if (a->tag == DW_TAG_subprogram && a->has_code) {
        if (pc_ok) {
          uint64_t high = high_is_offset ? low_pc + high_pc : high_pc;
          if (high > low_pc) ranges.push_back({low_pc, high, static_cast<uint64_t>(die - base)});
        } else {
          out.push_back(static_cast<uint64_t>(die - base));
        }
      }
      if (!a->children) continue;
      if (container && depth < 32) {
        self(self, depth + 1);
      } else if (sibling != nullptr) {
        c.p = sibling;
      } else if (depth < 256) {
        // No DW_AT_sibling: step over the children one by one (nothing inside is wanted).
        size_t before = out.size();
        self(self, depth + 1);
        out.resize(before);
      } else {
        failed = true;
      }
    }
  };
  const Abbrev* cu;
  const uint8_t* sibling;
  if (!read_die(&cu, &sibling) || cu == nullptr) return false;
  if (cu->children) walk(walk, 1);
  return !failed;
}

}  // namespace exitprof::symbols
