#include "trace/trace_events.h"

#include <traceevent/event-parse.h>
#include <traceevent/trace-seq.h>

#include <cstring>

#include "base/byte_reader.h"

namespace exitprof::trace {


Result<std::unique_ptr<TraceEvents>> TraceEvents::Create(const TracingData& data, const std::string& where) {
  std::unique_ptr<TraceEvents> events(new TraceEvents());
  events->tep_ = tep_alloc();
  if (!events->tep_) return Fail("libtraceevent: out of memory", 1);
  tep_handle* tep = events->tep_;
  tep_set_file_bigendian(tep, data.big_endian ? TEP_BIG_ENDIAN : TEP_LITTLE_ENDIAN);
  tep_set_local_bigendian(tep, TEP_LITTLE_ENDIAN);
  tep_set_long_size(tep, data.long_size);
  tep_set_page_size(tep, static_cast<int>(data.page_size));
  if (!data.header_page.empty()) {
    std::string hp = data.header_page;
    tep_parse_header_page(tep, hp.data(), hp.size(), data.long_size);
  }
  int parsed = 0;
  for (const auto& f : data.formats) {
    if (tep_parse_event(tep, f.text.data(), f.text.size(), f.system.c_str()) == 0) ++parsed;
  }
  if (!data.formats.empty() && parsed == 0) {
    return Fail(where + ": none of the " + std::to_string(data.formats.size()) +
                " tracepoint formats in the tracing data could be parsed");
  }
  if (!data.kallsyms.empty()) tep_parse_kallsyms(tep, data.kallsyms.c_str());
  if (!data.printk_formats.empty()) tep_parse_printk_formats(tep, data.printk_formats.c_str());
  events->seq_ = new trace_seq;
  trace_seq_init(events->seq_);
  return events;
}

TraceEvents::~TraceEvents() {
  if (seq_) {
    trace_seq_destroy(seq_);
    delete seq_;
  }
  if (tep_) tep_free(tep_);
}

tep_event* TraceEvents::FindById(uint64_t id) const {
  if (id > INT32_MAX) return nullptr;
  return tep_find_event(tep_, static_cast<int>(id));
}

tep_event* TraceEvents::FindByName(const std::string& system, const std::string& name) const {
  return tep_find_event_by_name(tep_, system.c_str(), name.c_str());
}

std::string TraceEvents::FullName(const tep_event* event) {
  if (!event) return {};
  return std::string(event->system) + ":" + event->name;
}

FieldRef TraceEvents::Field(tep_event* event, const char* name) {
  FieldRef ref;
  if (!event) return ref;
  tep_format_field* field = tep_find_field(event, name);
  if (!field) return ref;
  ref.offset = static_cast<uint32_t>(field->offset);
  ref.size = static_cast<uint32_t>(field->size);
  ref.is_signed = (field->flags & TEP_FIELD_IS_SIGNED) != 0;
  if (ref.size != 1 && ref.size != 2 && ref.size != 4 && ref.size != 8) ref.size = 0;
  return ref;
}

void TraceEvents::FormatPayload(tep_event* event, std::span<const uint8_t> raw, uint32_t cpu,
                                uint64_t time, std::string& out) const {
  tep_record record{};
  record.ts = time;
  record.size = static_cast<int>(raw.size());
  record.record_size = static_cast<int>(raw.size());
  record.data = const_cast<uint8_t*>(raw.data());
  record.cpu = static_cast<int>(cpu);
  trace_seq_reset(seq_);
  tep_print_event(tep_, seq_, &record, "%s", TEP_PRINT_INFO);
  trace_seq_terminate(seq_);
  out.assign(seq_->buffer, seq_->len);
  (void)event;
}

}  // namespace exitprof::trace
