// libFuzzer target: the bytes are a text capture (perf script, trace-cmd report, ftrace text).
// Detection, parsing, and both sinks report and script use: ExitStats and ScriptPrinter.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "analysis/exit_stats.h"
#include "cli/script_printer.h"
#include "textcapture/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::FILE* const dev_null = std::fopen("/dev/null", "w");
  if (!dev_null) std::abort();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)exitprof::textcapture::LooksLikeTextCapture(text);
  auto reader = exitprof::textcapture::Reader::FromText(text, "<fuzz>");
  if (!reader) return 0;
  exitprof::analysis::ExitStats stats{exitprof::analysis::ExitFilter{}};
  (void)(*reader)->Run(stats);
  exitprof::cli::ScriptPrinter printer(dev_null, false);
  (void)(*reader)->Run(printer);
  return 0;
}
