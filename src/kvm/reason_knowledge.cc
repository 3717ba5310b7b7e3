#include "kvm/reason_knowledge.h"

#include <algorithm>
#include <map>

namespace exitprof::kvm::knowledge {

namespace {

using C = ReasonClass;

// Keyed by the names kernels print: VMX upper case, SVM lower case, KVM_EXIT_* for userspace.
// One or two plain sentences each: what the exit is, and the usual remedy.
constexpr About kAbout[] = {
    // Idle and spinning.
    {"HLT", C::kIdle, "The guest halted a vCPU because it had nothing to run: idle time, not overhead.",
     "Costs latency on wake-up: tune halt polling (halt_poll_ns), or let the guest poll (cpuidle-haltpoll); "
     "with dedicated CPUs, disable HLT exits (KVM_CAP_X86_DISABLE_EXITS)."},
    {"hlt", C::kIdle, "The guest halted a vCPU because it had nothing to run: idle time, not overhead.",
     "Tune halt polling (halt_poll_ns) or guest haltpoll; with dedicated CPUs, disable HLT exits."},
    {"idle-halt", C::kIdle, "The guest halted a vCPU with no interrupt pending: idle time.",
     "As for hlt: halt polling, or disable HLT exits on dedicated CPUs."},
    {"MWAIT_INSTRUCTION", C::kIdle, "The guest idled with MWAIT.",
     "Expose MWAIT to the guest when CPUs are dedicated (KVM_X86_DISABLE_EXITS_MWAIT)."},
    {"mwait", C::kIdle, nullptr, nullptr},
    {"mwait_cond", C::kIdle, nullptr, nullptr},
    {"UMWAIT", C::kIdle, nullptr, nullptr},
    {"TPAUSE", C::kIdle, nullptr, nullptr},
    {"KVM_EXIT_HLT", C::kIdle, "A halt handled by the VMM: KVM does this only without an in-kernel interrupt controller.",
     "Create the in-kernel irqchip (KVM_CREATE_IRQCHIP / split irqchip) so halts stay in the kernel."},
    {"PAUSE_INSTRUCTION", C::kSpin, "Pause-loop exiting: a vCPU spun on a lock held by a vCPU that is not running.",
     "Usually CPU overcommit: pin vCPUs, reduce overcommit, or tune ple_gap/ple_window; paravirt spinlocks help."},
    {"pause", C::kSpin, "Pause filter exit: a vCPU spun on a lock held by a preempted vCPU.",
     "Reduce CPU overcommit, pin vCPUs, use paravirt spinlocks; tune pause_filter_count."},
    // Interrupts.
    {"EXTERNAL_INTERRUPT", C::kInterrupt, "A host interrupt arrived while the guest ran (timer, device, IPI to the host CPU).",
     "Isolate guest CPUs from host interrupts (irqaffinity, nohz_full); posted interrupts for assigned devices."},
    {"interrupt", C::kInterrupt, "A host interrupt arrived while the guest ran.",
     "Isolate guest CPUs from host interrupts; AVIC and posted interrupts for devices."},
    {"INTERRUPT_WINDOW", C::kInterrupt, "KVM waited for the guest to accept an interrupt.",
     "Expected with interrupts disabled for long; guest-side fix."},
    {"NMI_WINDOW", C::kInterrupt, nullptr, nullptr},
    {"vintr", C::kInterrupt, "Virtual interrupt window.", "Expected; AVIC avoids many of them."},
    {"nmi", C::kInterrupt, nullptr, nullptr},
    {"smi", C::kInterrupt, nullptr, nullptr},
    {"KVM_EXIT_IRQ_WINDOW_OPEN", C::kInterrupt, nullptr, nullptr},
    // Port I/O, MMIO, memory.
    {"IO_INSTRUCTION", C::kIo,
     "The guest executed IN/OUT to a port that KVM does not handle in the kernel, so it was emulated (often in the VMM).",
     "For virtio queue notifications use ioeventfd and vhost; for legacy devices (serial, RTC, PIT) switch to paravirtual ones."},
    {"io", C::kIo, "The guest executed IN/OUT to an emulated port.",
     "ioeventfd/vhost for virtio notifications; paravirtual devices instead of legacy ones."},
    {"KVM_EXIT_IO", C::kIo, "A port access went to the VMM in user space: the most expensive kind of exit.",
     "Move hot devices into the kernel or to paravirtual devices: ioeventfd/vhost for virtio notify ports."},
    {"EPT_MISCONFIG", C::kMmio, "An access to guest-physical memory that KVM marks as MMIO: an emulated device register.",
     "Virtio notifications: ioeventfd/vhost (KVM_IOEVENTFD); APIC/timer registers: x2APIC with APICv; avoid polling device registers."},
    {"npf", C::kMmio, "A nested page fault: an MMIO access to an emulated device, or memory not yet mapped for the guest.",
     "For MMIO: ioeventfd/vhost, x2APIC/AVIC; for memory faults: huge pages, pre-faulting, avoiding memory overcommit."},
    {"KVM_EXIT_MMIO", C::kMmio, "An MMIO access went to the VMM in user space.",
     "ioeventfd for notification registers; in-kernel devices (irqchip, PIT) for platform ones."},
    {"EPT_VIOLATION", C::kMemory, "The guest touched memory the host had not mapped for it yet (first touch, swapped out, dirty logging).",
     "Back the guest with huge pages and pre-fault it; avoid swap; expect bursts during live migration."},
    // MSRs.
    {"MSR_WRITE", C::kMsr, "The guest wrote a model-specific register that KVM intercepts (timer deadline, x2APIC ICR/EOI, ...).",
     "TSC deadline writes (MSR 0x6e0): the VMX preemption timer / APICv; ICR and EOI: APICv or AVIC with posted interrupts."},
    {"MSR_READ", C::kMsr, "The guest read an intercepted model-specific register.",
     "Find which MSR (kvm_msr events) and whether the guest can cache it."},
    {"MSR_READ_IMM", C::kMsr, nullptr, nullptr},
    {"MSR_WRITE_IMM", C::kMsr, nullptr, nullptr},
    {"msr", C::kMsr, "The guest read or wrote an intercepted MSR.",
     "Find which MSR (kvm_msr): TSC deadline and x2APIC writes shrink with AVIC."},
    {"KVM_EXIT_X86_RDMSR", C::kMsr, nullptr, nullptr},
    {"KVM_EXIT_X86_WRMSR", C::kMsr, nullptr, nullptr},
    // Timer and APIC.
    {"PREEMPTION_TIMER", C::kTimer, "The VMX preemption timer fired: KVM uses it to deliver the guest's APIC timer without a host hrtimer.",
     "Normal for timer-heavy guests; fewer guest timer ticks (NO_HZ in the guest) means fewer of these."},
    {"APIC_WRITE", C::kApic, "A trap-like write to a virtual APIC register (APICv), for example a timer or ICR write.",
     "Fewer guest timer reprograms and IPIs; posted interrupts for IPIs."},
    {"APIC_ACCESS", C::kApic, "An access to the APIC page that APICv could not virtualize.", "Use x2APIC in the guest; enable APICv."},
    {"EOI_INDUCED", C::kApic, "End of interrupt for a level-triggered or notified interrupt.",
     "Usually device interrupts: MSI instead of INTx, posted interrupts."},
    {"TPR_BELOW_THRESHOLD", C::kApic, "TPR dropped below an interrupt's priority.", "Use APICv / x2APIC."},
    {"avic_incomplete_ipi", C::kApic, "An IPI AVIC could not deliver directly (target vCPU not running).", "Reduce overcommit; pin vCPUs."},
    {"avic_unaccelerated_access", C::kApic, "An APIC register access AVIC does not accelerate.", "Use x2APIC where supported."},
    // Instructions that exit.
    {"CPUID", C::kInstruction, "The guest executed CPUID, which always exits.",
     "Usually boot or user space probing; a hot loop of CPUID is a guest bug."},
    {"cpuid", C::kInstruction, "The guest executed CPUID, which always exits.", "A hot loop of CPUID is a guest bug."},
    {"RDTSC", C::kInstruction, "The guest read the TSC while TSC exiting was on.",
     "Use an invariant, stable TSC (no TSC scaling issues) so KVM need not trap it."},
    {"INVLPG", C::kInstruction, "TLB invalidation trapped (without EPT).", "Enable EPT/NPT."},
    {"CR_ACCESS", C::kInstruction, "The guest wrote a control register KVM intercepts.", "Normal on context switch without EPT; otherwise rare."},
    {"XSETBV", C::kInstruction, "The guest set XCR0 (extended state).", "Rare: usually boot or per-process setup."},
    {"DR_ACCESS", C::kInstruction, nullptr, nullptr},
    {"RDTSCP", C::kInstruction, nullptr, nullptr},
    {"RDPMC", C::kInstruction, nullptr, nullptr},
    {"VMCALL", C::kInstruction, nullptr, nullptr},
    {"WBINVD", C::kInstruction, nullptr, nullptr},
    {"INVD", C::kInstruction, nullptr, nullptr},
    {"INVPCID", C::kInstruction, nullptr, nullptr},
    {"rdtsc", C::kInstruction, nullptr, nullptr},
    {"rdtscp", C::kInstruction, nullptr, nullptr},
    {"rdpmc", C::kInstruction, nullptr, nullptr},
    {"hypercall", C::kInstruction, nullptr, nullptr},
    {"invlpg", C::kInstruction, nullptr, nullptr},
    {"xsetbv", C::kInstruction, nullptr, nullptr},
    {"wbinvd", C::kInstruction, nullptr, nullptr},
    {"KVM_EXIT_HYPERCALL", C::kInstruction, nullptr, nullptr},
    // Exceptions.
    {"EXCEPTION_NMI", C::kException, "An exception or NMI the guest raised was intercepted.",
     "Check for #PF without EPT, or NMIs from perf in the host."},
    {"KVM_EXIT_EXCEPTION", C::kException, nullptr, nullptr},
    {"KVM_EXIT_DEBUG", C::kException, nullptr, nullptr},
    // Requests to the VMM.
    {"KVM_EXIT_INTR", C::kVmmRequest, "KVM_RUN returned because a signal arrived for the vCPU thread.",
     "Normal when the VMM kicks vCPUs; frequent ones mean a busy VMM."},
    {"KVM_EXIT_SYSTEM_EVENT", C::kVmmRequest, "Shutdown, reset or crash requested by the guest.", "Expected once."},
    {"KVM_EXIT_SHUTDOWN", C::kVmmRequest, nullptr, nullptr},
};

// Names the built-in (6.x) formats do not print, with their codes. Sources: Linux's
// arch/x86/include/uapi/asm/vmx.h before 5.6 (PENDING_INTERRUPT, renamed INTERRUPT_WINDOW),
// the 2.6.3x vmx.c/svm.c exit_reasons_str tables (lower case), and the kvm plugin of
// libtraceevent, which trace-cmd report prints kvm_exit with (its VMX names are the uapi ones;
// its SVM names are the SVM_EXIT_* macros without the prefix: "EXIT_NPF"). Names that are just
// a current name in upper/lower case, or EXIT_ + an upper-cased SVM name, follow by rule
// (ReasonTable::Lookup); these are the ones that do not.
constexpr OldName kOld[] = {
    {"PENDING_INTERRUPT", Isa::kVmx, 7},
    {"exception", Isa::kVmx, 0},
    {"ext_irq", Isa::kVmx, 1},
    {"rdmsr", Isa::kVmx, 31},
    {"wrmsr", Isa::kVmx, 32},
    {"halt", Isa::kVmx, 12},
    {"hypercall", Isa::kVmx, 18},  // SVM's current name for VMMCALL too
    {"tpr_below_thres", Isa::kVmx, 43},
    {"EXIT_INTR", Isa::kSvm, 0x060},
    {"EXIT_IDTR_READ", Isa::kSvm, 0x066},
    {"EXIT_GDTR_READ", Isa::kSvm, 0x067},
    {"EXIT_LDTR_READ", Isa::kSvm, 0x068},
    {"EXIT_TR_READ", Isa::kSvm, 0x069},
    {"EXIT_IDTR_WRITE", Isa::kSvm, 0x06a},
    {"EXIT_GDTR_WRITE", Isa::kSvm, 0x06b},
    {"EXIT_LDTR_WRITE", Isa::kSvm, 0x06c},
    {"EXIT_TR_WRITE", Isa::kSvm, 0x06d},
    {"EXIT_IOIO", Isa::kSvm, 0x07b},
    {"EXIT_VMMCALL", Isa::kSvm, 0x081},
    {"EXIT_MWAIT_COND", Isa::kSvm, 0x08c},
    {"EXIT_ERR", Isa::kSvm, 0xffffffff},
    {"mwait_cond", Isa::kSvm, 0x08c},  // 2.6.3x svm_exit_reasons_str
};

}  // namespace

const About* Find(std::string_view name) {
  static const auto* index = [] {
    auto* m = new std::map<std::string_view, const About*>();
    for (const About& a : kAbout) m->emplace(a.name, &a);
    return m;
  }();
  auto it = index->find(name);
  return it == index->end() ? nullptr : it->second;
}

std::span<const OldName> OldNames() { return kOld; }

}  // namespace exitprof::kvm::knowledge
