#include "kvm/explanations.h"

namespace exitprof::kvm {

std::string AdviceForPort(uint16_t port) {
  if (port >= 0xc000) return "a PCI device's I/O BAR: for virtio legacy queue notify (offset 0x10) use ioeventfd/vhost";
  if ((port >= 0x3f8 && port <= 0x3ff) || (port >= 0x2f8 && port <= 0x2ff)) return "a serial port: a chatty console; use virtio-console or lower the log level";
  if (port == 0x70 || port == 0x71) return "CMOS RTC: the guest reads the clock via the RTC; kvmclock avoids it";
  if (port >= 0x40 && port <= 0x43) return "PIT: use the in-kernel PIT (KVM_CREATE_PIT2) or a TSC/kvmclock clocksource";
  if (port == 0xcf8 || (port >= 0xcfc && port <= 0xcff)) return "PCI config space: normal at boot and device probe; use MMCONFIG (ECAM) for less";
  if (port >= 0x510 && port <= 0x51b) return "fw_cfg: firmware loading; use its DMA interface";
  if (port == 0x608 || port == 0xb008) return "ACPI PM timer as clocksource: switch the guest to tsc or kvm-clock";
  if (port == 0x80) return "port 0x80 delays: the guest uses I/O delay; boot with io_delay=none";
  return {};
}

std::string AdviceForMmio(uint64_t gpa) {
  if (gpa >= 0xfed00000 && gpa < 0xfed00400) {
    return "the HPET: the guest reads it as its clocksource; switch the guest to kvm-clock or tsc "
           "(echo kvm-clock > /sys/devices/system/clocksource/clocksource0/current_clocksource, or boot with "
           "clocksource=kvm-clock)";
  }
  if (gpa >= 0xfee00000 && gpa < 0xfee01000) return "the local APIC (xAPIC): x2APIC in the guest with APICv/AVIC traps far less";
  if (gpa >= 0xfec00000 && gpa < 0xfec01000) return "the IOAPIC: MSI(-X) device interrupts avoid its EOIs";
  return {};
}

std::string AdviceForMsr(uint32_t index) {
  if (index == 0x6e0) return "TSC deadline timer: the VMX preemption timer and APICv make these cheaper";
  if (index == 0x830) return "IPIs through the x2APIC ICR: posted interrupts / IPI virtualization";
  if (index == 0x80b) return "EOIs: APICv/AVIC virtualize them";
  if (index >= 0x4b564d00 && index <= 0x4b564d07) return "KVM paravirtual MSRs: normally written once per vCPU at boot";
  return {};
}

}  // namespace exitprof::kvm
