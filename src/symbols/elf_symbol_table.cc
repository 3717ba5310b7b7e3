#include "symbols/elf_symbol_table.h"

#include <algorithm>
#include <cstring>

namespace exitprof::symbols {

namespace {

Elf_Scn* FindSymbolSection(Elf* elf, Elf64_Word type) {
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) != nullptr && shdr.sh_type == type) return scn;
  }
  return nullptr;
}

}  // namespace

ElfSymbolTable::ElfSymbolTable(Elf* elf) {
  if (elf == nullptr) return;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    if ((shdr.sh_flags & SHF_ALLOC) && shdr.sh_size > 0 && shdr.sh_addr + shdr.sh_size > shdr.sh_addr) {
      sections_.push_back({shdr.sh_addr, shdr.sh_addr + shdr.sh_size, elf_ndxscn(scn)});
    }
  }
  std::sort(sections_.begin(), sections_.end(), [](const Section& a, const Section& b) { return a.low < b.low; });

  // addr2line reads the static table, and the dynamic one only when there is none.
  Elf_Scn* symtab = FindSymbolSection(elf, SHT_SYMTAB);
  if (symtab == nullptr) symtab = FindSymbolSection(elf, SHT_DYNSYM);
  if (symtab == nullptr) return;
  GElf_Shdr shdr;
  Elf_Data* data = elf_getdata(symtab, nullptr);
  if (gelf_getshdr(symtab, &shdr) == nullptr || data == nullptr || shdr.sh_entsize == 0) return;
  size_t count = shdr.sh_size / shdr.sh_entsize;  // gelf_getsym checks each index against the data
  const char* file = nullptr;
  for (size_t i = 1; i < count; ++i) {
    GElf_Sym sym;
    if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) break;
    int type = GELF_ST_TYPE(sym.st_info);
    if (type == STT_FILE) {
      file = elf_strptr(elf, shdr.sh_link, sym.st_name);
      if (file != nullptr && *file == '\0') file = nullptr;
      continue;
    }
    if (type != STT_FUNC && type != STT_NOTYPE && type != STT_GNU_IFUNC) continue;
    if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE) continue;
    const char* name = elf_strptr(elf, shdr.sh_link, sym.st_name);
    if (name == nullptr || *name == '\0') continue;
    bool local = GELF_ST_BIND(sym.st_info) == STB_LOCAL;
    symbols_.push_back({sym.st_shndx, sym.st_value, sym.st_size, type != STT_NOTYPE, name, local ? file : nullptr});
  }
  std::stable_sort(symbols_.begin(), symbols_.end(), [](const Symbol& a, const Symbol& b) {
    return a.section != b.section ? a.section < b.section : a.value < b.value;
  });
}

std::optional<size_t> ElfSymbolTable::SectionOf(uint64_t address) const {
  auto it = std::upper_bound(sections_.begin(), sections_.end(), address,
                             [](uint64_t a, const Section& s) { return a < s.low; });
  // Sections may nest (TLS .tbss over .init_array): look back a few.
  for (int steps = 0; it != sections_.begin() && steps < 4; ++steps) {
    --it;
    if (address < it->high) return it->index;
  }
  return std::nullopt;
}

std::optional<ElfSymbolTable::Hit> ElfSymbolTable::Find(uint64_t address) const {
  auto section = SectionOf(address);
  if (!section) return std::nullopt;
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), std::make_pair(*section, address),
                             [](const std::pair<size_t, uint64_t>& k, const Symbol& s) {
                               return k.first != s.section ? k.first < s.section : k.second < s.value;
                             });
  if (it == symbols_.begin() || std::prev(it)->section != *section) return std::nullopt;
  --it;
  // Several symbols at one address: prefer one that covers the address, then a function.
  auto first = it;
  while (first != symbols_.begin() && std::prev(first)->section == it->section && std::prev(first)->value == it->value) --first;
  const Symbol* best = &*first;
  auto score = [&](const Symbol& s) { return (s.value + std::max<uint64_t>(s.size, 1) > address ? 2 : 0) + (s.func ? 1 : 0); };
  for (auto p = first; p != std::next(it); ++p) {
    if (score(*p) > score(*best)) best = &*p;
  }
  return Hit{best->name, best->value, best->size, best->file};
}

std::optional<ElfSymbolTable::Hit> ElfSymbolTable::StartingAt(uint64_t address) const {
  auto hit = Find(address);
  if (hit && hit->value == address) return hit;
  return std::nullopt;
}

std::optional<uint64_t> ElfSymbolTable::AddressOf(const std::string& name) const {
  for (const auto& s : symbols_)
    if (std::strcmp(s.name, name.c_str()) == 0) return s.value;
  return std::nullopt;
}

}  // namespace exitprof::symbols
