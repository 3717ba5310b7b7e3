#include "symbols/elf_symbolizer.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>

#include "base/unique_fd.h"
#include "symbols/die_scanner.h"
#include "symbols/elf_symbol_table.h"
#include "symbols/line_table.h"

namespace exitprof::symbols {

namespace {

// A top-level function of a compile unit: its DIE and one of its address ranges.
struct FunctionRange {
  uint64_t low = 0, high = 0;
  Dwarf_Off die = 0;
};

struct CompileUnit {
  uint64_t low = 0, high = 0;  // one of the unit's ranges
  Dwarf_Off die = 0;
};

struct UnitIndex {
  bool built = false;
  std::vector<FunctionRange> functions;  // sorted by low
  bool names_from_symbols = false;       // a mangling language (C++...): see FunctionName's caller
  Dwarf_Lines* lines = nullptr;          // owned by libdw
  size_t line_count = 0;
  bool dwarf5 = false;
  std::optional<LineTable> table;  // decoded here; when not, libdw's `lines` are used
};

// Languages whose DW_AT_name is not the linkage name; bfd (binutils' dwarf2.c) then names
// functions after the ELF symbol at their start (C, assembler: never).
bool MangledLanguage(int lang) {
  switch (lang) {
    case DW_LANG_C89: case DW_LANG_C: case DW_LANG_C99: case DW_LANG_C11:
    case DW_LANG_Mips_Assembler: case DW_LANG_UPC: case -1:
      return false;
    default:
      return true;
  }
}

bool EndsSequence(Dwarf_Line* line) {
  bool end = false;
  dwarf_lineendsequence(line, &end);
  return end;
}

size_t FileIndex(Dwarf_Line* line) {
  Dwarf_Files* files;
  size_t index = 0;
  if (dwarf_line_file(line, &files, &index) != 0) return SIZE_MAX;
  return index;
}

// Whether addr2line attributes this row to file 0: a DWARF 5 row that still has the initial
// file register (bfd starts it at 0 where the standard says 1), i.e. file 1 with no other
// file earlier in its sequence.
bool HasInitialFile(const UnitIndex& index, size_t row) {
  if (!index.dwarf5) return false;
  for (size_t i = row + 1; i-- > 0;) {
    Dwarf_Line* line = dwarf_onesrcline(index.lines, i);
    if (i != row && EndsSequence(line)) return true;  // the previous sequence ended
    if (FileIndex(line) != 1) return false;
  }
  return true;
}

const char* StringAttr(Dwarf_Die* die, int name) {
  Dwarf_Attribute attr;
  if (dwarf_attr_integrate(die, name, &attr) == nullptr) return nullptr;
  return dwarf_formstring(&attr);
}

// The name addr2line prints for a function DIE: the linkage name when there is one
// (mangled C++), else DW_AT_name, following abstract origins and specifications.
const char* FunctionName(Dwarf_Die* die) {
  const char* name = StringAttr(die, DW_AT_linkage_name);
  if (name == nullptr) name = StringAttr(die, DW_AT_MIPS_linkage_name);
  if (name == nullptr) name = StringAttr(die, DW_AT_name);
  return name;
}

// Where a function DIE starts: DW_AT_low_pc, or its first range.
uint64_t LowPc(Dwarf_Die* die) {
  Dwarf_Addr low = 0, base, high;
  if (dwarf_lowpc(die, &low) == 0) return low;
  if (dwarf_ranges(die, 0, &base, &low, &high) > 0) return low;
  return 0;
}

bool HasLinkageName(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  return dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) != nullptr ||
         dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr) != nullptr;
}

bool HasPc(Dwarf_Die* die, uint64_t address) { return dwarf_haspc(die, address) == 1; }

bool HasRanges(Dwarf_Die* die) {
  return dwarf_hasattr(die, DW_AT_low_pc) || dwarf_hasattr(die, DW_AT_ranges);
}

