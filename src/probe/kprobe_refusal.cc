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

Result<std::vector<std::string>> DirectCallers(const std::string& elf_path, const std::string& function) {
  elf_version(EV_CURRENT);
  UniqueFd fd(::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Fail(elf_path + ": " + std::strerror(errno));
  std::unique_ptr<Elf, int (*)(Elf*)> elf(elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr), elf_end);
  GElf_Ehdr ehdr;
  if (!elf || !gelf_getehdr(elf.get(), &ehdr)) return Fail(elf_path + ": expected an ELF file");
  if (ehdr.e_machine != EM_X86_64) return Fail(elf_path + ": expected an x86-64 ELF (callers are found in its call instructions)");
  symbols::ElfSymbolTable symbols(elf.get());
  auto target = symbols.AddressOf(function);
  if (!target) return Fail(elf_path + ": has no symbol " + function);
  std::set<std::string> callers;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf.get(), scn)) != nullptr;) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR)) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || !data->d_buf || data->d_size < 5) continue;
    const auto* code = static_cast<const uint8_t*>(data->d_buf);
    // E8 (call) and E9 (jmp, a tail call) with a 32-bit displacement. Bytes are not decoded as
    // instructions: a match must land exactly on the function and start inside a function symbol.
    for (size_t i = 0; i + 5 <= data->d_size; ++i) {
      if (code[i] != 0xe8 && code[i] != 0xe9) continue;
      int32_t rel;
      std::memcpy(&rel, code + i + 1, 4);
      const uint64_t at = sh.sh_addr + i;
      if (at + 5 + static_cast<int64_t>(rel) != *target) continue;
      auto hit = symbols.Find(at);
      if (hit && hit->name && function != hit->name && at < hit->value + std::max<uint64_t>(hit->size, 1)) callers.insert(hit->name);
    }
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
  if (probeable.empty()) return why + "; " + vmlinux + " shows no direct caller of it that can be probed";
  return why + "; probe a caller instead: " + probeable + " (direct callers in " + vmlinux + ")";
}

}  // namespace exitprof::probe
