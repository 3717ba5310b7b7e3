// libFuzzer target: the bytes are a text capture (perf script, trace-cmd report, ftrace text).
// Detection, parsing, and report's sink (ExitStats) counting and pairing exits, ordered.
// (Links no CLI code: the reader's own decoding is what is fuzzed.)
#include <cstdint>
#include <string_view>

#include "analysis/exit_stats.h"
#include "textcapture/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)exitprof::textcapture::LooksLikeTextCapture(text);
  auto reader = exitprof::textcapture::Reader::FromText(text, "<fuzz>", {.keep_text = true});
  if (!reader) return 0;
  // One run (each sink start forks to vet the formats): ordered, with exit pairing, which
  // also counts everything report counts.
  exitprof::analysis::ExitFilter filter;
  filter.latency = true;
  exitprof::analysis::ExitStats stats{filter};
  (*reader)->SetOrdered(true);
  (void)(*reader)->Run(stats);
  return 0;
}
