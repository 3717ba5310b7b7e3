// Plain names for what guests touch: legacy ISA/PC ports, MSRs and fixed MMIO regions of an
// x86 PC (as QEMU/KVM machines lay them out). One reviewed table each, in known_names.cc.
#pragma once

#include <cstdint>
#include <string>

namespace exitprof::kvm {

std::string PortName(uint16_t port);   // "COM1 (serial)", "" if unknown
std::string MsrName(uint32_t index);   // "IA32_TSC_DEADLINE", "x2APIC EOI", ""
std::string MmioName(uint64_t gpa);    // "LAPIC", "IOAPIC", "HPET", ""

}  // namespace exitprof::kvm
