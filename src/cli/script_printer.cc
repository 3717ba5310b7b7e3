#include "cli/script_printer.h"

#include <fmt/format.h>

#include <algorithm>

#include "perfdata/abi.h"

namespace exitprof::cli {

ScriptPrinter::~ScriptPrinter() { std::fflush(out_); }

Result<void> ScriptPrinter::OnSessionReady(const recording::SessionInfo& info) {
  auto events = trace::TraceEvents::FromTracingData(info.tracing_data, info.path);
  if (!events) return tl::unexpected(events.error());
  trace_ = std::move(*events);
  is_text_ = !info.text_layout.empty();
  lacks_tid_ = info.text_lacks_tid;
  lacks_cpu_ = info.text_lacks_cpu;
  lacks_time_ = info.text_lacks_time;
  filter_.SetFirstSampleTime(info.first_sample_time);
  for (const auto& attr : info.attrs) {
    tep_event* event = nullptr;
    std::string name = attr.name;
    if (attr.type == perfdata::kTypeTracepoint && trace_) {
      event = trace_->FindById(attr.config);
      if (event) name = trace::TraceEvents::FullName(event);
    }
    if (name.empty()) name = perfdata::DefaultEventName(attr);
    names_.push_back(name);
    events_.push_back(event);
    has_callchain_.push_back((attr.sample_type & perfdata::kSampleCallchain) != 0);
    // perf pads event names to the longest name among all of the session's events.
    name_width_ = std::max<int>(name_width_, static_cast<int>(name.size()));
  }
  return {};
}

const std::string& ScriptPrinter::CommOf(uint32_t tid) {
  if (const std::string* comm = threads_.table().CommOf(tid)) return *comm;
  unknown_comm_ = threads_.table().PerfComm(tid);  // ":TID", or "swapper" for the idle thread
  return unknown_comm_;
}

void ScriptPrinter::OnEvent(const perfdata::Event& e) {
  if (threads_.Apply(e) || e.type != perfdata::kRecordSample) return;
  const size_t index = static_cast<size_t>(e.attr_index);
  const std::string& comm = CommOf(e.tid);
  if (!filter_.Keep(e.time, e.cpu, e.pid, e.tid, comm)) return;
  uint64_t time = e.time;
  if (filter_.reltime) {
    if (!printed_any_) first_printed_ = e.time;
    time -= first_printed_;
  }
  printed_any_ = true;
  // perf_sample__fprintf_start's fields, each with its separator; a text capture's columns only
  // where its lines had them.
  line_.clear();
  const bool show_comm = fields_.comm && !(is_text_ && comm.empty());  // perf script -F time,event,trace
  if (show_comm && has_callchain_[index]) line_ += fmt::format("{} ", comm);
  else if (show_comm) line_ += fmt::format("{:>16} ", comm);
  const bool show_tid = fields_.tid && !lacks_tid_;
  if (fields_.pid && show_tid) line_ += fmt::format("{:>5}/{:<5} ", static_cast<int32_t>(e.pid), static_cast<int32_t>(e.tid));
  else if (fields_.pid) line_ += fmt::format("{:>5} ", static_cast<int32_t>(e.pid));
  else if (show_tid) line_ += fmt::format("{:>5} ", static_cast<int32_t>(e.tid));
  if (fields_.cpu && !lacks_cpu_) line_ += fmt::format("[{:03}] ", e.cpu);
  if (fields_.time && !lacks_time_) {  // "kvm_exit: reason ..." lines had no time: none printed
    const uint64_t secs = time / 1000000000ULL;
    if (ns_) line_ += fmt::format("{:>5}.{:09}: ", secs, time % 1000000000ULL);
    else line_ += fmt::format("{:>5}.{:06}: ", secs, (time % 1000000000ULL) / 1000ULL);
  }
  if (fields_.event) line_ += fmt::format("{:>{}}: ", names_[index], name_width_);
  if (!fields_.trace) {
  } else if (!e.text.empty()) {
    line_ += e.text;  // a text capture's payload, as its tool printed it
  } else if (events_[index] && e.raw.size() >= 8) {
    trace_->FormatPayload(events_[index], e.raw, e.cpu, e.time, payload_);
    line_ += payload_;
  } else {
    line_ += fmt::format("{:16x}", e.ip);
  }
  line_ += '\n';
  std::fwrite(line_.data(), 1, line_.size(), out_);
}

}  // namespace exitprof::cli
