// Helpers for the trace.dat tests: read a file through tracedat::Reader into the same report
// model `exitprof report` builds.
#pragma once

#include "test_support.h"
#include "tracedat/reader.h"

namespace exitprof::testing {

struct TraceDatReport {
  recording::SessionInfo info;
  recording::ReadStats stats;
  analysis::ReportModel model;
  tracedat::ReadInfo read_info;
  tracedat::TraceDatFile file;
};

inline Result<TraceDatReport> ReadTraceDatReport(const std::string& path, analysis::ExitFilter filter = {},
                                                 size_t top = 0) {
  auto reader = tracedat::Reader::Open(path);
  if (!reader) return tl::unexpected(reader.error());
  analysis::ExitStats stats(std::move(filter));
  auto read = (*reader)->Run(stats);
  if (!read) return tl::unexpected(read.error());
  TraceDatReport r;
  r.info = (*reader)->info();
  r.stats = *read;
  r.model = analysis::BuildReportModel(r.info, *read, stats, top);
  r.read_info = (*reader)->read_info();
  r.file = (*reader)->file();
  return r;
}

inline std::map<std::string, uint64_t> EventCounts(const analysis::ReportModel& m) {
  std::map<std::string, uint64_t> out;
  for (const auto& e : m.events) {
    if (e.count) out[e.name] = e.count;
  }
  return out;
}

inline std::map<std::string, uint64_t> ReasonCounts(const analysis::ReportModel& m) {
  std::map<std::string, uint64_t> out;
  for (const auto& r : m.by_reason) out[r.reason] = r.count;
  return out;
}

}  // namespace exitprof::testing
