// libFuzzer target for `exitprof stat`'s parsers of outside bytes. The first byte picks one:
//   0: a KVM binary stats fd's contents (header, id, descriptors) -> ParseStatsLayout
//   1: a QMP answer (JSON text) -> ParseQmpSchemas, then ParseQmpStats of each entry's "stats"
//   2: a tracepoint print fmt -> its __print_symbolic tables (kvm/print_symbolic.h)
// Each must return a value or an error, never crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "kvmstat/binary_stats.h"
#include "kvm/print_symbolic.h"
#include "kvmstat/qmp_stats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto layout = exitprof::kvmstat::ParseStatsLayout(rest, "fuzz");
      if (layout) {
        for (const auto& d : layout->descriptors) (void)exitprof::kvmstat::UnitLabel(d);
      }
      break;
    }
    case 1: {
      auto json = nlohmann::json::parse(rest.begin(), rest.end(), nullptr, /*allow_exceptions=*/false);
      if (json.is_discarded()) break;
      try {
        auto schemas = exitprof::kvmstat::ParseQmpSchemas(json);
        exitprof::kvmstat::QmpSchema none;
        if (json.is_array()) {
          for (const auto& entry : json) {
            if (entry.is_object() && entry.contains("stats")) {
              (void)exitprof::kvmstat::ParseQmpStats(entry["stats"], schemas ? schemas->vcpu : none);
            }
          }
        }
      } catch (const nlohmann::json::exception&) {
        // The sampler turns these into "unexpected QMP answer" errors (stat_sampler.cc).
      }
      break;
    }
    case 2: {
      const std::string text(rest.begin(), rest.end());
      (void)exitprof::kvm::ParsePrintSymbolic(text);
      break;
    }
  }
  return 0;
}
