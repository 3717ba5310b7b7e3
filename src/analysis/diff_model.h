// `exitprof diff A B`: what changed between two recordings, per exit reason, guest RIP, port
// and latency percentile. Counts are also normalised per second and per vCPU, so recordings of
// different lengths and sizes compare; rows are sorted by the size of the change.
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
  double change = 0;                   // b - a (of the rate when both spans are known)
  double change_percent = 0;           // relative to a; +inf shown as "new"
  bool added = false, removed = false;
};

struct DiffModel {
  std::string a_path, b_path;
  double a_span_s = 0, b_span_s = 0;
  uint64_t a_vcpus = 0, b_vcpus = 0;
  uint64_t a_exits = 0, b_exits = 0;
  std::vector<DiffRow> rows;  // by |change| within each kind, kinds in a fixed order
};

DiffModel BuildDiff(const ReportModel& a, const ReportModel& b);

}  // namespace exitprof::analysis
