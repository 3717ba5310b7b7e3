// The TRACING_DATA blob perf embeds in a recording (tools/perf trace-event-info.c format):
// header_page, header_event, event format files, kallsyms, printk formats, saved cmdlines.
// Parsing only splits it; TraceEvents feeds the pieces to libtraceevent.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace exitprof::trace {

struct FormatFile {
  std::string system;  // "ftrace" for the ftrace formats
  std::string text;
};

struct TracingData {
  std::string version = "0.6";
  bool big_endian = false;
  uint8_t long_size = 8;
  uint32_t page_size = 4096;
  std::string header_page;
  std::string header_event;
  std::vector<FormatFile> formats;
  std::string kallsyms;
  std::string printk_formats;
  std::string saved_cmdlines;
};

Result<TracingData> ParseTracingData(std::span<const uint8_t> bytes, const std::string& where);
std::vector<uint8_t> EncodeTracingData(const TracingData& data);

}  // namespace exitprof::trace
