// One function per subcommand; each returns the process exit status (0 ok, 1 runtime
// failure, 2 bad usage or input) and prints its own one-line errors.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "analysis/report_model.h"
#include "capture/recorder.h"
#include "perfdata/reader.h"

namespace exitprof::cli {

// Registers the subcommand on `app`; the returned function runs it after parsing.
std::function<int()> AddReportCommand(CLI::App& app);
std::function<int()> AddScriptCommand(CLI::App& app);
std::function<int()> AddRecordCommand(CLI::App& app);
std::function<int()> AddDemoCommand(CLI::App& app);
std::function<int()> AddTopCommand(CLI::App& app);
std::function<int()> AddDiffCommand(CLI::App& app);

// Says once, plainly, when kvm_exit fired 0 times while other kvm events fired (PVM hosts).
void WarnIfKvmExitSilent(const capture::CaptureCounts& counts);

// Reads a recording and builds the report model (the work behind `report`).
Result<analysis::ReportModel> BuildReport(const std::string& path, const analysis::ExitFilter& filter, size_t top);

// Opens a recording for reading (perf.data, or trace-cmd's trace.dat by its magic), with
// progress on stderr when it is a terminal.
Result<std::unique_ptr<perfdata::RecordingSource>> OpenRecording(const std::string& path);
int ReportError(const Error& error);

// Parses perf's --time "START,STOP" (seconds, either side may be empty) into nanoseconds.
Result<std::pair<std::optional<uint64_t>, std::optional<uint64_t>>> ParseTimeRange(const std::string& text);

}  // namespace exitprof::cli
