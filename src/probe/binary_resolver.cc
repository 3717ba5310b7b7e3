#include "probe/binary_resolver.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "base/unique_fd.h"
#include "probe/frame_base.h"

namespace exitprof::probe {

namespace {

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

// DWARF register numbers on x86-64 to the names the probe tracers take.
const char* RegisterName(unsigned dwarf_reg) {
  static const char* const kNames[] = {"%ax", "%dx", "%cx", "%bx", "%si", "%di", "%bp", "%sp",
                                       "%r8", "%r9", "%r10", "%r11", "%r12", "%r13", "%r14", "%r15", "%ip"};
  return dwarf_reg < 17 ? kNames[dwarf_reg] : nullptr;
}

Dwarf_Die* StripQualifiers(Dwarf_Die* type, Dwarf_Die* out) {
  Dwarf_Die cur = *type;
  for (int i = 0; i < 16; ++i) {
    int tag = dwarf_tag(&cur);
    if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type &&
        tag != DW_TAG_restrict_type && tag != DW_TAG_atomic_type) {
      break;
    }
    Dwarf_Attribute a;
    if (!dwarf_attr_integrate(&cur, DW_AT_type, &a) || !dwarf_formref_die(&a, &cur)) return nullptr;
  }
  *out = cur;
  return out;
}

bool TypeOf(Dwarf_Die* die, Dwarf_Die* type) {
  Dwarf_Attribute a;
  Dwarf_Die raw;
  if (!dwarf_attr_integrate(die, DW_AT_type, &a) || !dwarf_formref_die(&a, &raw)) return false;
  return StripQualifiers(&raw, type) != nullptr;
}

// The tracer type perf gives a C type: s32 for int, u8 for unsigned char, x64 for pointers.
std::string TracerType(Dwarf_Die* type) {
  int tag = dwarf_tag(type);
  Dwarf_Word size = 0;
  Dwarf_Attribute a;
  if (dwarf_attr_integrate(type, DW_AT_byte_size, &a)) dwarf_formudata(&a, &size);
  if (tag == DW_TAG_pointer_type || tag == DW_TAG_reference_type) return "x64";
  if (tag == DW_TAG_enumeration_type) return "u" + std::to_string(size * 8);
  if (tag != DW_TAG_base_type || !(size == 1 || size == 2 || size == 4 || size == 8)) return "";
  Dwarf_Word encoding = 0;
  if (dwarf_attr_integrate(type, DW_AT_encoding, &a)) dwarf_formudata(&a, &encoding);
  bool is_signed = encoding == DW_ATE_signed || encoding == DW_ATE_signed_char;
  return (is_signed ? "s" : "u") + std::to_string(size * 8);
}

std::string TypeName(Dwarf_Die* die) {
  Dwarf_Attribute a;
  Dwarf_Die t;
  if (!dwarf_attr_integrate(die, DW_AT_type, &a) || !dwarf_formref_die(&a, &t)) return "void";
  int tag = dwarf_tag(&t);
  const char* name = dwarf_diename(&t);
  if (tag == DW_TAG_pointer_type) return TypeName(&t) + "*";
  if (tag == DW_TAG_const_type) return "const " + TypeName(&t);
  if (tag == DW_TAG_volatile_type) return "volatile " + TypeName(&t);
  if (tag == DW_TAG_structure_type) return std::string("struct ") + (name ? name : "");
  if (tag == DW_TAG_union_type) return std::string("union ") + (name ? name : "");
  if (tag == DW_TAG_enumeration_type) return std::string("enum ") + (name ? name : "");
  return name ? name : "?";
}

}  // namespace

struct BinaryResolver::Impl {
  std::string path;
  UniqueFd fd;
  Elf* elf = nullptr;
  Dwarf* dwarf = nullptr;  // null when the binary has no DWARF
  Dwarf_CFI* eh_frame = nullptr;  // dwarf_getcfi_elf's, ours to end
  struct Func {
    uint64_t address = 0, size = 0;
  };
  std::map<std::string, Func> functions;
  std::vector<GElf_Phdr> loads;

  ~Impl() {
    if (eh_frame) dwarf_cfi_end(eh_frame);
    if (dwarf) dwarf_end(dwarf);
    if (elf) elf_end(elf);
  }

  Result<uint64_t> FileOffset(uint64_t vaddr) const {
    for (const auto& p : loads) {
      if (vaddr >= p.p_vaddr && vaddr < p.p_vaddr + p.p_filesz) return vaddr - p.p_vaddr + p.p_offset;
    }
    return Fail(path + ": address 0x" + std::to_string(vaddr) + " is in no loadable segment");
  }

