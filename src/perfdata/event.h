// A decoded perf record as analyses see it: the common fields of every record type in one
// flat struct (views into the record's bytes, valid only during the callback).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace exitprof::perfdata {

struct Event {
  uint32_t type = 0;  // RecordType
  uint16_t misc = 0;
  std::span<const uint8_t> record;  // the whole record, header included
  uint64_t file_offset = 0;         // where the record starts (in the decompressed stream if compressed)

  // Sample fields and the sample_id trailer of other records (0 when absent).
  int attr_index = -1;
  bool has_time = false;
  uint64_t time = 0;
  uint32_t pid = 0, tid = 0, cpu = 0;
  uint64_t id = 0, ip = 0, addr = 0, period = 0, stream_id = 0;
  std::span<const uint8_t> raw;        // PERF_SAMPLE_RAW payload
  std::string_view text;               // text captures read for script: the payload as printed
  std::span<const uint8_t> callchain;  // nr u64 instruction pointers
  // PERF_SAMPLE_REGS_USER / STACK_USER (--call-graph dwarf): the registers in sample_regs_user
  // bit order (u64 each) and the filled part of the user stack dump, starting at the user SP.
  uint64_t regs_abi = 0;  // 0 = none (kernel thread), 1 = 32-bit, 2 = 64-bit
  std::span<const uint8_t> regs_user;
  std::span<const uint8_t> stack_user;

  // COMM / FORK / EXIT / LOST specifics.
  std::string_view comm;
  uint32_t ppid = 0, ptid = 0;
  uint64_t lost = 0;

  // MMAP / MMAP2: where a file (or [kernel.kallsyms]_text, [vdso] ...) is mapped.
  uint64_t map_start = 0, map_len = 0, map_pgoff = 0;
  uint32_t map_prot = 0;  // MMAP2 only (PROT_EXEC = 4); MMAP records are executable maps
  std::string_view filename;

  uint64_t callchain_size() const { return callchain.size() / 8; }
  uint64_t callchain_at(size_t i) const;
};

}  // namespace exitprof::perfdata
