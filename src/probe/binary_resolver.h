// Resolves perf-probe definitions against a user binary's ELF and DWARF: functions and their
// offsets, relative and absolute source lines, and C variables at the probe address turned into
// the register and memory fetches the uprobe tracer takes (what perf probe -x does).
#pragma once

#include <elfutils/libdw.h>

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "probe/probe_command.h"
#include "probe/probe_spec.h"

namespace exitprof::probe {

class BinaryResolver {
 public:
  static Result<std::unique_ptr<BinaryResolver>> Open(const std::string& path);
  ~BinaryResolver();

  // One probe per place the definition names (a line may have several addresses: the first).
  Result<ResolvedProbe> Resolve(const ProbeSpec& spec);
  // Function symbols, sorted, matching a glob ("" = all but names starting with '_').
  std::vector<std::string> Functions(const std::string& glob) const;
  // "\tint x\n\tchar* s\n": what --vars shows for a function's entry.
  Result<std::string> Variables(const std::string& function);
  // The function's source lines that have code, as "LINE: relative" rows (what --line shows).
  Result<std::string> Lines(const std::string& function);

 private:
  struct FunctionDies {
    uint64_t address = 0, size = 0;
    Dwarf_Die cu{}, sub{};
  };
  // The function's symbol and its DWARF (compile unit and subprogram), or why not.
  Result<FunctionDies> FunctionWithDwarf(const std::string& function);

  struct Impl;
  explicit BinaryResolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Glob matching as perf's filters use it (*, ?, [set], [!set]).
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace exitprof::probe
