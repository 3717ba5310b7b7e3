// Knows the kvm tracepoints: which attrs of a recording are kvm_exit, kvm_entry, kvm_pio,
// kvm_mmio, kvm_msr, kvm_userspace_exit; where their fields are; and what the recording
// kernel calls each exit reason. Names come from the recording's own print fmt (its reason
// table, kvm/reason_table.h, once per distinct value), so no table of ours can go stale; values
// the table lacks, and VMX flag bits, are rendered by libtraceevent as perf prints them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "kvm/reason_table.h"
#include "recording/session_info.h"
#include "trace/trace_events.h"

namespace exitprof::kvm {

enum class KvmEvent : uint8_t { kOther, kExit, kEntry, kPio, kMmio, kMsr, kUserspaceExit, kInjVirq };

struct ExitFields {
  trace::FieldRef exit_reason, guest_rip, isa, vcpu_id, info1, info2;
};
struct EntryFields {
  trace::FieldRef vcpu_id, rip;
};
struct PioFields {
  trace::FieldRef rw, port, size, count;
};
struct MmioFields {
  trace::FieldRef type, len, gpa;
};
struct MsrFields {
  trace::FieldRef write, ecx, failed;
};
struct InjVirqFields {
  trace::FieldRef vector, soft, reinjected;
};
struct UserspaceExitFields {
  trace::FieldRef reason, errno_;
};

class KvmEvents {
 public:
  // Resolves every attr of the session (tracepoint attrs get their "system:name" too).
  void Bind(const recording::SessionInfo& info, const trace::TraceEvents* events);

  KvmEvent KindOf(int attr_index) const {
    return attr_index >= 0 && static_cast<size_t>(attr_index) < kinds_.size() ? kinds_[attr_index] : KvmEvent::kOther;
  }
  const std::string& NameOf(int attr_index) const;
  size_t attr_count() const { return names_.size(); }
  bool has(KvmEvent kind) const;

  const ExitFields& exit() const { return exit_; }
  const EntryFields& entry() const { return entry_; }
  const PioFields& pio() const { return pio_; }
  const MmioFields& mmio() const { return mmio_; }
  const MsrFields& msr() const { return msr_; }
  const UserspaceExitFields& userspace_exit() const { return uexit_; }
  const InjVirqFields& inj_virq() const { return inj_; }

  // Names, rendered from one example payload the first time a value is seen.
  const std::string& ExitReasonName(std::span<const uint8_t> raw, uint32_t cpu);
  const std::string& UserspaceExitName(std::span<const uint8_t> raw, uint32_t cpu);
  const std::string& MmioTypeName(std::span<const uint8_t> raw, uint32_t cpu);
  // A dense id for an exit reason (stable within a run), and its name.
  uint32_t ExitReasonId(std::span<const uint8_t> raw, uint32_t cpu);
  const std::string& ReasonById(uint32_t id) const { return reason_names_[id]; }
  size_t reason_count() const { return reason_names_.size(); }
  // The id of a reason named elsewhere (counts aggregated in BPF maps), given one if new.
  uint32_t ReasonIdByName(const std::string& name);
  // Parallel reads: takes in the reasons a copy of this object met on its stretch of the file
  // (merged in file order, so ids come out as one pass assigns them). Returns the copy's id ->
  // this object's id.
  std::vector<uint32_t> AdoptReasons(const KvmEvents& part);
  // The recording's reason table (the built-in one when it has no kvm_exit format).
  const ReasonTable& reasons() const { return reasons_; }
  // "VMX", "SVM" or "" from the isa field of the first exit seen.
  const std::string& isa_name() const { return isa_name_; }

 private:
  std::string Render(tep_event* event, std::span<const uint8_t> raw, uint32_t cpu);
  std::string Between(const std::string& text, const std::string& start, const std::string& stop);

  const trace::TraceEvents* events_ = nullptr;
  std::vector<KvmEvent> kinds_;
  std::vector<std::string> names_;
  tep_event* exit_event_ = nullptr;
  tep_event* uexit_event_ = nullptr;
  tep_event* mmio_event_ = nullptr;
  ExitFields exit_;
  EntryFields entry_;
  PioFields pio_;
  MmioFields mmio_;
  MsrFields msr_;
  UserspaceExitFields uexit_;
  InjVirqFields inj_;
  std::unordered_map<uint64_t, uint32_t> reason_ids_;
  // (isa, reason) -> id for the common small values, without hashing: the per-exit lookup.
  static constexpr uint64_t kDenseReasons = 4096, kDenseIsas = 4;
  std::vector<int32_t> dense_ids_ = std::vector<int32_t>(kDenseReasons * kDenseIsas, -1);
  std::vector<std::string> reason_names_;
  std::unordered_map<uint64_t, std::string> uexit_names_;
  std::unordered_map<uint64_t, std::string> mmio_names_;
  std::string isa_name_;
  std::string scratch_;
  ReasonTable reasons_ = ReasonTable::Builtin();
};

}  // namespace exitprof::kvm
