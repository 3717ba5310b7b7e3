#include "capture/capture_loop.h"

#include <signal.h>

#include <atomic>

namespace exitprof::capture {

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }
}  // namespace

void InstallStopSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool StopRequested() { return g_stop.load(); }

Result<void> RunCaptureLoop(Recorder& recorder, perfdata::Writer& writer, const std::function<bool()>& should_stop) {
  while (!should_stop()) {
    if (auto r = recorder.Poll(100); !r) return r;
    if (auto r = recorder.DrainInto(writer); !r) return r;
  }
  if (auto r = recorder.Disable(); !r) return r;
  if (auto r = recorder.DrainInto(writer); !r) return r;
  return writer.Finish();
}

}  // namespace exitprof::capture
