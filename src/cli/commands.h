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
#include "probe/probe_command.h"

namespace exitprof::cli {

// Registers the subcommand on `app`; the returned function runs it after parsing.
std::function<int()> AddReportCommand(CLI::App& app);
std::function<int()> AddScriptCommand(CLI::App& app);
std::function<int()> AddRecordCommand(CLI::App& app);
std::function<int()> AddDemoCommand(CLI::App& app);
std::function<int()> AddTopCommand(CLI::App& app);
std::function<int()> AddDiffCommand(CLI::App& app);
std::function<int()> AddSymbolizeCommand(CLI::App& app);
std::function<int()> AddProbeCommand(CLI::App& app);
std::function<int()> AddStatCommand(CLI::App& app);

// Says once, plainly, when kvm_exit fired 0 times while other kvm events fired (PVM hosts).
void WarnIfKvmExitSilent(const capture::CaptureCounts& counts);

// Reads a recording and builds the report model (the work behind `report`), on up to
// `threads` threads (0 = AvailableCpus()); the model does not depend on the number.
Result<analysis::ReportModel> BuildReport(const std::string& path, const analysis::ExitFilter& filter, size_t top,
                                          unsigned threads = 0);
// The CPUs this process may run on (its affinity mask), at least 1: the default of -j.
unsigned AvailableCpus();

// Opens a recording for reading (perf.data, trace-cmd's trace.dat by its magic, or a text
// capture), with progress on stderr when it is a terminal. "-" and paths that are not regular
// files are streams: perf's pipe mode or text, told apart by their first bytes.
Result<std::unique_ptr<perfdata::RecordingSource>> OpenRecording(const std::string& path);
// report --text: read the input as a text capture (perf script, trace-cmd report, ftrace) even
// when its first lines do not look like one.
void ForceTextCapture(bool on);
// script: text captures keep each event's payload as printed, so that script prints it back
// (no field the text did not have is invented).
void KeepTextPayloads(bool on);
int ReportError(const Error& error);
// The damage a reader read around (SessionInfo::warnings), one line each on stderr.
void PrintWarnings(const perfdata::SessionInfo& info);

// Device attribution for report (and top): the map of a running QEMU (`qmp`), else the file
// given, else the recording's side file INPUT.devices.json; without any, the report says why.
Result<void> AttributeReportDevices(analysis::ReportModel& model, const std::string& input, const std::string& qmp,
                                    const std::string& device_map);
// A probe definition (exitprof probe's syntax) resolved against BINARY (uprobe) or, when
// BINARY is empty, the running kernel's kallsyms (kprobe).
Result<probe::ResolvedProbe> ResolveProbe(const std::string& definition, const std::string& binary);
// Refuses, in one line, a kprobe the kernel would refuse (a notrace or blacklisted function),
// naming callers in `binaries` (a vmlinux and modules; may be none) that can be probed instead.
Result<void> CheckKernelProbeable(const probe::ResolvedProbe& probe, const std::string& tracefs_root,
                                  const std::vector<std::string>& binaries);

// Parses perf's --time "START,STOP" (seconds, either side may be empty) into nanoseconds.
Result<std::pair<std::optional<uint64_t>, std::optional<uint64_t>>> ParseTimeRange(const std::string& text);

}  // namespace exitprof::cli
