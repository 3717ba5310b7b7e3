// Opens a recording for reading, whatever its format: perf.data (file or pipe mode),
// trace-cmd's trace.dat (by its magic) or a text capture (perf script, trace-cmd report,
// ftrace), told apart by their first bytes. No global state: the caller's options say how.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "recording/source.h"

namespace exitprof::report {

struct InputOptions {
  std::string path = "perf.data";  // "-" and paths that are not regular files are streams
  // report --text: a text capture even when its first lines do not look like one.
  bool force_text = false;
  // script: text captures keep each event's payload as printed, so that script prints it
  // back (no field the text did not have is invented).
  bool keep_text_payloads = false;
};

// With progress on stderr when it is a terminal and the file is large.
Result<std::unique_ptr<recording::RecordingSource>> OpenRecording(const InputOptions& input);

// The CPUs this process may run on (its affinity mask), at least 1: the default of -j.
unsigned AvailableCpus();

}  // namespace exitprof::report
