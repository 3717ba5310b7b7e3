// libFuzzer target: perf probe definitions and fetch/type checks. Any text must give a spec or
// one clear error, never a crash; a parsed spec must print a definition without trouble.
#include <cstdint>
#include <string_view>

#include "probe/probe_command.h"
#include "probe/probe_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = exitprof::probe::ParseProbeSpec(text);
  if (!spec) return 0;
  exitprof::probe::ResolvedProbe probe;
  probe.group = spec->group.empty() ? "probe" : spec->group;
  probe.event = exitprof::probe::DefaultEventName(*spec);
  probe.symbol = spec->function;
  probe.is_return = spec->is_return;
  for (const auto& a : spec->args) {
    (void)exitprof::probe::CheckFetch(a.expr, spec->is_return, true);
    (void)exitprof::probe::CheckType(a.type);
    probe.args.push_back({a.name, a.expr, a.type});
  }
  (void)exitprof::probe::ProbeDefinition(probe);
  return 0;
}