  // The compile unit whose code covers `address`: by .debug_aranges, else (clang writes none,
  // and a CU's DW_AT_ranges need not be in it) by asking each CU, as perf probe does.
  bool FindCompileUnit(uint64_t address, Dwarf_Die* cu) {
    if (!dwarf) return false;
    if (dwarf_addrdie(dwarf, address, cu)) return true;
    Dwarf_Off off = 0, next = 0;
    size_t header = 0;
    while (dwarf_nextcu(dwarf, off, &next, &header, nullptr, nullptr, nullptr) == 0) {
      if (dwarf_offdie(dwarf, off + header, cu) && dwarf_haspc(cu, address) > 0) return true;
      off = next;
    }
    return false;
  }

  // The subprogram DIE starting at `address`, with its CU.
  bool FindSubprogram(uint64_t address, Dwarf_Die* cu, Dwarf_Die* sub) {
    if (!FindCompileUnit(address, cu)) return false;
    Dwarf_Die* scopes = nullptr;
    int n = dwarf_getscopes(cu, address, &scopes);
    bool found = false;
    for (int i = 0; i < n && !found; ++i) {
      if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram) {
        *sub = scopes[i];
        found = true;
      }
    }
    free(scopes);
    return found;
  }

  // A variable or parameter visible at `address`, innermost scope first.
  bool FindVariable(Dwarf_Die* cu, uint64_t address, const std::string& name, Dwarf_Die* var) {
    Dwarf_Die* scopes = nullptr;
    int n = dwarf_getscopes(cu, address, &scopes);
    bool found = false;
    for (int i = 0; i < n && !found; ++i) {
      Dwarf_Die child;
      if (dwarf_child(&scopes[i], &child) != 0) continue;
      do {
        int tag = dwarf_tag(&child);
        if ((tag == DW_TAG_formal_parameter || tag == DW_TAG_variable) && dwarf_diename(&child) &&
            name == dwarf_diename(&child)) {
          *var = child;
          found = true;
          break;
        }
      } while (dwarf_siblingof(&child, &child) == 0);
    }
    free(scopes);
    return found;
  }

  // Where the variable is at `address`, as a fetch: "%di", "-20(%bp)". `sub` is the function
  // whose frame base DW_OP_fbreg counts from.
  Result<std::string> Locate(Dwarf_Die* sub, Dwarf_Die* var, uint64_t address, const std::string& name) {
    Dwarf_Attribute loc;
    if (!dwarf_attr_integrate(var, DW_AT_location, &loc)) {
      return Fail("variable " + Quote(name) + " has no location at this address: perhaps it has been optimized out");
    }
    Dwarf_Op* ops = nullptr;
    size_t nops = 0;
    int n = dwarf_getlocation_addr(&loc, address, &ops, &nops, 1);
    if (n <= 0 || nops == 0) {
      return Fail("failed to find the location of the " + Quote(name) +
                  " variable at this address: perhaps it has been optimized out");
    }
    const Dwarf_Op& op = ops[0];
    if (nops == 1 && op.atom >= DW_OP_reg0 && op.atom <= DW_OP_reg16) {
      if (const char* r = RegisterName(op.atom - DW_OP_reg0)) return std::string(r);
    }
    if (nops == 1 && op.atom == DW_OP_regx) {
      if (const char* r = RegisterName(static_cast<unsigned>(op.number))) return std::string(r);
    }
    if (nops == 1 && op.atom >= DW_OP_breg0 && op.atom <= DW_OP_breg16) {
      const char* r = RegisterName(op.atom - DW_OP_breg0);
      int64_t off = static_cast<int64_t>(op.number);
      if (r) return (off < 0 ? "-" + std::to_string(-off) : "+" + std::to_string(off)) + "(" + r + ")";
    }
    if (nops == 1 && op.atom == DW_OP_fbreg) {
      // The frame base where the probe is (after a prologue: %bp + 16); failing that, the
      // CFA at the function's entry, %sp + 8.
      if (!eh_frame) eh_frame = dwarf_getcfi_elf(elf);
      auto base = FrameBaseAt(dwarf_getcfi(dwarf), eh_frame, sub, address);
      const char* r = base ? RegisterName(base->dwarf_reg) : "%sp";
      int64_t off = static_cast<int64_t>(op.number) + (base ? base->offset : 8);
      if (r) return (off < 0 ? "-" + std::to_string(-off) : "+" + std::to_string(off)) + "(" + r + ")";
    }
    return Fail("variable " + Quote(name) + ": its location (DWARF op 0x" + std::to_string(op.atom) +
                ") is not one a probe can fetch (a register or register+offset)");
  }

  // An unoptimized function's parameters are stored to their stack slots by its prologue: a
  // probe on FUNC that reads variables goes after it, as perf probe places it (not for
  // FUNC+OFF, lines or return probes, which say where they want to be).
  std::optional<uint64_t> PrologueToSkip(const ProbeSpec& spec, uint64_t entry) {
    // FUNC+0 is FUNC, as perf reads it.
    if (spec.function.empty() || spec.offset.value_or(0) != 0 || spec.line || spec.is_return) return std::nullopt;
    bool reads_variables = std::any_of(spec.args.begin(), spec.args.end(), [](const ProbeArg& a) {
      return a.kind != ProbeArg::Kind::kFetch;
    });
    Dwarf_Die cu, sub;
    if (!reads_variables || !FindSubprogram(entry, &cu, &sub) || IsOptimizedCompileUnit(&cu)) return std::nullopt;
    auto it = functions.find(spec.function);
    uint64_t end = it != functions.end() && it->second.size ? entry + it->second.size : entry;
    Dwarf_Addr high = 0;
    if (dwarf_highpc(&sub, &high) == 0 && high > entry) end = high;
    return PrologueEnd(&cu, entry, end);
  }

  // "p->next.len" at address in function `sub`: the fetch and the type of the final member.
  Result<std::pair<std::string, std::string>> Fetch(Dwarf_Die* cu, Dwarf_Die* sub, uint64_t address, const std::string& expr) {
    size_t end = expr.find_first_of("-.[");
    std::string base = expr.substr(0, end);
    Dwarf_Die var;
    if (!FindVariable(cu, address, base, &var)) {
      return Fail("failed to find the location of the " + Quote(base) + " variable at this address");
    }
    auto fetch = Locate(sub, &var, address, base);
    if (!fetch) return tl::unexpected(fetch.error());
    Dwarf_Die type;
    if (!TypeOf(&var, &type)) return Fail("variable " + Quote(base) + " has no type in DWARF");
    std::string f = *fetch;
    size_t i = end == std::string::npos ? expr.size() : end;
    while (i < expr.size()) {
      bool arrow = expr.compare(i, 2, "->") == 0;
      if (!arrow && expr[i] != '.') return Fail("probe argument " + Quote(expr) + ": array elements are not supported yet");
      i += arrow ? 2 : 1;
      size_t next = expr.find_first_of("-.[", i);
      std::string member = expr.substr(i, next == std::string::npos ? std::string::npos : next - i);
      i = next == std::string::npos ? expr.size() : next;
      Dwarf_Die record = type;
      if (arrow) {
        if (dwarf_tag(&type) != DW_TAG_pointer_type || !TypeOf(&type, &record)) {
          return Fail("probe argument " + Quote(expr) + ": '->" + member + "' needs a pointer to a struct");
        }
        f = "+0(" + f + ")";
      }
      Dwarf_Die m;
      bool found = false;
      if (dwarf_child(&record, &m) == 0) {
        do {
          if (dwarf_tag(&m) == DW_TAG_member && dwarf_diename(&m) && member == dwarf_diename(&m)) {
            found = true;
            break;
          }
        } while (dwarf_siblingof(&m, &m) == 0);
      }
      if (!found) return Fail("probe argument " + Quote(expr) + ": no member " + Quote(member));
      Dwarf_Attribute a;
      Dwarf_Word off = 0;
      if (dwarf_attr_integrate(&m, DW_AT_data_member_location, &a)) dwarf_formudata(&a, &off);
      // "+0(%di)" then +off: fold into the outermost dereference.
      if (f.rfind("+0(", 0) == 0) f = "+" + std::to_string(off) + f.substr(2);
      else f = "+" + std::to_string(off) + "(" + f + ")";
      if (!TypeOf(&m, &type)) return Fail("member " + Quote(member) + " has no type");
    }
    if (end != std::string::npos && f[0] != '+' && f[0] != '-') f = "+0(" + f + ")";
    return std::make_pair(f, TracerType(&type));
  }
};

