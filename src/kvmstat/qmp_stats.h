// KVM statistics over QMP (QEMU 7.1+): query-stats for the VM and every vCPU, query-stats-schemas
// for types and units, query-cpus-fast for which vCPU (and thread) each qom-path is.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>

#include "base/result.h"
#include "kvmstat/stat_model.h"

namespace exitprof::kvmstat {

// The kvm provider's schema: name -> (type, unit, bucket size) for one target ("vm" or "vcpu").
using QmpSchema = std::map<std::string, StatMeta>;
struct QmpSchemas {
  QmpSchema vm, vcpu;
};
Result<QmpSchemas> ParseQmpSchemas(const nlohmann::json& answer);

// Turns one query-stats answer entry's "stats" array into a table (names in the answer's order).
// Values that are arrays are histograms; the schema supplies types and units where it knows them.
Result<StatTable> ParseQmpStats(const nlohmann::json& stats, const QmpSchema& schema);

// Connects to `socket`, reads every kvm statistic of the VM and its vCPUs into `vm` (stats and
// vcpus, with thread ids); `schemas` is filled on first use and kept by the caller.
Result<void> ReadQmpStats(const std::string& socket, std::unique_ptr<QmpSchemas>& schemas, VmSnapshot& vm);

}  // namespace exitprof::kvmstat
