// An ELF file's own symbol table (.symtab, else .dynsym) and allocated sections, looked up
// the way GNU addr2line looks them up: an address must lie inside an allocated section, and
// its function is the nearest function or untyped symbol at or below it in that section,
// even past that symbol's size.
#pragma once

#include <gelf.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace exitprof::symbols {

class ElfSymbolTable {
 public:
  explicit ElfSymbolTable(Elf* elf);

  struct Hit {
    const char* name = nullptr;
    uint64_t value = 0, size = 0;
    const char* file = nullptr;  // a local symbol's STT_FILE (addr2line's file when DWARF has none)
  };
  // The allocated section holding the address (its index), if any.
  std::optional<size_t> SectionOf(uint64_t address) const;
  std::optional<Hit> Find(uint64_t address) const;
  // A symbol starting exactly at `address` (the one addr2line would pick there).
  std::optional<Hit> StartingAt(uint64_t address) const;
  std::optional<uint64_t> AddressOf(const std::string& name) const;
  size_t size() const { return symbols_.size(); }

 private:
  struct Section {
    uint64_t low = 0, high = 0;
    size_t index = 0;
  };
  struct Symbol {
    size_t section = 0;
    uint64_t value = 0, size = 0;
    bool func = false;
    const char* name = nullptr;  // points into the ELF's string table (libelf keeps it)
    const char* file = nullptr;
  };
  std::vector<Section> sections_;  // sorted by low
  std::vector<Symbol> symbols_;    // sorted by (section, value)
};

}  // namespace exitprof::symbols
