#include "kvm/known_names.h"

#include <fmt/format.h>

namespace exitprof::kvm {

namespace {

struct Range {
  uint64_t first, last;
  const char* name;
};

template <size_t N>
std::string Lookup(const Range (&table)[N], uint64_t value) {
  for (const auto& r : table) {
    if (value >= r.first && value <= r.last) return r.name;
  }
  return {};
}

const Range kPorts[] = {
    {0x20, 0x21, "PIC master"},
    {0x40, 0x43, "PIT (i8254 timer)"},
    {0x60, 0x60, "i8042 keyboard data"},
    {0x61, 0x61, "PC speaker / NMI status"},
    {0x64, 0x64, "i8042 keyboard command"},
    {0x70, 0x70, "CMOS RTC index"},
    {0x71, 0x71, "CMOS RTC data"},
    {0x80, 0x80, "POST diagnostic (I/O delay)"},
    {0x92, 0x92, "fast A20 gate"},
    {0xa0, 0xa1, "PIC slave"},
    {0xb2, 0xb3, "APM / SMI command"},
    {0xf4, 0xf7, "isa-debug-exit"},
    {0x170, 0x177, "ATA secondary"},
    {0x1f0, 0x1f7, "ATA primary"},
    {0x2e8, 0x2ef, "COM4 (serial)"},
    {0x2f8, 0x2ff, "COM2 (serial)"},
    {0x378, 0x37f, "LPT1 (parallel)"},
    {0x3c0, 0x3df, "VGA"},
    {0x3e8, 0x3ef, "COM3 (serial)"},
    {0x3f0, 0x3f5, "floppy controller"},
    {0x3f6, 0x3f6, "ATA primary control"},
    {0x3f8, 0x3ff, "COM1 (serial)"},
    {0x402, 0x402, "debugcon"},
    {0x4d0, 0x4d1, "PIC ELCR"},
    {0x510, 0x510, "fw_cfg selector"},
    {0x511, 0x511, "fw_cfg data"},
    {0x514, 0x51b, "fw_cfg DMA"},
    {0x600, 0x603, "ACPI PM1a event (q35)"},
    {0x604, 0x605, "ACPI PM1a control (q35)"},
    {0x608, 0x60b, "ACPI PM timer (q35)"},
    {0x620, 0x62f, "ACPI GPE (q35)"},
    {0xcf8, 0xcfb, "PCI config address"},
    {0xcfc, 0xcff, "PCI config data"},
    {0xafe0, 0xafe3, "ACPI CPU hotplug"},
    {0xb000, 0xb003, "ACPI PM1a event (piix4)"},
    {0xb004, 0xb005, "ACPI PM1a control (piix4)"},
    {0xb008, 0xb00b, "ACPI PM timer (piix4)"},
    {0xc000, 0xffff, "PCI I/O BAR (a device's registers, e.g. virtio queue notify)"},
};

const Range kMsrs[] = {
    {0x10, 0x10, "IA32_TIME_STAMP_COUNTER"},
    {0x1b, 0x1b, "IA32_APIC_BASE"},
    {0x3a, 0x3a, "IA32_FEATURE_CONTROL"},
    {0x3b, 0x3b, "IA32_TSC_ADJUST"},
    {0x48, 0x48, "IA32_SPEC_CTRL"},
    {0x49, 0x49, "IA32_PRED_CMD"},
    {0x8b, 0x8b, "IA32_BIOS_SIGN_ID"},
    {0xe7, 0xe7, "IA32_MPERF"},
    {0xe8, 0xe8, "IA32_APERF"},
    {0x10a, 0x10a, "IA32_ARCH_CAPABILITIES"},
    {0x10b, 0x10b, "IA32_FLUSH_CMD"},
    {0x174, 0x176, "IA32_SYSENTER"},
    {0x1d9, 0x1d9, "IA32_DEBUGCTL"},
    {0x277, 0x277, "IA32_PAT"},
    {0x38d, 0x38f, "IA32_PERF_GLOBAL / FIXED_CTR_CTRL"},
    {0x6e0, 0x6e0, "IA32_TSC_DEADLINE"},
    {0x802, 0x802, "x2APIC ID"},
    {0x803, 0x803, "x2APIC version"},
    {0x808, 0x808, "x2APIC TPR"},
    {0x80b, 0x80b, "x2APIC EOI"},
    {0x80d, 0x80d, "x2APIC LDR"},
    {0x80f, 0x80f, "x2APIC SVR"},
    {0x810, 0x827, "x2APIC ISR/TMR/IRR"},
    {0x828, 0x828, "x2APIC ESR"},
    {0x830, 0x830, "x2APIC ICR (IPI)"},
    {0x832, 0x832, "x2APIC LVT timer"},
    {0x833, 0x837, "x2APIC LVT"},
    {0x838, 0x838, "x2APIC TMICT (timer initial count)"},
    {0x839, 0x839, "x2APIC TMCCT (timer current count)"},
    {0x83e, 0x83e, "x2APIC TDCR (timer divide)"},
    {0x83f, 0x83f, "x2APIC SELF_IPI"},
    {0x800, 0x8ff, "x2APIC register"},
    {0x4b564d00, 0x4b564d00, "KVM wall clock"},
    {0x4b564d01, 0x4b564d01, "KVM system time (kvmclock)"},
    {0x4b564d02, 0x4b564d02, "KVM async page fault"},
    {0x4b564d03, 0x4b564d03, "KVM steal time"},
    {0x4b564d04, 0x4b564d04, "KVM PV EOI"},
    {0x4b564d05, 0x4b564d07, "KVM paravirt MSR"},
    {0xc0000080, 0xc0000080, "IA32_EFER"},
    {0xc0000081, 0xc0000084, "syscall STAR/LSTAR/CSTAR/FMASK"},
    {0xc0000100, 0xc0000100, "FS_BASE"},
    {0xc0000101, 0xc0000101, "GS_BASE"},
    {0xc0000102, 0xc0000102, "KERNEL_GS_BASE"},
    {0xc0000103, 0xc0000103, "TSC_AUX"},
};

const Range kMmio[] = {
    {0xa0000, 0xbffff, "VGA legacy window"},
    {0xb0000000, 0xbfffffff, "PCIe ECAM (q35 MMCONFIG)"},
    {0xfec00000, 0xfec003ff, "IOAPIC"},
    {0xfed00000, 0xfed003ff, "HPET"},
    {0xfed1c000, 0xfed1ffff, "ICH9 RCRB"},
    {0xfee00000, 0xfeefffff, "LAPIC"},
    {0xfffc0000, 0xffffffff, "BIOS flash"},
};

}  // namespace

std::string PortName(uint16_t port) { return Lookup(kPorts, port); }

std::string MsrName(uint32_t index) { return Lookup(kMsrs, index); }

std::string MmioName(uint64_t gpa) {
  std::string name = Lookup(kMmio, gpa);
  if (name == "LAPIC") {
    // The register the guest touched, for the ones that cost exits most often.
    switch (gpa & 0xfff) {
      case 0x0b0: return "LAPIC EOI";
      case 0x300: return "LAPIC ICR low (IPI)";
      case 0x310: return "LAPIC ICR high";
      case 0x320: return "LAPIC LVT timer";
      case 0x380: return "LAPIC timer initial count";
      case 0x390: return "LAPIC timer current count";
      case 0x080: return "LAPIC TPR";
      default: return fmt::format("LAPIC +{:#x}", gpa & 0xfff);
    }
  }
  return name;
}

}  // namespace exitprof::kvm
