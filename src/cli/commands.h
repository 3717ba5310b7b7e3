// One function per subcommand; each returns the process exit status (0 ok, 1 runtime
// failure, 2 bad usage or input) and prints its own one-line errors.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "capture/recorder.h"
#include "recording/event_sink.h"
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
std::function<int()> AddServeCommand(CLI::App& app);

// Says once, plainly, when kvm_exit fired 0 times while other kvm events fired (PVM hosts).
void WarnIfKvmExitSilent(const capture::CaptureCounts& counts);

int ReportError(const Error& error);
// Warnings (damage read around, symbols' notes), one line each on stderr.
void PrintWarnings(const std::vector<std::string>& warnings);
// The first of `names` given on the command line ("" = none): for options that cannot apply
// together, which are refused in one line, never ignored.
std::string FirstGiven(const CLI::App& cmd, std::initializer_list<const char*> names);
// "A cannot be used with B: WHY" as a usage error (exit status 2).
int Conflict(const std::string& a, const std::string& b, const std::string& why);

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
