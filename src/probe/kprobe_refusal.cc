#include "probe/kprobe_refusal.h"

#include <fcntl.h>
#include <gelf.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>

#include "base/unique_fd.h"
#include "symbols/elf_symbol_table.h"

namespace exitprof::probe {

KernelFunctionLists ReadKernelFunctionLists(const std::string& filter_functions_path, const std::string& blacklist_path) {
  KernelFunctionLists lists;
  std::ifstream traceable(filter_functions_path);
  // An unreadable tracefs file (EPERM under lockdown) opens but fails at the first read.
  std::string line;
  if (traceable && std::getline(traceable, line)) {
    lists.traceable.emplace();
    do {
      lists.traceable->insert(line.substr(0, line.find(' ')));
    } while (std::getline(traceable, line));
  }
  std::ifstream blacklist(blacklist_path);
  while (std::getline(blacklist, line)) {
    size_t tab = line.find_first_of("\t ");
    if (tab != std::string::npos) lists.blacklisted.insert(line.substr(tab + 1, line.find_first_of("\t ", tab + 1) - tab - 1));
  }
  return lists;
}

namespace {

// A linked image (vmlinux, a program): E8 (call) and E9 (jmp, a tail call) with a 32-bit
// displacement. Bytes are not decoded as instructions: a match must land exactly on the function
// and start inside a function symbol.
void CallersInImage(Elf* elf, uint64_t target, const std::string& function, std::set<std::string>& callers) {
  symbols::ElfSymbolTable symbols(elf);
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR)) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || !data->d_buf || data->d_size < 5) continue;
    const auto* code = static_cast<const uint8_t*>(data->d_buf);
    for (size_t i = 0; i + 5 <= data->d_size; ++i) {
      if (code[i] != 0xe8 && code[i] != 0xe9) continue;
      int32_t rel;
      std::memcpy(&rel, code + i + 1, 4);
      const uint64_t at = sh.sh_addr + i;
      if (at + 5 + static_cast<int64_t>(rel) != target) continue;
      auto hit = symbols.Find(at);
      if (hit && hit->name && function != hit->name && at < hit->value + std::max<uint64_t>(hit->size, 1)) callers.insert(hit->name);
    }
  }
}

// A kernel module (.ko, relocatable): its calls to kernel functions are relocations (PLT32/PC32)
// against the function's name at a call or jmp; the caller is the function symbol around it.
void CallersInModule(Elf* elf, const std::string& function, std::set<std::string>& callers) {
  Elf_Scn* symtab = nullptr;
  GElf_Shdr symtab_sh{};
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    if (gelf_getshdr(scn, &symtab_sh) && symtab_sh.sh_type == SHT_SYMTAB) {
      symtab = scn;
      break;
    }
  }
  if (!symtab) return;
  Elf_Data* syms = elf_getdata(symtab, nullptr);
  if (!syms) return;
  const size_t nsyms = symtab_sh.sh_entsize ? symtab_sh.sh_size / symtab_sh.sh_entsize : 0;
  auto name_of = [&](size_t i, GElf_Sym& sym) -> const char* {
    if (!gelf_getsym(syms, static_cast<int>(i), &sym)) return nullptr;
    return elf_strptr(elf, symtab_sh.sh_link, sym.st_name);
  };
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr rela_sh;
    if (!gelf_getshdr(scn, &rela_sh) || rela_sh.sh_type != SHT_RELA) continue;
    Elf_Scn* code_scn = elf_getscn(elf, rela_sh.sh_info);
    GElf_Shdr code_sh;
    if (!code_scn || !gelf_getshdr(code_scn, &code_sh) || !(code_sh.sh_flags & SHF_EXECINSTR)) continue;
    Elf_Data* rela = elf_getdata(scn, nullptr);
    Elf_Data* code = elf_getdata(code_scn, nullptr);
    if (!rela || !code || !code->d_buf) continue;
    const size_t n = rela_sh.sh_entsize ? rela_sh.sh_size / rela_sh.sh_entsize : 0;
    for (size_t i = 0; i < n; ++i) {
      GElf_Rela r;
      GElf_Sym sym;
      if (!gelf_getrela(rela, static_cast<int>(i), &r)) continue;
      const auto type = GELF_R_TYPE(r.r_info);
      if ((type != R_X86_64_PLT32 && type != R_X86_64_PC32) || r.r_offset == 0 || r.r_offset >= code->d_size) continue;
      const char* target = name_of(GELF_R_SYM(r.r_info), sym);
      const uint8_t opcode = static_cast<const uint8_t*>(code->d_buf)[r.r_offset - 1];
      if (!target || function != target || (opcode != 0xe8 && opcode != 0xe9)) continue;
      for (size_t k = 0; k < nsyms; ++k) {
        const char* caller = name_of(k, sym);
        if (caller && GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_shndx == rela_sh.sh_info &&
            r.r_offset - 1 >= sym.st_value && r.r_offset - 1 < sym.st_value + sym.st_size) {
          callers.insert(caller);
        }
      }
    }
  }
}

}  // namespace

Result<std::vector<std::string>> DirectCallers(const std::string& elf_path, const std::string& function) {
  elf_version(EV_CURRENT);
  UniqueFd fd(::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Fail(elf_path + ": " + std::strerror(errno));
  std::unique_ptr<Elf, int (*)(Elf*)> elf(elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr), elf_end);
  GElf_Ehdr ehdr;
  if (!elf || !gelf_getehdr(elf.get(), &ehdr)) return Fail(elf_path + ": expected an ELF file");
  if (ehdr.e_machine != EM_X86_64) return Fail(elf_path + ": expected an x86-64 ELF (callers are found in its call instructions)");
  std::set<std::string> callers;
  if (ehdr.e_type == ET_REL) {
    CallersInModule(elf.get(), function, callers);
  } else {
    auto target = symbols::ElfSymbolTable(elf.get()).AddressOf(function);
    if (!target) return Fail(elf_path + ": has no symbol " + function);
    CallersInImage(elf.get(), *target, function, callers);
  }
  return std::vector<std::string>(callers.begin(), callers.end());
}

std::string KprobeRefusal(const std::string& function, const KernelFunctionLists& lists, const std::string& vmlinux,
                          const std::vector<std::string>& callers) {
  std::string why;
  if (lists.blacklisted.count(function)) why = function + " is on the kernel's kprobe blacklist (debugfs kprobes/blacklist)";
  else if (lists.traceable && !lists.traceable->count(function))
    why = function + " is a notrace function (not in available_filter_functions): the kernel refuses kprobes on it";
  else return {};
  if (vmlinux.empty()) return why + "; give --vmlinux FILE to list its callers that can be probed";
  std::string probeable;
  for (const auto& c : callers) {
    if (lists.Probeable(c)) probeable += (probeable.empty() ? "" : ", ") + c;
  }
  if (probeable.empty()) return why + "; no direct caller of it that can be probed in " + vmlinux;
  return why + "; probe a caller instead: " + probeable + " (direct callers in " + vmlinux + ")";
}

}  // namespace exitprof::probe