BinaryResolver::BinaryResolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BinaryResolver::~BinaryResolver() = default;

Result<std::unique_ptr<BinaryResolver>> BinaryResolver::Open(const std::string& path) {
  elf_version(EV_CURRENT);
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!impl->fd.valid()) return Fail(path + ": " + std::strerror(errno));
  impl->elf = elf_begin(impl->fd.get(), ELF_C_READ_MMAP, nullptr);
  GElf_Ehdr ehdr;
  if (!impl->elf || elf_kind(impl->elf) != ELF_K_ELF || !gelf_getehdr(impl->elf, &ehdr)) {
    return Fail(path + ": not an ELF file (expected an executable or shared library to probe)");
  }
  if (ehdr.e_machine != EM_X86_64) return Fail(path + ": not an x86-64 binary (e_machine " + std::to_string(ehdr.e_machine) + ")");
  size_t nphdr = 0;
  elf_getphdrnum(impl->elf, &nphdr);
  for (size_t i = 0; i < nphdr; ++i) {
    GElf_Phdr ph;
    if (gelf_getphdr(impl->elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD) impl->loads.push_back(ph);
  }
  // Function symbols from .symtab, else .dynsym.
  for (Elf64_Word want : {SHT_SYMTAB, SHT_DYNSYM}) {
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(impl->elf, scn)) != nullptr) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh) || sh.sh_type != want || sh.sh_entsize == 0) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      if (!data) continue;
      size_t count = sh.sh_size / sh.sh_entsize;
      for (size_t i = 0; i < count; ++i) {
        GElf_Sym sym;
        if (!gelf_getsym(data, static_cast<int>(i), &sym)) break;
        if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
        const char* name = elf_strptr(impl->elf, sh.sh_link, sym.st_name);
        if (!name || !*name) continue;
        std::string n = name;
        if (auto at = n.find('@'); at != std::string::npos) n.resize(at);
        impl->functions.emplace(n, Impl::Func{sym.st_value, sym.st_size});
      }
    }
    if (!impl->functions.empty()) break;
  }
  impl->dwarf = dwarf_begin_elf(impl->elf, DWARF_C_READ, nullptr);  // may be null: symbols only
  return std::unique_ptr<BinaryResolver>(new BinaryResolver(std::move(impl)));
}

