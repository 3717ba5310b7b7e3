// libFuzzer target: the bytes are a trace-cmd trace.dat. Parsed in place (tracedat::Reader
// over the bytes), then read through both sinks report and script use: ExitStats (kvm
// decoding through libtraceevent) and ScriptPrinter (to /dev/null).
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "analysis/exit_stats.h"
#include "cli/script_printer.h"
#include "tracedat/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::FILE* const dev_null = std::fopen("/dev/null", "w");
  if (!dev_null) std::abort();
  auto reader = exitprof::tracedat::Reader::FromBytes({data, size}, "<fuzz>");
  if (!reader) return 0;
  exitprof::analysis::ExitStats stats{exitprof::analysis::ExitFilter{}};
  (void)(*reader)->Run(stats);
  exitprof::cli::ScriptPrinter printer(dev_null, false);
  (void)(*reader)->Run(printer);
  return 0;
}
