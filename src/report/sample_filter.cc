#include "report/sample_filter.h"

#include <strings.h>

#include <algorithm>

#include "perfdata/abi.h"

namespace exitprof::report {

Result<void> SampleFilter::OnSessionReady(const recording::SessionInfo& info) {
  if (!filter_.reasons.empty() || filter_.vcpu) {
    auto events = trace::TraceEvents::FromTracingData(info.tracing_data, info.path);
    if (!events) return tl::unexpected(events.error());
    events_ = std::move(*events);
    kvm_.Bind(info, events_.get());
  }
  return next_.OnSessionReady(info);
}

bool SampleFilter::Keep(const perfdata::Event& e) {
  if (filter_.pid && e.pid != *filter_.pid) return false;
  if (filter_.time_begin_ns && e.time < *filter_.time_begin_ns) return false;
  if (filter_.time_end_ns && e.time > *filter_.time_end_ns) return false;
  if (!filter_.guest.empty() &&
      std::find(filter_.guest_pids.begin(), filter_.guest_pids.end(), e.pid) == filter_.guest_pids.end()) {
    const std::string* comm = threads_.table().CommOf(e.pid);
    if (!comm || *comm != filter_.guest) return false;
  }
  if (filter_.reasons.empty() && !filter_.vcpu) return true;
  if (kvm_.KindOf(e.attr_index) != kvm::KvmEvent::kExit) return false;
  const auto& f = kvm_.exit();
  if (filter_.vcpu && (!f.vcpu_id.valid() || f.vcpu_id.Read(e.raw) != *filter_.vcpu)) return false;
  if (filter_.reasons.empty()) return true;
  const std::string& reason = kvm_.ReasonById(kvm_.ExitReasonId(e.raw, e.cpu));
  return std::any_of(filter_.reasons.begin(), filter_.reasons.end(),
                     [&](const std::string& want) { return strcasecmp(want.c_str(), reason.c_str()) == 0; });
}

void SampleFilter::OnEvent(const perfdata::Event& e) {
  threads_.Apply(e);  // before the sink behind sees the record: it reads this table
  if (e.type == perfdata::kRecordSample && !Keep(e)) return;
  next_.OnEvent(e);
}

}  // namespace exitprof::report
