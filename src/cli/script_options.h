// `exitprof script`'s perf script habits: which fields a line shows (-F, perf's syntax for the
// fields a kvm event has) and which samples are printed (--time, -C, --pid, --tid, --comm),
// with perf's --reltime semantics. Parsed once; the printer asks per sample.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "base/result.h"

namespace exitprof::cli {

struct ScriptFields {
  bool comm = true, tid = true, pid = false, cpu = true, time = true, event = true, trace = true;
};

// "comm,tid,time", "+pid", "-cpu", "trace:comm,trace" (perf script -F). Fields other than
// comm, tid, pid, cpu, time, event and trace are refused: a kvm event has no others here.
Result<ScriptFields> ParseScriptFields(const std::string& text);

struct ScriptFilter {
  std::optional<uint64_t> time_begin, time_end;  // --time, as given (relative with --reltime)
  bool reltime = false;
  std::set<uint32_t> cpus, pids, tids;  // empty = all
  std::set<std::string> comms;

  // --time with --reltime counts from the recording's first sample, and perf adds that base
  // to both ends, an empty one too (perf 6.1 then prints nothing past the first sample).
  void SetFirstSampleTime(uint64_t first);
  bool Keep(uint64_t time, uint32_t cpu, uint32_t pid, uint32_t tid, const std::string& comm) const;
  bool needs_comm() const { return !comms.empty(); }

 private:
  uint64_t begin_ = 0, end_ = 0;  // 0 = open, as perf's ptime range
  bool resolved_ = false;
};

// "0-3,8" -> {0,1,2,3,8} (perf's CPU list); "123,456" -> ids.
Result<std::set<uint32_t>> ParseIdList(const std::string& text, const std::string& flag, bool ranges);
// perf's --comm: names separated by commas.
std::set<std::string> ParseCommList(const std::string& text);

}  // namespace exitprof::cli
