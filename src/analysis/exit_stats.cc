#include "analysis/exit_stats.h"

#include <strings.h>

#include <algorithm>

#include "perfdata/abi.h"

namespace exitprof::analysis {

using kvm::KvmEvent;
using perfdata::Event;

Result<void> ExitStats::OnSessionReady(const recording::SessionInfo& info) {
  auto events = trace::TraceEvents::FromTracingData(info.tracing_data, info.path);
  if (!events) return tl::unexpected(events.error());
  trace_ = std::move(*events);
  kvm_.Bind(info, trace_.get());
  samples_by_attr_.assign(info.attrs.size(), 0);
  return {};
}

void ExitStats::ResetCounts() {
  exits_ = ExitCounts{};
  latency_ = ExitLatency();
  access_latency_ = AccessLatency();
  std::fill(samples_by_attr_.begin(), samples_by_attr_.end(), 0);
  pio_.clear();
  pio_by_thread_ = FlatCounter();
  pio_from_exits_.clear();
  mmio_.clear();
  msr_.clear();
  uexits_.clear();
  injected_.clear();
  uexits_by_thread_.clear();
  first_time_ = last_time_ = 0;
  zero_time_seen_ = false;
  filtered_samples_ = 0;
  thread_events_.clear();
}

std::string ExitStats::CommOf(uint32_t tid) const {
  const std::string* comm = threads_.table().CommOf(tid);
  return comm ? *comm : ":" + std::to_string(tid);
}

const std::string& ExitStats::MmioTypeName(uint32_t type) const {
  static const std::string unknown = "?";
  auto it = mmio_type_names_.find(type);
  return it == mmio_type_names_.end() ? unknown : it->second;
}

std::vector<bool> ExitStats::CountOnlyAttrs() const {
  std::vector<bool> out(samples_by_attr_.size(), false);
  for (size_t i = 0; i < out.size(); ++i) {
    const KvmEvent kind = kvm_.KindOf(static_cast<int>(i));
    // Entries matter only for pairing; other events are only counted.
    out[i] = kind == KvmEvent::kOther || (kind == KvmEvent::kEntry && !filter_.latency);
  }
  return out;
}

void ExitStats::OnSampleCounted(int attr_index, uint32_t pid, uint64_t time) {
  if (Keep(pid, time)) CountSample(attr_index, time);
}

bool ExitStats::Keep(uint32_t pid, uint64_t time) const {
  if (filter_.pid && pid != *filter_.pid) return false;
  if (!filter_.guest.empty() &&
      std::find(filter_.guest_pids.begin(), filter_.guest_pids.end(), pid) == filter_.guest_pids.end()) {
    const std::string* comm = threads_.table().CommOf(pid);
    if (!comm || *comm != filter_.guest) return false;
  }
  if (filter_.time_begin_ns && time < *filter_.time_begin_ns) return false;
  if (filter_.time_end_ns && time > *filter_.time_end_ns) return false;
  return true;
}

void ExitStats::CountSample(int attr_index, uint64_t time) {
  ++samples_by_attr_[static_cast<size_t>(attr_index)];
  ++filtered_samples_;
  if (first_time_ == 0 || time < first_time_) {
    first_time_ = time;
    if (time == 0) zero_time_seen_ = true;
  }
  if (time > last_time_) last_time_ = time;
}

bool ExitStats::ReasonShown(uint32_t id) const {
  if (filter_.reasons.empty()) return true;
  if (id < reason_selected_.size() && reason_selected_[id] >= 0) return reason_selected_[id] == 1;
  if (id >= kvm_.reason_count()) return false;
  // Not met while reading here (the exits were counted by parts of a parallel read).
  for (const auto& want : filter_.reasons) {
    if (strcasecmp(want.c_str(), kvm_.ReasonById(id).c_str()) == 0) return true;
  }
  return false;
}

bool ExitStats::ReasonSelected(uint32_t id) {
  if (filter_.reasons.empty()) return true;
  if (id >= reason_selected_.size()) reason_selected_.resize(id + 1, -1);
  if (reason_selected_[id] < 0) {
    const std::string& name = kvm_.ReasonById(id);
    int8_t yes = 0;
    for (const auto& want : filter_.reasons) {
      if (strcasecmp(want.c_str(), name.c_str()) == 0) yes = 1;
    }
    reason_selected_[id] = yes;
  }
  return reason_selected_[id] == 1;
}

void ExitStats::AddExits(uint32_t pid, uint32_t tid, uint64_t vcpu, uint32_t reason, uint64_t n) {
  exits_.total += n;
  if (reason >= exits_.by_reason.size()) exits_.by_reason.resize(reason + 1, 0);
  exits_.by_reason[reason] += n;
  exits_.by_vcpu.Add((uint64_t{pid} << 32) | tid, vcpu, n);
}

void ExitStats::AddPio(uint32_t pid, uint32_t tid, uint16_t port, uint8_t size, bool write, uint64_t n) {
  pio_[{port, {size, write}}] += n;
  pio_by_thread_.Add((uint64_t{pid} << 32) | tid, (uint64_t{port} << 16) | (uint64_t{write} << 8) | size, n);
}

void ExitStats::NameMmioType(uint32_t type, const std::string& name) {
  if (!mmio_type_names_.count(type)) mmio_type_names_[type] = name;
}

void ExitStats::AddUserspaceExits(uint32_t pid, uint32_t tid, const std::string& reason, uint64_t n) {
  uexits_[reason] += n;
  uexits_by_thread_[(uint64_t{pid} << 32) | tid] += n;
}

void ExitStats::OnEvent(const Event& e) {
  if (e.type != perfdata::kRecordSample) {
    if (is_part_ && recording::ThreadTable::IsThreadRecord(e.type)) thread_events_.push_back(recording::ThreadTable::Copy(e));
    else if (!is_part_) threads_.Apply(e);
    return;
  }
  if (!Keep(e.pid, e.time)) return;
  CountSample(e.attr_index, e.time);
  const auto raw = e.raw;
  switch (kvm_.KindOf(e.attr_index)) {
    case KvmEvent::kExit: {
      const auto& f = kvm_.exit();
      uint64_t vcpu = f.vcpu_id.valid() ? f.vcpu_id.Read(raw) : ~0ULL;
      if (filter_.vcpu && vcpu != *filter_.vcpu) return;
      uint32_t reason = kvm_.ExitReasonId(raw, e.cpu);
      // Every exit is paired, so that an entry never closes an exit the filter hid.
      if (filter_.latency) {
        latency_.OnExit(e.tid, e.time, reason);
        access_latency_.OnExit(e.tid, e.time);
      }
      if (!ReasonSelected(reason)) return;
      AddExits(e.pid, e.tid, vcpu, reason, 1);
      AddExitRip(reason, f.guest_rip.Read(raw), 1);
      if (filter_.timeline) exit_timeline_.Add(e.time, reason);
      if (reason >= io_reason_.size()) io_reason_.resize(reason + 1, -1);
      if (io_reason_[reason] < 0) {
        const auto m = kvm_.reasons().Lookup(kvm_.ReasonById(reason));
        const kvm::ReasonInfo* io = m.vmx && m.vmx->cls == kvm::ReasonClass::kIo ? m.vmx : m.svm && m.svm->cls == kvm::ReasonClass::kIo ? m.svm : nullptr;
        io_reason_[reason] = !io ? 0 : io->isa == kvm::Isa::kVmx ? 1 : 2;
      }
      if (io_reason_[reason] > 0 && f.info1.valid()) {
        const uint64_t q = f.info1.Read(raw);
        uint8_t size;
        bool in;
        if (io_reason_[reason] == 1) {  // VMX exit qualification: size-1 in bits 0-2, IN in bit 3
          size = static_cast<uint8_t>((q & 7) + 1);
          in = (q >> 3) & 1;
        } else {  // SVM EXITINFO1: IN in bit 0, SZ8/SZ16/SZ32 in bits 4-6
          size = (q & 0x10) ? 1 : (q & 0x20) ? 2 : (q & 0x40) ? 4 : 0;
          in = q & 1;
        }
        ++pio_from_exits_[{static_cast<uint16_t>(q >> 16), {size, !in}}];
      }
      // A damaged record's CPU must not grow the table without bound.
      if (e.cpu < kMaxCpus) {
        if (e.cpu >= exits_.by_cpu.size()) exits_.by_cpu.resize(e.cpu + 1, 0);
        ++exits_.by_cpu[e.cpu];
      } else {
        ++exits_.by_cpu_beyond[e.cpu];
      }
      return;
    }
    case KvmEvent::kEntry:
      if (filter_.latency) {
        latency_.OnEntry(e.tid, e.time);
        access_latency_.OnEntry(e.tid, e.time);
      }
      return;
    case KvmEvent::kPio: {
      const auto& f = kvm_.pio();
      const auto port = static_cast<uint16_t>(f.port.Read(raw));
      const auto size = static_cast<uint8_t>(f.size.Read(raw));
      const bool write = f.rw.Read(raw) != 0;
      AddPio(e.pid, e.tid, port, size, write, 1);
      if (filter_.latency) access_latency_.OnPio(e.tid, e.time, port, write);
      return;
    }
    case KvmEvent::kMmio: {
      const auto& f = kvm_.mmio();
      uint32_t type = static_cast<uint32_t>(f.type.Read(raw));
      if (!mmio_type_names_.count(type)) mmio_type_names_[type] = kvm_.MmioTypeName(raw, e.cpu);
      const uint64_t gpa = f.gpa.Read(raw);
      AddMmio(e.pid, gpa, static_cast<uint32_t>(f.len.Read(raw)), type, 1);
      if (filter_.latency) access_latency_.OnMmio(e.tid, e.time, gpa, type);
      return;
    }
    case KvmEvent::kMsr: {
      const auto& f = kvm_.msr();
      ++msr_[{static_cast<uint32_t>(f.ecx.Read(raw)), f.write.Read(raw) != 0}];
      return;
    }
    case KvmEvent::kInjVirq: {
      const auto& f = kvm_.inj_virq();
      ++injected_[{static_cast<uint32_t>(f.vector.Read(raw)), f.soft.Read(raw) != 0}];
      return;
    }
    case KvmEvent::kUserspaceExit: {
      const std::string& name = kvm_.UserspaceExitName(raw, e.cpu);
      AddUserspaceExits(e.pid, e.tid, name, 1);
      if (filter_.timeline) {
        auto [it, added] = userspace_series_ids_.try_emplace(name, static_cast<uint32_t>(userspace_series_.size()));
        if (added) userspace_series_.push_back(name);
        userspace_timeline_.Add(e.time, it->second);
      }
      return;
    }
    default:
      return;
  }
}

}  // namespace exitprof::analysis
