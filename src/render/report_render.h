// Renders a ReportModel: text in perf --stdio's spirit, JSON with stable keys, CSV.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "analysis/report_model.h"

namespace exitprof::render {

struct TextOptions {
  std::vector<std::string> sections;  // ReportTableNames() (report_tables.h); empty = all
  size_t top = 10;  // rows kept: RIPs and functions per reason, ports, MMIO addresses; 0 = all
  size_t histograms = 3;  // log2 histograms drawn with --latency
  bool inline_chain = false;  // --inline: guest RIPs also show what their code was inlined into
  std::string latency_event = "vmexit";  // --event: the latency table by reason, port or MMIO address
};

std::string RenderText(const analysis::ReportModel& m, const TextOptions& options);
// compact: one line (live views print one object per interval).
std::string RenderJson(const analysis::ReportModel& m, bool compact = false);
// One table as CSV with a header row; `table` is one of ReportTableNames() (report_tables.h).
// `top`: rows kept, as in text (per reason for RIPs and functions); 0 = all.
std::string RenderCsv(const analysis::ReportModel& m, const std::string& table, size_t top = 0);

std::string Hex(uint64_t value);
std::string Duration(double ns);
// A duration measured from timestamps of `resolution_ns` (1000: microseconds): never finer than
// that; under one unit it reads "<1 us" (both ends fell in the same microsecond).
std::string Duration(double ns, uint64_t resolution_ns);
// The exit-cost section (--latency): table per reason and log2 histograms of the costliest.
// `event`: "vmexit" (by reason), "ioport" or "mmio" (by port / address, as perf kvm stat's --event).
std::string RenderLatencyText(const analysis::ReportModel& m, size_t histograms, const std::string& event = "vmexit");
// Device attribution: the device column's text (the attribution, else the fixed name), the list
// of what could not be attributed, and the JSON of an attribution and of the device map.
std::string DeviceText(const qemu::Attribution& a, const std::string& fixed_name);
void RenderUnattributedText(std::string& out, const analysis::ReportModel& m);
nlohmann::ordered_json DeviceJson(const qemu::Attribution& a);
void AddDeviceJson(nlohmann::ordered_json& j, const analysis::ReportModel& m);

}  // namespace exitprof::render
