#include "kvm/explanations.h"

#include <map>

namespace exitprof::kvm {

namespace {

// Keyed by the names kernels print: VMX upper case, SVM lower case, KVM_EXIT_* for userspace.
const std::map<std::string, Explanation>& Table() {
  static const std::map<std::string, Explanation> table = {
      {"HLT", {"The guest halted a vCPU because it had nothing to run: idle time, not overhead.",
               "Costs latency on wake-up: tune halt polling (halt_poll_ns), or let the guest poll (cpuidle-haltpoll); "
               "with dedicated CPUs, disable HLT exits (KVM_CAP_X86_DISABLE_EXITS)."}},
      {"hlt", {"The guest halted a vCPU because it had nothing to run: idle time, not overhead.",
               "Tune halt polling (halt_poll_ns) or guest haltpoll; with dedicated CPUs, disable HLT exits."}},
      {"idle-halt", {"The guest halted a vCPU with no interrupt pending: idle time.", "As for hlt: halt polling, or disable HLT exits on dedicated CPUs."}},
      {"MWAIT_INSTRUCTION", {"The guest idled with MWAIT.", "Expose MWAIT to the guest when CPUs are dedicated (KVM_X86_DISABLE_EXITS_MWAIT)."}},
      {"PAUSE_INSTRUCTION", {"Pause-loop exiting: a vCPU spun on a lock held by a vCPU that is not running.",
                             "Usually CPU overcommit: pin vCPUs, reduce overcommit, or tune ple_gap/ple_window; paravirt spinlocks help."}},
      {"pause", {"Pause filter exit: a vCPU spun on a lock held by a preempted vCPU.", "Reduce CPU overcommit, pin vCPUs, use paravirt spinlocks; tune pause_filter_count."}},
      {"EXTERNAL_INTERRUPT", {"A host interrupt arrived while the guest ran (timer, device, IPI to the host CPU).",
                              "Isolate guest CPUs from host interrupts (irqaffinity, nohz_full); posted interrupts for assigned devices."}},
      {"interrupt", {"A host interrupt arrived while the guest ran.", "Isolate guest CPUs from host interrupts; AVIC and posted interrupts for devices."}},
      {"IO_INSTRUCTION", {"The guest executed IN/OUT to a port that KVM does not handle in the kernel, so it was emulated (often in the VMM).",
                          "For virtio queue notifications use ioeventfd and vhost; for legacy devices (serial, RTC, PIT) switch to paravirtual ones."}},
      {"io", {"The guest executed IN/OUT to an emulated port.", "ioeventfd/vhost for virtio notifications; paravirtual devices instead of legacy ones."}},
      {"EPT_MISCONFIG", {"An access to guest-physical memory that KVM marks as MMIO: an emulated device register.",
                         "Virtio notifications: ioeventfd/vhost (KVM_IOEVENTFD); APIC/timer registers: x2APIC with APICv; avoid polling device registers."}},
      {"npf", {"A nested page fault: an MMIO access to an emulated device, or memory not yet mapped for the guest.",
               "For MMIO: ioeventfd/vhost, x2APIC/AVIC; for memory faults: huge pages, pre-faulting, avoiding memory overcommit."}},
      {"EPT_VIOLATION", {"The guest touched memory the host had not mapped for it yet (first touch, swapped out, dirty logging).",
                         "Back the guest with huge pages and pre-fault it; avoid swap; expect bursts during live migration."}},
      {"MSR_WRITE", {"The guest wrote a model-specific register that KVM intercepts (timer deadline, x2APIC ICR/EOI, ...).",
                     "TSC deadline writes (MSR 0x6e0): the VMX preemption timer / APICv; ICR and EOI: APICv or AVIC with posted interrupts."}},
      {"MSR_READ", {"The guest read an intercepted model-specific register.", "Find which MSR (kvm_msr events) and whether the guest can cache it."}},
      {"msr", {"The guest read or wrote an intercepted MSR.", "Find which MSR (kvm_msr): TSC deadline and x2APIC writes shrink with AVIC."}},
      {"PREEMPTION_TIMER", {"The VMX preemption timer fired: KVM uses it to deliver the guest's APIC timer without a host hrtimer.",
                            "Normal for timer-heavy guests; fewer guest timer ticks (NO_HZ in the guest) means fewer of these."}},
      {"APIC_WRITE", {"A trap-like write to a virtual APIC register (APICv), for example a timer or ICR write.",
                      "Fewer guest timer reprograms and IPIs; posted interrupts for IPIs."}},
      {"APIC_ACCESS", {"An access to the APIC page that APICv could not virtualize.", "Use x2APIC in the guest; enable APICv."}},
      {"EOI_INDUCED", {"End of interrupt for a level-triggered or notified interrupt.", "Usually device interrupts: MSI instead of INTx, posted interrupts."}},
      {"CPUID", {"The guest executed CPUID, which always exits.", "Usually boot or user space probing; a hot loop of CPUID is a guest bug."}},
      {"cpuid", {"The guest executed CPUID, which always exits.", "A hot loop of CPUID is a guest bug."}},
      {"RDTSC", {"The guest read the TSC while TSC exiting was on.", "Use an invariant, stable TSC (no TSC scaling issues) so KVM need not trap it."}},
      {"INVLPG", {"TLB invalidation trapped (without EPT).", "Enable EPT/NPT."}},
      {"CR_ACCESS", {"The guest wrote a control register KVM intercepts.", "Normal on context switch without EPT; otherwise rare."}},
      {"XSETBV", {"The guest set XCR0 (extended state).", "Rare: usually boot or per-process setup."}},
      {"EXCEPTION_NMI", {"An exception or NMI the guest raised was intercepted.", "Check for #PF without EPT, or NMIs from perf in the host."}},
      {"INTERRUPT_WINDOW", {"KVM waited for the guest to accept an interrupt.", "Expected with interrupts disabled for long; guest-side fix."}},
      {"TPR_BELOW_THRESHOLD", {"TPR dropped below an interrupt's priority.", "Use APICv / x2APIC."}},
      {"vintr", {"Virtual interrupt window.", "Expected; AVIC avoids many of them."}},
      {"avic_incomplete_ipi", {"An IPI AVIC could not deliver directly (target vCPU not running).", "Reduce overcommit; pin vCPUs."}},
      {"avic_unaccelerated_access", {"An APIC register access AVIC does not accelerate.", "Use x2APIC where supported."}},
      {"KVM_EXIT_IO", {"A port access went to the VMM in user space: the most expensive kind of exit.",
                       "Move hot devices into the kernel or to paravirtual devices: ioeventfd/vhost for virtio notify ports."}},
      {"KVM_EXIT_MMIO", {"An MMIO access went to the VMM in user space.", "ioeventfd for notification registers; in-kernel devices (irqchip, PIT) for platform ones."}},
      {"KVM_EXIT_HLT", {"A halt handled by the VMM: KVM does this only without an in-kernel interrupt controller.",
                        "Create the in-kernel irqchip (KVM_CREATE_IRQCHIP / split irqchip) so halts stay in the kernel."}},
      {"KVM_EXIT_INTR", {"KVM_RUN returned because a signal arrived for the vCPU thread.", "Normal when the VMM kicks vCPUs; frequent ones mean a busy VMM."}},
      {"KVM_EXIT_SYSTEM_EVENT", {"Shutdown, reset or crash requested by the guest.", "Expected once."}},
  };
  return table;
}

}  // namespace

Explanation ExplainReason(const std::string& reason) {
  auto it = Table().find(reason);
  return it == Table().end() ? Explanation{} : it->second;
}

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
