// What `exitprof stat` shows, independent of where the numbers came from (binary stats fds,
// QMP query-stats, debugfs): per VM and per vCPU, a table of named statistics.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kvmstat/binary_stats.h"

namespace exitprof::kvmstat {

struct StatMeta {
  std::string name;
  StatType type = StatType::kCumulative;
  std::string unit;       // UnitLabel(): "ns", "bytes", "pages", "" ...
  uint32_t bucket_size = 0;
  uint32_t first = 0;     // index of the first value in StatTable::values
  uint32_t size = 1;      // values (buckets for histograms)
};

// Names and kinds are shared by every refresh of a source; only the values are copied.
struct StatTable {
  std::shared_ptr<const std::vector<StatMeta>> meta;
  std::vector<uint64_t> values;
  bool empty() const { return !meta || meta->empty(); }
};

struct VcpuSnapshot {
  int vcpu = 0;
  pid_t tid = 0;
  StatTable stats;
};

struct VmSnapshot {
  pid_t pid = 0;
  int index = 0;          // VM of its process (0 unless a process holds several)
  int vms_in_process = 1;
  std::string name;
  std::string comm;
  std::string source;     // "stats-fd", "qmp", "debugfs"
  std::string source_detail;  // the QMP socket path, the debugfs directory
  bool gone = false;      // the process or VM went away during this interval
  std::string error;      // why the last refresh failed (gone VMs, unreadable sources)
  StatTable stats;        // VM-wide statistics
  std::vector<VcpuSnapshot> vcpus;
};

}  // namespace exitprof::kvmstat
