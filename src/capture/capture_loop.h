// The recording loop shared by `record` and `demo`: poll the rings, copy them into the writer
// round by round until told to stop, then disable, drain what is left and finish the file, so
// that a stop at any moment (Ctrl-C included) leaves a valid recording.
#pragma once

#include <functional>

#include "capture/recorder.h"

namespace exitprof::capture {

Result<void> RunCaptureLoop(Recorder& recorder, perfdata::Writer& writer, const std::function<bool()>& should_stop);

// Installs SIGINT/SIGTERM handlers that only set a flag (no SA_RESTART, so poll returns).
void InstallStopSignals();
bool StopRequested();

}  // namespace exitprof::capture
