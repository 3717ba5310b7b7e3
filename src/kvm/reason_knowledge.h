// What this project knows about exit reason names, beyond the numbers a format gives: the class
// and explanation of each current name, and the names older kernels and trace-cmd printed.
// Internal to reason_table.cc.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "kvm/reason_table.h"

namespace exitprof::kvm::knowledge {

struct About {
  std::string_view name;
  ReasonClass cls;
  const char* what;    // nullptr: no explanation written yet
  const char* remedy;
};
// nullptr for a name we know nothing about.
const About* Find(std::string_view name);

// A name no 6.x format prints, with the code it stood for.
struct OldName {
  std::string_view name;
  Isa isa;
  uint32_t code;
};
std::span<const OldName> OldNames();

}  // namespace exitprof::kvm::knowledge
