// The value -> name tables of a tracepoint's print fmt: every `__print_symbolic(REC->FIELD,
// { value, "NAME" }, ...)` in order. The one reader of these tables (kvm/reason_table.h builds
// on it): bounds-checked over any text, so a damaged format yields fewer entries, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace exitprof::kvm {

struct SymbolicTable {
  std::string field;  // "exit_reason" from REC->exit_reason (masks such as "& 0xffff" dropped)
  std::vector<std::pair<uint64_t, std::string>> entries;  // in print fmt order
};

// Values are what the kernel's formats write: 12, 0x400, 0x040 + 1 (summed), -1 (the u32
// field's all-ones); names join adjacent strings ("KVM_EXIT_" "IO"). Entries that do not read
// so are skipped.
std::vector<SymbolicTable> ParsePrintSymbolic(std::string_view print_fmt);

}  // namespace exitprof::kvm