// Finds, below `parent`, the inlined subroutine that contains `address`, looking through
// lexical blocks (they hold inlined calls too).
bool FindInlinedChild(Dwarf_Die* parent, uint64_t address, Dwarf_Die* out, int depth = 0) {
  if (depth > 64) return false;  // hostile nesting
  Dwarf_Die child;
  if (dwarf_child(parent, &child) != 0) return false;
  do {
    int tag = dwarf_tag(&child);
    if (tag == DW_TAG_inlined_subroutine) {
      if (HasPc(&child, address)) {
        *out = child;
        return true;
      }
    } else if (tag == DW_TAG_lexical_block || tag == DW_TAG_try_block || tag == DW_TAG_catch_block) {
      if ((!HasRanges(&child) || HasPc(&child, address)) && FindInlinedChild(&child, address, out, depth + 1)) return true;
    }
  } while (dwarf_siblingof(&child, &child) == 0);
  return false;
}

// Top-level functions (also those inside namespaces and classes) with their ranges.
void CollectFunctions(Dwarf_Die* parent, std::vector<FunctionRange>& out, int depth = 0) {
  if (depth > 32) return;
  Dwarf_Die child;
  if (dwarf_child(parent, &child) != 0) return;
  do {
    int tag = dwarf_tag(&child);
    if (tag == DW_TAG_subprogram) {
      if (!HasRanges(&child)) continue;
      Dwarf_Addr base, low, high;
      ptrdiff_t offset = 0;
      while ((offset = dwarf_ranges(&child, offset, &base, &low, &high)) > 0) {
        if (high > low) out.push_back({low, high, dwarf_dieoffset(&child)});
      }
    } else if (tag == DW_TAG_namespace || tag == DW_TAG_class_type || tag == DW_TAG_structure_type ||
               tag == DW_TAG_union_type || tag == DW_TAG_module) {
      if (dwarf_haschildren(&child)) CollectFunctions(&child, out, depth + 1);
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

// A source file name as addr2line (bfd) prints it: a relative name (libdw joins only the
// line table's own directories) goes below the unit's DW_AT_comp_dir, even a relative one
// (Debian's kernels are built with a relative comp_dir).
std::string SourcePath(const char* file, const char* comp_dir) {
  if (file == nullptr) return "";
  if (file[0] == '/' || comp_dir == nullptr || comp_dir[0] == '\0') return file;
  std::string out(comp_dir);
  out += '/';
  out += file;
  return out;
}

}  // namespace

struct ElfSymbolizer::Impl {
  Dwfl_Callbacks callbacks{};
  std::string debuginfo_path;
  char* debuginfo_path_ptr = nullptr;
  Dwfl* dwfl = nullptr;
  Dwfl_Module* module = nullptr;
  Dwarf* dwarf = nullptr;
  Dwarf_Addr dwarf_bias = 0, elf_bias = 0;
  std::vector<CompileUnit> units;  // sorted by low
  std::unordered_map<Dwarf_Off, UnitIndex> unit_index;
  std::unique_ptr<ElfSymbolTable> symtab;
  std::unique_ptr<DieScanner> scanner;  // null: libdw walks the DIEs
  LineSections line_sections;

  ~Impl() {
    if (dwfl) dwfl_end(dwfl);
  }

  void IndexUnits() {
    Dwarf_Off offset = 0, next;
    size_t header_size;
    while (dwarf_nextcu(dwarf, offset, &next, &header_size, nullptr, nullptr, nullptr) == 0) {
      Dwarf_Die cu;
      if (dwarf_offdie(dwarf, offset + header_size, &cu) != nullptr) {
        Dwarf_Addr base, low, high;
        ptrdiff_t r = 0;
        while ((r = dwarf_ranges(&cu, r, &base, &low, &high)) > 0) {
          if (high > low) units.push_back({low, high, dwarf_dieoffset(&cu)});
        }
      }
      offset = next;
    }
    std::sort(units.begin(), units.end(), [](const CompileUnit& a, const CompileUnit& b) { return a.low < b.low; });
  }

  // The compile unit whose ranges hold the address (the smallest when they overlap).
  bool FindUnit(uint64_t address, Dwarf_Die* out) {
    auto it = std::upper_bound(units.begin(), units.end(), address,
                               [](uint64_t a, const CompileUnit& u) { return a < u.low; });
    const CompileUnit* best = nullptr;
    for (int steps = 0; it != units.begin() && steps < 64; ++steps) {
      --it;
      if (address < it->high && (best == nullptr || it->high - it->low < best->high - best->low)) best = &*it;
    }
    if (best == nullptr) return false;
    return dwarf_offdie(dwarf, best->die, out) != nullptr;
  }

  const UnitIndex& IndexOf(Dwarf_Die* cu) {
    UnitIndex& index = unit_index[dwarf_dieoffset(cu)];
    if (!index.built) {
      index.built = true;
      std::vector<uint64_t> dies;
      std::vector<DieScanner::FunctionRange> direct;
      uint64_t header = dwarf_dieoffset(cu) - dwarf_cuoffset(cu);
      if (scanner && scanner->FunctionDies(header, direct, dies)) {
        for (const auto& f : direct) index.functions.push_back({f.low, f.high, f.die});
        for (uint64_t off : dies) {
          Dwarf_Die fn;
          if (dwarf_offdie(dwarf, off, &fn) == nullptr) continue;
          Dwarf_Addr base, low, high;
          ptrdiff_t r = 0;
          while ((r = dwarf_ranges(&fn, r, &base, &low, &high)) > 0) {
            if (high > low) index.functions.push_back({low, high, off});
          }
        }
      } else {
        index.functions.clear();
        CollectFunctions(cu, index.functions);
      }
      std::sort(index.functions.begin(), index.functions.end(),
                [](const FunctionRange& a, const FunctionRange& b) { return a.low < b.low; });
      index.names_from_symbols = MangledLanguage(dwarf_srclang(cu));
      Dwarf_Half version = 0;
      Dwarf_Attribute stmt;
      Dwarf_Word stmt_offset = 0;
      uint8_t address_size = 8;
      if (!line_sections.line.empty() && dwarf_attr(cu, DW_AT_stmt_list, &stmt) && dwarf_formudata(&stmt, &stmt_offset) == 0 &&
          dwarf_cu_info(cu->cu, nullptr, nullptr, nullptr, nullptr, nullptr, &address_size, nullptr) == 0) {
        Dwarf_Attribute comp_dir_attr;
        const char* comp_dir = dwarf_attr(cu, DW_AT_comp_dir, &comp_dir_attr) ? dwarf_formstring(&comp_dir_attr) : nullptr;
        index.table = LineTable::Decode(line_sections, stmt_offset, address_size, comp_dir);
      }
      if (index.table) {
        // Decoded here: libdw's copy is not needed.
      } else if (dwarf_getsrclines(cu, &index.lines, &index.line_count) != 0) {
        index.lines = nullptr;
        index.line_count = 0;
      } else {
        index.dwarf5 = dwarf_cu_info(cu->cu, &version, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr) == 0 && version >= 5;
      }
    }
    return index;
  }

  // The row addr2line uses: the last one at or below the address that does not end a
  // sequence (as dwarf_getsrc_die picks it), with its index.
  Dwarf_Line* FindLine(const UnitIndex& index, uint64_t address, size_t* at) {
    size_t lo = 0, hi = index.line_count;  // first row above the address
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      Dwarf_Addr a = 0;
      dwarf_lineaddr(dwarf_onesrcline(index.lines, mid), &a);
      if (a <= address) lo = mid + 1;
      else hi = mid;
    }
    if (lo == 0) return nullptr;
    Dwarf_Line* line = dwarf_onesrcline(index.lines, lo - 1);
    if (line == nullptr || EndsSequence(line)) return nullptr;
    *at = lo - 1;
    return line;
  }

  // The smallest top-level function range holding the address.
  bool FindFunction(Dwarf_Die* cu, uint64_t address, Dwarf_Die* out) {
    const auto& fns = IndexOf(cu).functions;
    auto it = std::upper_bound(fns.begin(), fns.end(), address,
                               [](uint64_t a, const FunctionRange& f) { return a < f.low; });
    const FunctionRange* best = nullptr;
    for (int steps = 0; it != fns.begin() && steps < 32; ++steps) {
      --it;
      if (address < it->high && (best == nullptr || it->high - it->low < best->high - best->low)) best = &*it;
    }
    if (best == nullptr) return false;
    return dwarf_offdie(dwarf, best->die, out) != nullptr;
  }
};

ElfSymbolizer::~ElfSymbolizer() = default;

Result<std::unique_ptr<ElfSymbolizer>> ElfSymbolizer::Open(const std::string& path, const SymbolizerOptions& options) {
  {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Fail(path + ": cannot open: " + std::strerror(errno));
    unsigned char ident[20] = {};
    ssize_t n = ::pread(fd.get(), ident, sizeof ident, 0);
    if (n < 4 || std::memcmp(ident, "\x7f" "ELF", 4) != 0) {
      char boot[4] = {};
      bool bzimage = ::pread(fd.get(), boot, sizeof boot, 0x202) == 4 && std::memcmp(boot, "HdrS", 4) == 0;
      return Fail(path + ": not an ELF file (expected the bytes 7f 45 4c 46 at offset 0)" +
                  (bzimage ? std::string("; this is a compressed kernel (bzImage): use the vmlinux with symbols, e.g. Debian's linux-image-*-dbg /usr/lib/debug/boot/vmlinux-*") : std::string()));
    }
    if (n < 20) return Fail(path + ": truncated ELF file (" + std::to_string(n) + " bytes, expected an ELF header)");
  }
  std::unique_ptr<ElfSymbolizer> s(new ElfSymbolizer());
  s->path_ = path;
  s->impl_ = std::make_unique<Impl>();
  Impl& impl = *s->impl_;
  // Debug directories first, then elfutils' default: beside the file, .debug/, /usr/lib/debug.
  impl.debuginfo_path = "-";
  for (const auto& dir : options.debug_dirs) impl.debuginfo_path += ":" + dir;
  impl.debuginfo_path += ":.debug:/usr/lib/debug";
  impl.debuginfo_path_ptr = impl.debuginfo_path.data();
  impl.callbacks.find_elf = dwfl_build_id_find_elf;
  impl.callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
  impl.callbacks.section_address = dwfl_offline_section_address;
  impl.callbacks.debuginfo_path = &impl.debuginfo_path_ptr;
  impl.dwfl = dwfl_begin(&impl.callbacks);
  if (impl.dwfl == nullptr) return Fail(path + ": " + dwfl_errmsg(-1), 1);
  impl.module = dwfl_report_offline(impl.dwfl, path.c_str(), path.c_str(), -1);
  if (impl.module == nullptr) return Fail(path + ": cannot read the ELF file: " + dwfl_errmsg(-1));
  dwfl_report_end(impl.dwfl, nullptr, nullptr);
  Elf* elf = dwfl_module_getelf(impl.module, &impl.elf_bias);
  if (elf == nullptr) return Fail(path + ": cannot read the ELF file: " + dwfl_errmsg(-1));
  GElf_Ehdr ehdr;
  if (gelf_getehdr(elf, &ehdr) == nullptr) return Fail(path + ": truncated or damaged ELF header");
  s->machine_ = ehdr.e_machine;
  {
    struct stat st;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    uint64_t table_end = ehdr.e_shoff + static_cast<uint64_t>(ehdr.e_shnum) * ehdr.e_shentsize;
    if (fd.valid() && ::fstat(fd.get(), &st) == 0 && ehdr.e_shoff != 0 && table_end > static_cast<uint64_t>(st.st_size)) {
      return Fail(path + ": truncated ELF file: its section headers end at offset " + std::to_string(table_end) +
                  ", the file has " + std::to_string(st.st_size) + " bytes");
    }
  }
  impl.symtab = std::make_unique<ElfSymbolTable>(elf);
  impl.dwarf = dwfl_module_getdwarf(impl.module, &impl.dwarf_bias);
  if (impl.dwarf == nullptr) {
    s->warning_ = path + ": no DWARF debug info (" + dwfl_errmsg(-1) +
                  "; stripped, or its debug file was not found: try --debug-dir): showing ELF symbols only";
  } else {
    s->has_dwarf_ = true;
    const char* debug_file = nullptr;
    dwfl_module_info(impl.module, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, &debug_file);
    if (debug_file) s->debug_file_ = debug_file;
    impl.IndexUnits();
    impl.scanner = DieScanner::Create(impl.dwarf);
    impl.line_sections = {DebugSection(impl.dwarf, ".debug_line"), DebugSection(impl.dwarf, ".debug_line_str"),
                          DebugSection(impl.dwarf, ".debug_str")};
  }
  if (!s->has_dwarf_ && impl.symtab->size() == 0) {
    return Fail(path + ": nothing to symbolize with: no DWARF debug info and no symbol table (fully stripped? give its debug file with --debug-dir)");
  }
  (void)options.inlines;
  return s;
}

Symbolized ElfSymbolizer::Compute(uint64_t address) {
  Impl& impl = *impl_;
  Symbolized out;
  // As addr2line: nothing outside the file's allocated sections.
  if (!impl.symtab->SectionOf(address)) return out;
  auto hit = impl.symtab->Find(address);
  bool symbol_lookup = false;  // whether addr2line would consult the symbol table here
  if (hit) {
    out.symbol = hit->name;
    out.symbol_offset = address - hit->value;
  }
  Dwarf_Die cu;
  if (impl.dwarf != nullptr && impl.FindUnit(address, &cu)) {
    Frame innermost;
    Dwarf_Attribute comp_dir_attr;
    const char* comp_dir = dwarf_attr(&cu, DW_AT_comp_dir, &comp_dir_attr) ? dwarf_formstring(&comp_dir_attr) : nullptr;
    const UnitIndex& unit = impl.IndexOf(&cu);
    size_t row = 0;
    if (unit.table) {
      if (const LineTable::Row* found = unit.table->Find(address)) {
        innermost.line = found->line;
        innermost.file = unit.table->File(found->file);
        innermost.discriminator = found->discriminator;
      }
    } else if (Dwarf_Line* line = impl.FindLine(unit, address, &row)) {
      int lineno = 0;
      dwarf_lineno(line, &lineno);
      innermost.line = static_cast<uint32_t>(lineno);
      const char* file = dwarf_linesrc(line, nullptr, nullptr);
      Dwarf_Files* files = nullptr;
      size_t index = 0;
      if (HasInitialFile(unit, row) && dwarf_line_file(line, &files, &index) == 0) {
        file = dwarf_filesrc(files, 0, nullptr, nullptr);
      }
      innermost.file = SourcePath(file, comp_dir);
      unsigned disc = 0;
      dwarf_linediscriminator(line, &disc);
      innermost.discriminator = disc;
    }
    // Outermost first: the function, then each inlined call inside it.
    std::vector<Dwarf_Die> chain;
    Dwarf_Die fn;
    if (impl.FindFunction(&cu, address, &fn)) {
      chain.push_back(fn);
      Dwarf_Die inner;
      while (chain.size() < 256 && FindInlinedChild(&chain.back(), address, &inner)) chain.push_back(inner);
    }
    Dwarf_Files* files = nullptr;
    size_t nfiles = 0;
    if (chain.size() > 1 && !unit.table) dwarf_getsrcfiles(&cu, &files, &nfiles);
    for (size_t i = chain.size(); i-- > 0;) {
      Frame f;
      if (i + 1 == chain.size()) {
        f = innermost;
      } else {
        // This function's position is where the next-inner one was inlined.
        Dwarf_Die& callee = chain[i + 1];
        Dwarf_Attribute attr;
        Dwarf_Word value;
        if (dwarf_attr(&callee, DW_AT_call_line, &attr) && dwarf_formudata(&attr, &value) == 0) f.line = static_cast<uint32_t>(value);
        if (unit.table && dwarf_attr(&callee, DW_AT_call_file, &attr) && dwarf_formudata(&attr, &value) == 0) {
          f.file = unit.table->File(value);
        } else if (files && dwarf_attr(&callee, DW_AT_call_file, &attr) && dwarf_formudata(&attr, &value) == 0 && value < nfiles) {
          f.file = SourcePath(dwarf_filesrc(files, value, nullptr, nullptr), comp_dir);
        }
        f.discriminator = innermost.discriminator;
      }
      const char* name = FunctionName(&chain[i]);
      if (unit.names_from_symbols && !HasLinkageName(&chain[i])) {
        if (i + 1 == chain.size()) symbol_lookup = true;
        // addr2line (bfd) names the innermost function without a linkage name after the
        // ELF symbol that starts where it starts (a clone's "foo.constprop.0"), once it has
        // looked it up; see docs/SYMBOLIZE.md for its first-lookup quirk.
        if (auto at = impl.symtab->StartingAt(LowPc(&chain[i]))) name = at->name;
      }
      if (name) f.function = name;
      out.frames.push_back(std::move(f));
    }
    if (out.frames.empty() && (innermost.line != 0 || !out.symbol.empty())) {
      symbol_lookup = true;  // no DWARF function: the name comes from the symbol table
      innermost.function = out.symbol;
      out.frames.push_back(innermost);
    }
  }
  if (out.frames.empty() && !out.symbol.empty()) {
    symbol_lookup = true;
    Frame f;
    f.function = out.symbol;
    out.frames.push_back(f);
  }
  // Only when addr2line looks at the symbol table does it take a file from it.
  if (symbol_lookup && !out.frames.empty() && out.frames.front().file.empty() && hit && hit->file) {
    out.frames.front().file = hit->file;
  }
  out.found = !out.frames.empty();
  return out;
}

const Symbolized& ElfSymbolizer::Symbolize(uint64_t address) {
  auto it = cache_.find(address);
  if (it != cache_.end()) return it->second;
  return cache_.emplace(address, Compute(address)).first->second;
}

// Maps the debug sections' pages in one call each instead of one fault per page: worth it
// when many addresses will touch most of them.
void Prefault(std::span<const uint8_t> bytes) {
#ifdef MADV_POPULATE_READ
  if (bytes.empty()) return;
  uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t begin = reinterpret_cast<uintptr_t>(bytes.data()) & ~(page - 1);
  uintptr_t end = reinterpret_cast<uintptr_t>(bytes.data()) + bytes.size();
  (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_READ);  // old kernels: EINVAL, harmless
#else
  (void)bytes;
#endif
}

std::vector<const Symbolized*> ElfSymbolizer::SymbolizeBatch(std::span<const uint64_t> addresses) {
  if (addresses.size() >= 4096 && impl_->dwarf != nullptr) {
    for (const char* name : {".debug_info", ".debug_abbrev", ".debug_line", ".debug_str", ".debug_line_str", ".debug_rnglists"})
      Prefault(DebugSection(impl_->dwarf, name));
  }
  std::vector<uint64_t> sorted(addresses.begin(), addresses.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  cache_.reserve(cache_.size() + sorted.size());
  for (uint64_t a : sorted) Symbolize(a);
  std::vector<const Symbolized*> out;
  out.reserve(addresses.size());
  for (uint64_t a : addresses) out.push_back(&cache_.find(a)->second);
  return out;
}

std::optional<uint64_t> ElfSymbolizer::SymbolAddress(const std::string& name) const {
  return impl_->symtab->AddressOf(name);
}

std::string Demangle(const std::string& name) {
  if (name.size() < 2 || name[0] != '_' || name[1] != 'Z') return name;
  int status = 0;
  char* out = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  if (status != 0 || out == nullptr) return name;
  std::string result(out);
  std::free(out);
  return result;
}

}  // namespace exitprof::symbols
