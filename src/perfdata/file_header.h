// The perf.data file header (file mode): attrs section, data section and feature sections.
#pragma once

#include <cstdint>
#include <span>

#include "base/result.h"
#include "recording/session_info.h"

namespace exitprof::perfdata {

enum class FileFormat { kFile, kPipe };

// Looks at the first 16 bytes; fails with a clear line for non-perf and byte-swapped input.
Result<FileFormat> DetectFormat(std::span<const uint8_t> head, const std::string& path);

// Parses a file-mode header into `info` (attrs with ids, data section bounds, features).
Result<void> ParseFileHeader(std::span<const uint8_t> file, recording::SessionInfo& info);

}  // namespace exitprof::perfdata