Result<ResolvedProbe> BinaryResolver::Resolve(const ProbeSpec& spec) {
  Impl& m = *impl_;
  ResolvedProbe probe;
  probe.is_uprobe = true;
  probe.is_return = spec.is_return;
  probe.binary = m.path;
  probe.group = spec.group.empty() ? UprobeGroupFor(m.path) : spec.group;
  uint64_t address = 0;
  std::string function = spec.function;
  if (!spec.function.empty()) {
    auto it = m.functions.find(spec.function);
    if (it == m.functions.end()) {
      return Fail("probe point " + Quote(spec.function) + " not found in " + m.path +
                  " (exitprof probe -x " + m.path + " --funcs lists what can be probed)");
    }
    address = it->second.address;
    if (spec.offset) {
      if (it->second.size && *spec.offset >= it->second.size) {
        return Fail("offset " + std::to_string(*spec.offset) + " is bigger than the size of " + spec.function + " (" +
                    std::to_string(it->second.size) + " bytes)");
      }
      address += *spec.offset;
    }
    if (spec.line) {
      Dwarf_Die cu, sub;
      if (!m.FindSubprogram(it->second.address, &cu, &sub)) {
        return Fail(m.path + " has no DWARF for " + spec.function + ": line probes need debug info (build with -g)");
      }
      int decl = 0;
      dwarf_decl_line(&sub, &decl);
      int want = decl + static_cast<int>(*spec.line);
      Dwarf_Lines* lines = nullptr;
      size_t nlines = 0;
      dwarf_getsrclines(&cu, &lines, &nlines);
      std::optional<uint64_t> best;
      for (size_t i = 0; i < nlines; ++i) {
        Dwarf_Line* l = dwarf_onesrcline(lines, i);
        int lineno = 0;
        Dwarf_Addr a = 0;
        bool stmt = false;
        dwarf_lineno(l, &lineno);
        dwarf_lineaddr(l, &a);
        dwarf_linebeginstatement(l, &stmt);
        // perf takes the line anywhere in the CU (a relative line past the function's end lands
        // in the next function); so do we, at the line's first address.
        if (lineno == want && stmt && (!best || a < *best)) {
          best = a;
        }
      }
      if (!best) return Fail(spec.function + ":" + std::to_string(*spec.line) + " (line " + std::to_string(want) + ") has no code to probe");
      address = *best;
    }
  } else if (!spec.source.empty() && spec.line) {
    if (!m.dwarf) return Fail(m.path + " has no DWARF: SRC:LINE probes need debug info (build with -g)");
    std::optional<uint64_t> best;
    Dwarf_Off off = 0, next = 0;
    size_t hsize = 0;
    while (!best && dwarf_nextcu(m.dwarf, off, &next, &hsize, nullptr, nullptr, nullptr) == 0) {
      Dwarf_Die cu;
      if (dwarf_offdie(m.dwarf, off + hsize, &cu)) {
        Dwarf_Lines* lines = nullptr;
        size_t nlines = 0;
        if (dwarf_getsrclines(&cu, &lines, &nlines) == 0) {
          for (size_t i = 0; i < nlines; ++i) {
            Dwarf_Line* l = dwarf_onesrcline(lines, i);
            int lineno = 0;
            dwarf_lineno(l, &lineno);
            const char* file = dwarf_linesrc(l, nullptr, nullptr);
            if (lineno != static_cast<int>(*spec.line) || !file) continue;
            std::string_view f(file);
            if (f.size() < spec.source.size() || f.substr(f.size() - spec.source.size()) != spec.source) continue;
            bool stmt = false;
            dwarf_linebeginstatement(l, &stmt);
            Dwarf_Addr a = 0;
            dwarf_lineaddr(l, &a);
            if (stmt && (!best || a < *best)) best = a;
          }
        }
      }
      off = next;
    }
    if (!best) return Fail(spec.source + ":" + std::to_string(*spec.line) + " not found in " + m.path + "'s line tables");
    address = *best;
    for (const auto& [name, f] : m.functions) {
      if (address >= f.address && address < f.address + f.size) function = name;
    }
  } else {
    return Fail("probe " + Quote(spec.text) + ": give a function (or SRC:LINE) to probe; lazy patterns are not supported yet");
  }
  if (auto end = m.PrologueToSkip(spec, address); end && *end != address) {
    probe.note = spec.function + " was compiled without optimization: probing after its prologue (" +
                 fmt::format("{:#x}", *end) + "), where its parameters have been stored; at the entry they are " +
                 "in registers (fetch %di, %si ...)";
    address = *end;
  }
  auto file_offset = m.FileOffset(address);
  if (!file_offset) return tl::unexpected(file_offset.error());
  probe.file_offset = *file_offset;
  ProbeSpec named = spec;
  named.function = function;
  if (spec.function.empty()) named.line.reset();  // SRC:LINE probes are named by their function
  probe.event = DefaultEventName(named);

  Dwarf_Die cu, sub;
  bool have_dwarf = m.dwarf && m.FindSubprogram(address, &cu, &sub);
  auto add_variable = [&](const std::string& expr, const std::string& name, const std::string& type) -> Result<void> {
    if (!have_dwarf) return Fail(m.path + " has no DWARF at this address: variable " + Quote(expr) + " cannot be located (build with -g, or fetch registers: %di)");
    auto fetch = m.Fetch(&cu, &sub, address, expr);
    if (!fetch) return tl::unexpected(fetch.error());
    ResolvedProbe::Arg arg;
    std::string clean = expr;
    for (size_t p; (p = clean.find("->")) != std::string::npos;) clean.replace(p, 2, "_");
    std::replace(clean.begin(), clean.end(), '.', '_');
    arg.name = !name.empty() ? name : (type.empty() ? clean : clean + "_" + type);
    arg.fetch = fetch->first;
    arg.type = type.empty() ? fetch->second : type;
    if (type == "string" && arg.fetch[0] != '+' && arg.fetch[0] != '-') arg.fetch = "+0(" + arg.fetch + ")";
    probe.args.push_back(arg);
    return {};
  };
  for (const auto& a : spec.args) {
    switch (a.kind) {
      case ProbeArg::Kind::kFetch: {
        if (auto ok = CheckFetch(a.expr, spec.is_return, true); !ok) return tl::unexpected(ok.error());
        if (auto ok = CheckType(a.type); !ok) return tl::unexpected(ok.error());
        probe.args.push_back({a.name, a.expr, a.type});
        break;
      }
      case ProbeArg::Kind::kVariable: {
        if (spec.is_return) return Fail("variables cannot be fetched in a return probe (use $retval)");
        if (auto ok = CheckType(a.type); !ok) return tl::unexpected(ok.error());
        if (auto ok = add_variable(a.expr, a.name, a.type); !ok) return tl::unexpected(ok.error());
        break;
      }
      case ProbeArg::Kind::kAllParams:
      case ProbeArg::Kind::kAllVars: {
        if (!have_dwarf) return Fail(m.path + " has no DWARF: " + a.expr + " needs debug info");
        Dwarf_Die child;
        if (dwarf_child(&sub, &child) == 0) {
          do {
            int tag = dwarf_tag(&child);
            bool wanted = tag == DW_TAG_formal_parameter || (a.kind == ProbeArg::Kind::kAllVars && tag == DW_TAG_variable);
            if (wanted && dwarf_diename(&child)) {
              // Variables without a location here are skipped, as perf does.
              (void)add_variable(dwarf_diename(&child), "", "");
            }
          } while (dwarf_siblingof(&child, &child) == 0);
        }
        break;
      }
    }
  }
  return probe;
}

