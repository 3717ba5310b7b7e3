// `exitprof stat`'s renderings of analysis/stat_view.h: kvm_stat's table (the TUI, -1, -b), its
// log and CSV lines (-l, -c), and JSON.
#pragma once

#include <string>
#include <vector>

#include "analysis/stat_view.h"

namespace exitprof::render {

// kvm_stat's table, sorted by CurAvg/s then Total (what the TUI and -1/-b print).
std::string RenderStatTable(const std::vector<kvmstat::VmSnapshot>& vms, const analysis::StatHistory& history,
                        const analysis::StatViewOptions& options, double seconds);
// One JSON object (one line): time, interval_s, units, vms[] {pid, name, ..., stats, delta, vcpus[]}.
std::string RenderStatJson(const std::vector<kvmstat::VmSnapshot>& vms, const analysis::StatHistory& history,
                       const analysis::StatViewOptions& options, double seconds);
// kvm_stat -l: a header of the selected names (analysis::LogFields), then one line of deltas per
// interval; -c: CSV.
std::string RenderStatLogHeader(const std::vector<std::string>& fields, bool csv);
std::string RenderStatLogLine(const std::vector<kvmstat::VmSnapshot>& vms, const analysis::StatHistory& history,
                          const analysis::StatViewOptions& options, const std::vector<std::string>& fields, bool csv);

}  // namespace exitprof::render
