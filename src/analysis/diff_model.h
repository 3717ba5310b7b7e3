// `exitprof diff A B`: what changed between two recordings, per exit reason, guest RIP, port
// and latency percentile. Counts are also normalised per second and per vCPU; when both spans are
// known the change is that of the rates, so recordings of different lengths compare. Rows are
// sorted by the size of the change. Guest RIPs named by symbols compare by symbol+offset, so
// two boots with different KASLR offsets line up.
#pragma once

#include <string>
#include <vector>

#include "analysis/report_model.h"

namespace exitprof::analysis {

struct DiffRow {
  std::string kind;  // "reason", "rip", "port", "mmio", "userspace", "latency_p50", "latency_p99"
  std::string key;   // "HLT", "IO_INSTRUCTION 0xffffffff8176a3b6", "0x3f8 write"
  double a = 0, b = 0;                 // counts (or ns for latency rows)
  double a_rate = 0, b_rate = 0;       // per second (counts) ; 0 for latency rows
  double a_per_vcpu = 0, b_per_vcpu = 0;
  double change = 0;                   // b - a: of the rates when both spans are known, else of the counts
  double change_percent = 0;           // relative to a (its rate or count); +inf shown as "new"
  bool added = false, removed = false;
};

struct DiffModel {
  std::string a_path, b_path;
  double a_span_s = 0, b_span_s = 0;
  uint64_t a_vcpus = 0, b_vcpus = 0;
  uint64_t a_exits = 0, b_exits = 0;
  bool by_rate = false;     // counts rows compare per-second rates (both spans known)
  double span_ratio = 1;    // the longer span over the shorter (1 when either is unknown)
  std::vector<DiffRow> rows;  // by |change| within each kind, kinds in a fixed order
};

DiffModel BuildDiff(const ReportModel& a, const ReportModel& b);

}  // namespace exitprof::analysis
