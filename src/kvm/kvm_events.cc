#include "kvm/kvm_events.h"

#include <traceevent/event-parse.h>

#include <algorithm>
#include <mutex>

#include "perfdata/abi.h"

namespace exitprof::kvm {

namespace {
const std::string kEmpty;
}

void KvmEvents::Bind(const recording::SessionInfo& info, const trace::TraceEvents* events) {
  events_ = events;
  kinds_.assign(info.attrs.size(), KvmEvent::kOther);
  names_.clear();
  for (size_t i = 0; i < info.attrs.size(); ++i) {
    const auto& attr = info.attrs[i];
    std::string name = attr.name;
    tep_event* event = nullptr;
    if (attr.type == perfdata::kTypeTracepoint && events) {
      event = events->FindById(attr.config);
      if (event) name = trace::TraceEvents::FullName(event);
    }
    if (name.empty()) name = perfdata::DefaultEventName(attr);
    names_.push_back(name);
    if (!event || std::string(event->system) != "kvm") continue;
    std::string n = event->name;
    using trace::TraceEvents;
    if (n == "kvm_exit") {
      kinds_[i] = KvmEvent::kExit;
      exit_event_ = event;
      exit_ = {TraceEvents::Field(event, "exit_reason"), TraceEvents::Field(event, "guest_rip"),
               TraceEvents::Field(event, "isa"),         TraceEvents::Field(event, "vcpu_id"),
               TraceEvents::Field(event, "info1"),       TraceEvents::Field(event, "info2")};
    } else if (n == "kvm_entry") {
      kinds_[i] = KvmEvent::kEntry;
      entry_ = {TraceEvents::Field(event, "vcpu_id"), TraceEvents::Field(event, "rip")};
    } else if (n == "kvm_pio") {
      kinds_[i] = KvmEvent::kPio;
      pio_ = {TraceEvents::Field(event, "rw"), TraceEvents::Field(event, "port"),
              TraceEvents::Field(event, "size"), TraceEvents::Field(event, "count")};
    } else if (n == "kvm_mmio") {
      kinds_[i] = KvmEvent::kMmio;
      mmio_event_ = event;
      mmio_ = {TraceEvents::Field(event, "type"), TraceEvents::Field(event, "len"),
               TraceEvents::Field(event, "gpa")};
    } else if (n == "kvm_msr") {
      kinds_[i] = KvmEvent::kMsr;
      msr_ = {TraceEvents::Field(event, "write"), TraceEvents::Field(event, "ecx"),
              TraceEvents::Field(event, "exception")};
      if (!msr_.failed.valid()) msr_.failed = TraceEvents::Field(event, "failed");  // older kernels
    } else if (n == "kvm_inj_virq") {
      kinds_[i] = KvmEvent::kInjVirq;
      inj_ = {TraceEvents::Field(event, "vector"), TraceEvents::Field(event, "soft"), TraceEvents::Field(event, "reinjected")};
      if (!inj_.vector.valid()) inj_.vector = TraceEvents::Field(event, "irq");  // older kernels
    } else if (n == "kvm_userspace_exit") {
      kinds_[i] = KvmEvent::kUserspaceExit;
      uexit_event_ = event;
      uexit_ = {TraceEvents::Field(event, "reason"), TraceEvents::Field(event, "errno")};
    }
  }
  if (events && (exit_event_ || uexit_event_)) reasons_ = ReasonTable::FromFormats(events->PrintFmt(exit_event_), events->PrintFmt(uexit_event_));
}

const std::string& KvmEvents::NameOf(int attr_index) const {
  if (attr_index < 0 || static_cast<size_t>(attr_index) >= names_.size()) return kEmpty;
  return names_[attr_index];
}

bool KvmEvents::has(KvmEvent kind) const {
  for (auto k : kinds_) {
    if (k == kind) return true;
  }
  return false;
}

std::string KvmEvents::Render(tep_event* event, std::span<const uint8_t> raw, uint32_t cpu) {
  if (!events_ || !event) return {};
  // Copies of this object on parallel readers share one TraceEvents, whose formatting state
  // is not thread-safe; a render happens once per distinct value, so a lock costs nothing.
  static std::mutex render_mutex;
  std::lock_guard lock(render_mutex);
  events_->FormatPayload(event, raw, cpu, 0, scratch_);
  return scratch_;
}

std::string KvmEvents::Between(const std::string& text, const std::string& start, const std::string& stop) {
  size_t a = text.find(start);
  if (a == std::string::npos) return {};
  a += start.size();
  size_t b = text.find(stop, a);
  return text.substr(a, b == std::string::npos ? std::string::npos : b - a);
}

uint32_t KvmEvents::ExitReasonId(std::span<const uint8_t> raw, uint32_t cpu) {
  uint64_t reason = exit_.exit_reason.Read(raw);
  uint64_t isa = exit_.isa.Read(raw);
  const bool dense = reason < kDenseReasons && isa < kDenseIsas;
  if (dense && dense_ids_[isa * kDenseReasons + reason] >= 0) return static_cast<uint32_t>(dense_ids_[isa * kDenseReasons + reason]);
  uint64_t key = reason | (isa << 32);
  auto it = reason_ids_.find(key);
  if (it != reason_ids_.end()) return it->second;
  std::string name;
  // The table's name, unless VMX flag bits (FAILED_VMENTRY) are set: the format prints those too.
  const Isa table = ExitIsa(isa);
  if (exit_.isa.valid() && (table != Isa::kVmx || (reason & ~0xffffULL) == 0)) {
    if (const ReasonInfo* e = reasons_.Find(table, reason)) name = e->name;
  }
  if (name.empty()) name = Between(Render(exit_event_, raw, cpu), "reason ", " rip ");
  if (name.empty()) name = "reason_" + std::to_string(reason);
  if (isa_name_.empty() && exit_.isa.valid()) isa_name_ = isa == 1 ? "VMX" : isa == 2 ? "SVM" : "";
  // Two raw values can render the same name (flag bits): they share one id.
  uint32_t id = static_cast<uint32_t>(reason_names_.size());
  for (uint32_t i = 0; i < reason_names_.size(); ++i) {
    if (reason_names_[i] == name) id = i;
  }
  if (id == reason_names_.size()) reason_names_.push_back(name);
  reason_ids_.emplace(key, id);
  if (dense) dense_ids_[isa * kDenseReasons + reason] = static_cast<int32_t>(id);
  return id;
}

uint32_t KvmEvents::ReasonIdByName(const std::string& name) {
  auto it = std::find(reason_names_.begin(), reason_names_.end(), name);
  if (it != reason_names_.end()) return static_cast<uint32_t>(it - reason_names_.begin());
  reason_names_.push_back(name);
  return static_cast<uint32_t>(reason_names_.size() - 1);
}

std::vector<uint32_t> KvmEvents::AdoptReasons(const KvmEvents& part) {
  std::vector<uint32_t> ids(part.reason_names_.size());
  for (uint32_t i = 0; i < ids.size(); ++i) {
    auto it = std::find(reason_names_.begin(), reason_names_.end(), part.reason_names_[i]);
    ids[i] = static_cast<uint32_t>(it - reason_names_.begin());
    if (it == reason_names_.end()) reason_names_.push_back(part.reason_names_[i]);
  }
  // dense_ids_ is only a cache in front of reason_ids_: left as it is.
  for (const auto& [key, id] : part.reason_ids_) reason_ids_.emplace(key, ids[id]);
  if (isa_name_.empty()) isa_name_ = part.isa_name_;
  uexit_names_.insert(part.uexit_names_.begin(), part.uexit_names_.end());
  mmio_names_.insert(part.mmio_names_.begin(), part.mmio_names_.end());
  return ids;
}

const std::string& KvmEvents::ExitReasonName(std::span<const uint8_t> raw, uint32_t cpu) {
  return reason_names_[ExitReasonId(raw, cpu)];
}

const std::string& KvmEvents::UserspaceExitName(std::span<const uint8_t> raw, uint32_t cpu) {
  uint64_t key = (uexit_.reason.Read(raw) & 0xffffffff) | (uexit_.errno_.Read(raw) << 32);
  auto it = uexit_names_.find(key);
  if (it != uexit_names_.end()) return it->second;
  std::string name;
  if (static_cast<int64_t>(uexit_.errno_.Read(raw)) >= 0) {
    if (const ReasonInfo* e = reasons_.Find(Isa::kUserspace, uexit_.reason.Read(raw) & 0xffffffff)) name = e->name;
  }
  if (name.empty()) name = Between(Render(uexit_event_, raw, cpu), "reason ", " (");
  if (name.empty()) name = "reason_" + std::to_string(uexit_.reason.Read(raw));
  return uexit_names_.emplace(key, name).first->second;
}

const std::string& KvmEvents::MmioTypeName(std::span<const uint8_t> raw, uint32_t cpu) {
  uint64_t key = mmio_.type.Read(raw);
  auto it = mmio_names_.find(key);
  if (it != mmio_names_.end()) return it->second;
  std::string name = Between(Render(mmio_event_, raw, cpu), "mmio ", " len");
  if (name.empty()) name = "type_" + std::to_string(key);
  return mmio_names_.emplace(key, name).first->second;
}

}  // namespace exitprof::kvm
