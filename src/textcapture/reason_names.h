// kvm_exit reason names as text captures print them, to the numbers the built-in kvm_exit
// format encodes. The built-in format's own tables (a 6.x kernel) come first; this module adds
// what older kernels and tools printed: the one table of old names the text reader knows.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace exitprof::textcapture {

// A name's value under each ISA it can belong to. Lower-case names can be both: "cpuid" is
// SVM's current name and VMX's name in the oldest kernels; the file's other names decide.
struct ReasonValue {
  std::optional<uint32_t> vmx, svm;
};

// nullopt: no kernel or tool we know printed this name.
std::optional<ReasonValue> LookupReason(std::string_view name);

}  // namespace exitprof::textcapture
