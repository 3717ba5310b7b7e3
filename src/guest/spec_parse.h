// Strict parsing of the guest's command-line op specs. Errors say what was expected, e.g.
// "expected PORT:SIZE:r|w[:VALUE], got '0x3f8:3:w': SIZE must be 1, 2 or 4".
#pragma once

#include <cstdint>
#include <string_view>

#include "guest/guest.h"

namespace exitprof::guest {

// A whole-string unsigned number: decimal, or hex with a 0x/0X prefix. No sign, no spaces.
Result<uint64_t> ParseNumber(std::string_view text);

// "PORT:SIZE:r|w[:VALUE]" -> PortIn / PortOut. VALUE defaults to kDefaultValue cut to SIZE.
Result<Op> ParsePioSpec(std::string_view text);
// "GPA:SIZE:r|w[:VALUE]" -> MmioRead / MmioWrite; the gpa rules are ValidateProgram's.
Result<Op> ParseMmioSpec(std::string_view text);

// Written by default writes and answered by default reads: 0x5a, 0x5a5a or 0x5a5a5a5a.
inline constexpr uint32_t kDefaultValue = 0x5a5a5a5a;

}  // namespace exitprof::guest
