#include "cli/stat_tui.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "capture/capture_loop.h"

namespace exitprof::cli {

int RunStatTui(const std::function<std::vector<kvm::VmSnapshot>()>& take_sample, StatHistory& history,
               StatViewOptions options, double delay) {
  while (!capture::StopRequested()) {
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    auto sample = take_sample();
    history.Push(sample);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string text = "\033[H\033[2J" + RenderTable(sample, history, options, seconds);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace exitprof::cli