std::vector<std::string> BinaryResolver::Functions(const std::string& glob) const {
  std::vector<std::string> out;
  for (const auto& [name, f] : impl_->functions) {
    if (glob.empty() ? name[0] != '_' : GlobMatch(glob, name)) out.push_back(name);
  }
  return out;
}

Result<BinaryResolver::FunctionDies> BinaryResolver::FunctionWithDwarf(const std::string& function) {
  Impl& m = *impl_;
  auto it = m.functions.find(function);
  if (it == m.functions.end()) return Fail("function " + Quote(function) + " not found in " + m.path);
  FunctionDies f{it->second.address, it->second.size, {}, {}};
  if (!m.FindSubprogram(f.address, &f.cu, &f.sub)) return Fail(m.path + " has no DWARF for " + function);
  return f;
}

Result<std::string> BinaryResolver::Variables(const std::string& function) {
  auto f = FunctionWithDwarf(function);
  if (!f) return tl::unexpected(f.error());
  Dwarf_Die sub = f->sub;
  std::string out = "Available variables at " + function + "\n        @<" + function + "+0>\n";
  Dwarf_Die child;
  if (dwarf_child(&sub, &child) == 0) {
    do {
      int tag = dwarf_tag(&child);
      if ((tag == DW_TAG_formal_parameter || tag == DW_TAG_variable) && dwarf_diename(&child)) {
        out += "                " + TypeName(&child) + "\t" + dwarf_diename(&child) + "\n";
      }
    } while (dwarf_siblingof(&child, &child) == 0);
  }
  return out;
}

