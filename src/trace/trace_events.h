// Tracepoint formats through libtraceevent: built once per recording from its tracing data;
// gives field places (resolved once per event type), "system:name" names, and the payload
// text exactly as the recording kernel's print fmt renders it (what perf script prints).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "trace/tracing_data.h"

struct tep_handle;
struct tep_event;
struct trace_seq;

namespace exitprof::trace {

struct FieldRef {
  uint32_t offset = 0;
  uint32_t size = 0;  // 0 = the event has no such field
  bool is_signed = false;
  bool valid() const { return size != 0; }
  // Reads an integer field from a raw payload; 0 when absent or out of bounds.
  uint64_t Read(std::span<const uint8_t> raw) const {
    if (!size || offset + size > raw.size()) return 0;
    const uint8_t* p = raw.data() + offset;
    switch (size) {
      case 1: return is_signed ? static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(*p))) : *p;
      case 2: {
        uint16_t v;
        std::memcpy(&v, p, 2);
        return is_signed ? static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(v))) : v;
      }
      case 4: {
        uint32_t v;
        std::memcpy(&v, p, 4);
        return is_signed ? static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v))) : v;
      }
      case 8: {
        uint64_t v;
        std::memcpy(&v, p, 8);
        return v;
      }
      default: return 0;
    }
  }
};

class TraceEvents {
 public:
  static Result<std::unique_ptr<TraceEvents>> Create(const TracingData& data, const std::string& where);
  // From a recording's TRACING_DATA bytes; null (not an error) when there are none.
  static Result<std::unique_ptr<TraceEvents>> FromTracingData(std::span<const uint8_t> bytes, const std::string& where);
  ~TraceEvents();
  TraceEvents(const TraceEvents&) = delete;
  TraceEvents& operator=(const TraceEvents&) = delete;

  // The event with this tracepoint id (perf_event_attr.config), or null.
  tep_event* FindById(uint64_t id) const;
  tep_event* FindByName(const std::string& system, const std::string& name) const;
  static std::string FullName(const tep_event* event);  // "kvm:kvm_exit"
  static FieldRef Field(tep_event* event, const char* name);

  // The payload as the format's print fmt renders it (perf script's trace field).
  void FormatPayload(tep_event* event, std::span<const uint8_t> raw, uint32_t cpu, uint64_t time,
                     std::string& out) const;

  // The event's print fmt as the recording wrote it ("" when unknown): for readers of its
  // __print_symbolic tables (kvm/reason_table.h), which need the text, not libtraceevent's tree.
  std::string_view PrintFmt(const tep_event* event) const;

  tep_handle* handle() const { return tep_; }
  // Formats skipped because libtraceevent crashes on them (damaged or hostile input).
  size_t unparseable_formats() const { return unparseable_; }

 private:
  TraceEvents() = default;
  tep_handle* tep_ = nullptr;
  size_t unparseable_ = 0;
  trace_seq* seq_ = nullptr;
  size_t fixed_end_ = 0;                  // the furthest any event's fixed fields reach
  std::unordered_map<int, std::string> print_fmts_;  // by event id
  mutable std::vector<uint8_t> scratch_;  // FormatPayload: the record, then zeros
};

}  // namespace exitprof::trace
