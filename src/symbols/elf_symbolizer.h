// Addresses of one ELF file to function, inline chain and source line, on elfutils (libdwfl
// finds separate debug files by .gnu_debuglink and build-id and inflates compressed
// sections; libdw reads line tables and inline scopes). In the spirit of LLVM's Symbolize:
// an options struct, one load attempt per file with its problems reported once, and a cache
// so each distinct address is worked out once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace exitprof::symbols {

struct SymbolizerOptions {
  bool inlines = true;                  // also the chain of callers an address was inlined into
  std::vector<std::string> debug_dirs;  // searched for separate debug files before /usr/lib/debug
};

// One level of the answer. Names are as DWARF gives them (linkage names where present);
// demangling is the caller's choice.
struct Frame {
  std::string function;  // "" when unknown
  std::string file;      // "" when unknown
  uint32_t line = 0;     // 0 when unknown
  uint32_t discriminator = 0;
};

struct Symbolized {
  bool found = false;          // false: addr2line prints ?? / ??:0
  std::vector<Frame> frames;   // innermost first; the last is the function the code is in
  std::string symbol;          // ELF symbol table: containing symbol, "" when none
  uint64_t symbol_offset = 0;
};

class ElfSymbolizer {
 public:
  // Fails (one line naming the file) when it is missing or not an ELF file. A file without
  // DWARF still opens: answers then come from its symbol table, and warning() says why.
  static Result<std::unique_ptr<ElfSymbolizer>> Open(const std::string& path, const SymbolizerOptions& options);
  ~ElfSymbolizer();
  ElfSymbolizer(const ElfSymbolizer&) = delete;
  ElfSymbolizer& operator=(const ElfSymbolizer&) = delete;

  // Addresses are the file's own (link-time) addresses, as addr2line takes them.
  const Symbolized& Symbolize(uint64_t address);
  // Many addresses: worked out in address order (each compile unit's tables are read while
  // they are warm), answers returned in the order given.
  std::vector<const Symbolized*> SymbolizeBatch(std::span<const uint64_t> addresses);

  // Address of an ELF symbol by name (e.g. "_text" for the KASLR offset).
  std::optional<uint64_t> SymbolAddress(const std::string& name) const;

  bool has_dwarf() const { return has_dwarf_; }
  uint16_t machine() const { return machine_; }
  const std::string& path() const { return path_; }
  const std::string& debug_file() const { return debug_file_; }
  // Why answers are limited ("no DWARF debug info ..."), "" when they are not.
  const std::string& warning() const { return warning_; }

 private:
  struct Impl;
  ElfSymbolizer() = default;
  Symbolized Compute(uint64_t address);

  std::string path_, debug_file_, warning_;
  uint16_t machine_ = 0;
  bool has_dwarf_ = false;
  std::unique_ptr<Impl> impl_;
  std::unordered_map<uint64_t, Symbolized> cache_;
};

// Itanium C++ demangling ("_Z3fooi" -> "foo(int)"); the name itself when it is not mangled.
std::string Demangle(const std::string& name);

}  // namespace exitprof::symbols
