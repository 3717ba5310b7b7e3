// perf.data feature sections (file header bitmap or pipe-mode HEADER_FEATURE records).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/result.h"
#include "recording/session_info.h"

namespace exitprof::perfdata {

// Parses one feature section's bytes into `info`. Unknown features are accepted and ignored; a
// damaged one is skipped with a line in info.warnings (perf skips it too).
Result<void> ParseFeature(uint32_t feature, std::span<const uint8_t> bytes, recording::SessionInfo& info,
                          const std::string& where);

}  // namespace exitprof::perfdata
