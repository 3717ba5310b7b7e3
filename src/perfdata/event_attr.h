// One perf_event_attr as recorded in a file, plus the ids that map records to it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace exitprof::perfdata {

struct EventAttr {
  uint32_t type = 0;
  uint32_t size = 0;  // the attr size the recording perf wrote
  uint64_t config = 0;
  uint64_t sample_period = 0;
  uint64_t sample_type = 0;
  uint64_t read_format = 0;
  uint64_t flags = 0;
  uint64_t branch_sample_type = 0;
  uint64_t sample_regs_user = 0;
  uint64_t sample_regs_intr = 0;
  uint32_t sample_stack_user = 0;  // bytes of user stack each sample copies (--call-graph dwarf)
  std::string name;  // "kvm:kvm_exit"; from EVENT_DESC, EVENT_UPDATE or the tracepoint format
  std::vector<uint64_t> ids;

  bool sample_id_all() const;
};

// Decodes an attr of `attr_size` bytes (any perf version: fields beyond the buffer are zero,
// fields we do not know are ignored). `where` names the place for error messages.
Result<EventAttr> ParseEventAttr(std::span<const uint8_t> bytes, const std::string& where);

// The name perf would give an attr that carries none: "cycles", "cpu-clock", or type/config.
std::string DefaultEventName(const EventAttr& attr);

// Encodes an attr in our (VER7) layout; used by the writer.
std::vector<uint8_t> EncodeEventAttr(const EventAttr& attr);

}  // namespace exitprof::perfdata
