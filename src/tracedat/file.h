// trace-cmd's trace.dat layout, versions 6 and 7 (trace-cmd.dat.v6/v7(5)): the header, the
// embedded tracing metadata (header_page/header_event, formats, kallsyms, printk, cmdlines),
// options, and where each buffer's per-CPU ring-buffer pages are. Parsing only locates and
// validates; pages are decoded by tracedat::Reader.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "trace/tracing_data.h"

namespace exitprof::tracedat {

// The magic both versions start with: "\x17\x08Dtracing".
bool HasTraceDatMagic(std::span<const uint8_t> bytes);

struct CpuData {
  uint32_t cpu = 0;
  uint64_t offset = 0;  // in the file
  uint64_t size = 0;    // in the file (compressed size when the buffer is compressed)
};

struct Buffer {
  std::string name;   // "" = the top instance
  std::string clock;  // trace clock of its timestamps ("local", "x86-tsc", ...)
  bool compressed = false;
  std::vector<CpuData> cpus;
};

struct Tsc2Nsec {
  uint32_t mult = 0, shift = 0;
  uint64_t offset = 0;
};

struct Guest {
  std::string name;
  uint64_t trace_id = 0;
  std::vector<std::pair<uint32_t, uint32_t>> vcpu_to_host_tid;
};

struct TraceDatFile {
  int version = 0;
  uint8_t long_size = 8;
  uint32_t page_size = 4096;
  std::string compression = "none";  // "none", "zlib" or "zstd"
  trace::TracingData meta;           // header_page, header_event, formats, kallsyms, printk, cmdlines
  uint32_t cpu_count = 0;
  std::vector<Buffer> buffers;  // flyrecord data, top instance first when present
  bool has_latency_text = false;
  std::string trace_clock;  // the TRACECLOCK option: the selected clock of the top instance
  std::string uname, tracer_version;
  std::optional<Tsc2Nsec> tsc2nsec;
  uint64_t trace_id = 0;
  bool has_time_shift = false;  // a guest file with host time-sync data
  std::vector<Guest> guests;    // a host file naming its traced guests
};

Result<TraceDatFile> ParseTraceDat(std::span<const uint8_t> file, const std::string& where);

// Inflates one block compressed with the file's algorithm into exactly `size` bytes.
Result<std::vector<uint8_t>> Decompress(const std::string& algorithm, std::span<const uint8_t> in,
                                        uint64_t size, const std::string& where);

// One CPU's ring-buffer pages of `buffer`: inflated when the buffer is compressed, else a
// copy of the file's bytes. Fails on data past the end of the file or a damaged chunk.
Result<std::vector<uint8_t>> ReadCpuPages(const TraceDatFile& file, std::span<const uint8_t> bytes, const Buffer& buffer,
                                          const CpuData& cpu, const std::string& where);

// The clock between the brackets of tracefs's trace_clock ("local [x86-tsc] counter").
std::string SelectedClock(const std::string& trace_clock);

}  // namespace exitprof::tracedat
