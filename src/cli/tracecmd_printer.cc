#include "cli/tracecmd_printer.h"

#include <fmt/format.h>
#include <traceevent/event-parse.h>

#include <algorithm>

#include "perfdata/abi.h"

namespace exitprof::cli {

TraceCmdPrinter::TraceCmdPrinter(std::FILE* out, std::vector<std::string> buffers, bool ticks, uint32_t cpus,
                                 std::string kallsyms, bool nanoseconds)
    : out_(out), ticks_(ticks), ns_(nanoseconds), cpus_(cpus), kallsyms_(std::move(kallsyms)) {
  // With more than one buffer trace-cmd starts each line with its buffer's name, padded to
  // the longest ("" for the top buffer).
  if (std::any_of(buffers.begin(), buffers.end(), [](const std::string& b) { return !b.empty(); })) {
    size_t width = 0;
    for (const auto& b : buffers) width = std::max(width, b.size() + 2);
    for (const auto& b : buffers) prefixes_.push_back(fmt::format("{:<{}}", b.empty() ? "" : b + ": ", width));
  }
}

TraceCmdPrinter::~TraceCmdPrinter() {
  std::fflush(out_);
  if (plugins_ && trace_) tep_unload_plugins(plugins_, trace_->handle());
}

Result<void> TraceCmdPrinter::OnSessionReady(const recording::SessionInfo& info) {
  auto events = trace::TraceEvents::FromTracingData(info.tracing_data, info.path);
  if (!events) return tl::unexpected(events.error());
  trace_ = std::move(*events);
  // trace-cmd report prints through libtraceevent's plugins (kvm_exit's "reason X rip 0x.. info
  // A B" comes from plugin_kvm): load them too, so that lines match byte for byte.
  if (trace_) plugins_ = tep_load_plugins(trace_->handle());
  if (trace_ && !kallsyms_.empty()) tep_parse_kallsyms(trace_->handle(), kallsyms_.c_str());
  for (const auto& attr : info.attrs) {
    tep_event* event = trace_ ? trace_->FindById(attr.config) : nullptr;
    events_.push_back(event);
    std::string name = event ? trace::TraceEvents::FullName(event) : attr.name;
    names_.push_back(name.substr(name.find(':') + 1));  // trace-cmd shows the event without its system
  }
  std::fprintf(out_, "cpus=%u\n", cpus_);
  return {};
}

void TraceCmdPrinter::OnEvent(const perfdata::Event& e) {
  if (threads_.Apply(e)) return;
  line_.clear();
  const std::string& prefix = e.stream_id < prefixes_.size() ? prefixes_[e.stream_id] : std::string();
  if (e.type == perfdata::kRecordLost) {
    if (e.lost) line_ = fmt::format("{}CPU:{} [{} EVENTS DROPPED]\n", prefix, e.cpu, e.lost);
    else line_ = fmt::format("{}CPU:{} [EVENTS DROPPED]\n", prefix, e.cpu);
    std::fwrite(line_.data(), 1, line_.size(), out_);
    return;
  }
  if (e.type != perfdata::kRecordSample) return;
  const size_t index = static_cast<size_t>(e.attr_index);
  const std::string* comm = threads_.table().CommOf(e.tid);
  line_ += prefix;
  // trace-cmd's names for threads its saved cmdlines do not hold.
  line_ += fmt::format("{:>16}-{:<5} [{:03}] ", comm ? std::string_view(*comm) : e.tid == 0 ? "<idle>" : "<...>", static_cast<int32_t>(e.tid), e.cpu);
  if (ticks_) line_ += fmt::format("{:>11}: ", e.time);
  else if (ns_) line_ += fmt::format("{:>5}.{:09}: ", e.time / 1000000000ULL, e.time % 1000000000ULL);
  else {
    const uint64_t us = (e.time + 500) / 1000;  // rounded to the microsecond, as trace-cmd does
    line_ += fmt::format("{:>5}.{:06}: ", us / 1000000, us % 1000000);
  }
  // "name:" left-aligned in 21 columns, then the payload.
  const std::string& name = names_[index];
  line_ += fmt::format("{}:{:<{}} ", name, "", name.size() < 20 ? 20 - name.size() : 0);
  if (events_[index] && e.raw.size() >= 8) {
    trace_->FormatPayload(events_[index], e.raw, e.cpu, e.time, payload_);
    line_ += payload_;
  }
  line_ += '\n';
  std::fwrite(line_.data(), 1, line_.size(), out_);
}

}  // namespace exitprof::cli
