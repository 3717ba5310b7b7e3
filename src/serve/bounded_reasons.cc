#include "serve/bounded_reasons.h"

#include <algorithm>
#include <array>

namespace exitprof::serve {

namespace {

// The reasons kvm_stat's own top rows show on busy hosts, per ISA; everything else is "other".
constexpr std::array<std::string_view, 14> kVmx = {
    "EXTERNAL_INTERRUPT", "HLT", "IO_INSTRUCTION", "EPT_VIOLATION", "EPT_MISCONFIG", "MSR_READ", "MSR_WRITE",
    "CPUID", "PAUSE_INSTRUCTION", "PREEMPTION_TIMER", "APIC_WRITE", "EOI_INDUCED", "INTERRUPT_WINDOW", "EXCEPTION_NMI"};
constexpr std::array<std::string_view, 12> kSvm = {
    "interrupt", "hlt", "io", "npf", "msr", "cpuid", "pause", "vintr", "nmi", "avic_incomplete_ipi",
    "avic_unaccelerated_access", "smi"};

}  // namespace

std::string BoundedExitReason(kvm::Isa isa, std::string_view name) {
  auto in = [&](const auto& set) { return std::find(set.begin(), set.end(), name) != set.end(); };
  if ((isa == kvm::Isa::kVmx && in(kVmx)) || (isa == kvm::Isa::kSvm && in(kSvm))) return std::string(name);
  return "other";
}

std::string BoundedUserspaceReason(std::string_view name) {
  // UserspaceExitName prints "KVM_EXIT_<number>" for numbers it does not know: unbounded.
  if (name.starts_with("KVM_EXIT_") && name.size() > 9 && name[9] >= '0' && name[9] <= '9') return "other";
  return std::string(name);
}

}  // namespace exitprof::serve
