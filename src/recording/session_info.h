// What a recording says about itself: attrs, feature sections, tracing data. Filled from the
// file header and feature sections (file mode) or from pipe-mode header records as they arrive.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "perfdata/event_attr.h"

namespace exitprof::recording {

struct SessionInfo {
  std::string path;  // "-" for stdin
  bool pipe_mode = false;
  uint64_t file_size = 0;
  uint64_t data_offset = 0;
  uint64_t data_size = 0;
  std::vector<perfdata::EventAttr> attrs;
  std::vector<uint8_t> tracing_data;  // TRACING_DATA feature or pipe record payload
  std::string hostname, os_release, perf_version, arch, cpu_desc, cpu_id;
  uint32_t nr_cpus_available = 0, nr_cpus_online = 0;
  uint64_t total_mem_kb = 0;
  std::vector<std::string> cmdline;
  uint32_t compression_type = 0;  // 1 = zstd
  uint32_t compression_level = 0;
  uint32_t compression_mmap_len = 0;
  std::vector<uint32_t> features;  // feature ids present (and read)
  // What was damaged but read around (a feature section shorter than it claims): one line each.
  std::vector<std::string> warnings;
  uint64_t first_sample_time = 0, last_sample_time = 0;  // SAMPLE_TIME feature (0 = absent)
  // trace.dat input: its trace clock, and whether timestamps are raw counter ticks (an x86-tsc
  // clock with no tsc2nsec conversion in the file) rather than nanoseconds.
  std::string trace_clock;
  bool time_in_ticks = false;
  // Text captures (perf script / trace-cmd report / ftrace text): the layout read, and the
  // lines that were not understood (counted, the first kept); notes for the report header.
  std::string text_layout;
  uint64_t text_lines = 0, unparsed_lines = 0, first_unparsed_line = 0;
  std::string first_unparsed_text;
  std::vector<std::string> notes;
  // The input names threads but not their processes (trace.dat, text without tgids): pid = tid,
  // so each vCPU thread counts as a VM of its own.
  bool processes_unknown = false;
  // Columns some line of the text did not print (perf script -F), so script leaves them out.
  bool text_lacks_tid = false, text_lacks_cpu = false, text_lacks_time = false;
  // How finely timestamps were recorded: 0 = to the nanosecond (binary recordings); a text
  // capture's coarsest printed resolution (1000 = perf script's default microseconds).
  uint64_t time_resolution_ns = 0;

  int FindAttrByName(const std::string& name) const;
};


}  // namespace exitprof::recording
