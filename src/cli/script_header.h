// `exitprof script --header`: the recording's header as `perf script --header` prints it (perf's
// header.c print functions for the features a kvm recording carries), from the SessionInfo the
// reader already filled.
#pragma once

#include <string>

#include "recording/session_info.h"

namespace exitprof::cli {

// "" for inputs that are not perf.data files (pipes, trace.dat, text captures): perf prints
// no header for them either.
std::string PerfHeaderText(const recording::SessionInfo& info);

}  // namespace exitprof::cli