Result<std::string> BinaryResolver::Lines(const std::string& function) {
  auto f = FunctionWithDwarf(function);
  if (!f) return tl::unexpected(f.error());
  Dwarf_Die cu = f->cu, sub = f->sub;
  int decl = 0;
  dwarf_decl_line(&sub, &decl);
  Dwarf_Lines* lines = nullptr;
  size_t nlines = 0;
  dwarf_getsrclines(&cu, &lines, &nlines);
  std::set<int> with_code;
  for (size_t i = 0; i < nlines; ++i) {
    Dwarf_Line* l = dwarf_onesrcline(lines, i);
    Dwarf_Addr a = 0;
    int lineno = 0;
    dwarf_lineaddr(l, &a);
    dwarf_lineno(l, &lineno);
    if (a >= f->address && a < f->address + f->size && lineno >= decl) with_code.insert(lineno);
  }
  std::string out = "<" + function + "@" + (dwarf_decl_file(&sub) ? dwarf_decl_file(&sub) : "?") + ":" + std::to_string(decl) + ">\n";
  for (int line : with_code) out += "      " + std::to_string(line - decl) + "  (line " + std::to_string(line) + ")\n";
  return out;
}

bool GlobMatch(std::string_view p, std::string_view t) {
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti]) && p[pi] != '[') {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '[') {
      size_t close = p.find(']', pi + 1);
      if (close == std::string_view::npos) return false;
      std::string_view set = p.substr(pi + 1, close - pi - 1);
      bool negate = !set.empty() && set[0] == '!';
      if (negate) set.remove_prefix(1);
      bool in = false;
      for (size_t i = 0; i < set.size(); ++i) {
        if (i + 2 < set.size() && set[i + 1] == '-') {
          if (t[ti] >= set[i] && t[ti] <= set[i + 2]) in = true;
          i += 2;
        } else if (set[i] == t[ti]) {
          in = true;
        }
      }
      if (in != negate) {
        pi = close + 1;
        ++ti;
      } else if (star != std::string_view::npos) {
        pi = star + 1;
        ti = ++mark;
      } else {
        return false;
      }
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace exitprof::probe
