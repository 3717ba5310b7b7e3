// libFuzzer target: the bytes are a TRACING_DATA blob (perf's trace-event-info format) with an
// example tracepoint payload at the end:
//   [tracing data][payload][u16 LE payload length]
// (a length larger than what is there takes all of it). The blob goes through
// ParseTracingData and TraceEvents::Create; then every event format that libtraceevent
// parsed renders the payload with FormatPayload, its common_type set to that event's id
// so that the event's print fmt is the one used.
//
// libtraceevent is not built with ASan, so its reads past a payload would go unseen; the
// payload is therefore laid right before an inaccessible page, and such a read crashes.
// EXITPROF_FUZZ_PRINT=1 in the environment prints each rendering to stderr (for triage).
#include <sys/mman.h>
#include <unistd.h>

#include <traceevent/event-parse.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

#include "trace/trace_events.h"
#include "trace/tracing_data.h"

namespace {

using exitprof::trace::TraceEvents;

// One writable page followed by a PROT_NONE page.
struct GuardedPage {
  uint8_t* begin = nullptr;
  size_t size = 0;
  uint8_t* end() const { return begin + size; }
};

const GuardedPage& ThePage() {
  static const GuardedPage page = [] {
    GuardedPage p;
    p.size = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    void* m = ::mmap(nullptr, 2 * p.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      std::perror("tracing_data_fuzzer: mmap");
      std::abort();
    }
    p.begin = static_cast<uint8_t*>(m);
    if (::mprotect(p.begin + p.size, p.size, PROT_NONE) != 0) {
      std::perror("tracing_data_fuzzer: mprotect");
      std::abort();
    }
    return p;
  }();
  return page;
}

void StoreLE(uint8_t* p, uint64_t v, uint32_t size) {
  for (uint32_t i = 0; i < size; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> blob(data, size), payload;
  if (size >= 2) {
    size_t n = data[size - 2] | (size_t{data[size - 1]} << 8);
    n = std::min({n, size - 2, ThePage().size});
    blob = std::span<const uint8_t>(data, size - 2 - n);
    payload = std::span<const uint8_t>(data + size - 2 - n, n);
  }
  auto td = exitprof::trace::ParseTracingData(blob, "fuzz");
  if (!td) return 0;
  auto events = TraceEvents::Create(*td, "fuzz");
  if (!events) return 0;
  tep_handle* tep = (*events)->handle();
  const GuardedPage& page = ThePage();
  uint8_t* raw = page.end() - payload.size();
  static const bool print = std::getenv("EXITPROF_FUZZ_PRINT") != nullptr;
  std::string out;
  const int count = tep_get_events_count(tep);
  for (int i = 0; i < count; ++i) {
    tep_event* event = tep_get_event(tep, i);
    if (!event) continue;
    if (!payload.empty()) std::memcpy(raw, payload.data(), payload.size());
    // (TraceEvents::Field finds only an event's own fields, not the common ones.)
    const tep_format_field* type = tep_find_common_field(event, "common_type");
    if (type && type->size > 0 && type->size <= 8 && type->offset >= 0 &&
        static_cast<size_t>(type->offset) + static_cast<size_t>(type->size) <= payload.size()) {
      StoreLE(raw + type->offset, static_cast<uint64_t>(event->id), static_cast<uint32_t>(type->size));
    }
    (void)(*events)->FindById(static_cast<uint64_t>(event->id));
    (void)TraceEvents::FullName(event);
    (*events)->FormatPayload(event, {raw, payload.size()}, /*cpu=*/0, /*time=*/0, out);
    if (print) std::fprintf(stderr, "%s: %s\n", TraceEvents::FullName(event).c_str(), out.c_str());
  }
  return 0;
}
