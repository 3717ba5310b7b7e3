// `exitprof script`: prints samples the way `perf script` does by default, so that grep and
// awk habits keep working: "COMM TID [CPU] SECS.USECS: EVENT: PAYLOAD".
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/script_options.h"
#include "recording/event_sink.h"
#include "recording/thread_table.h"
#include "trace/trace_events.h"

namespace exitprof::cli {

class ScriptPrinter : public recording::EventSink {
 public:
  ScriptPrinter(std::FILE* out, bool nanoseconds, ScriptFields fields = {}, ScriptFilter filter = {})
      : out_(out), ns_(nanoseconds), fields_(fields), filter_(std::move(filter)) {}
  ~ScriptPrinter() override;
  Result<void> OnSessionReady(const recording::SessionInfo& info) override;
  void OnEvent(const perfdata::Event& event) override;
  void ShareThreads(const recording::ThreadTable* threads) override { threads_.Share(threads); }

 private:
  const std::string& CommOf(uint32_t tid);
  std::FILE* out_;
  bool ns_;
  ScriptFields fields_;
  ScriptFilter filter_;
  uint64_t first_printed_ = 0;  // --reltime counts from the first sample printed, as perf does
  bool printed_any_ = false;
  std::unique_ptr<trace::TraceEvents> trace_;
  std::vector<std::string> names_;
  std::vector<tep_event*> events_;
  std::vector<bool> has_callchain_;
  int name_width_ = 0;
  // Text captures: the columns their lines did not print are left out, not invented.
  bool is_text_ = false, lacks_tid_ = false, lacks_cpu_ = false, lacks_time_ = false;
  recording::SinkThreads threads_;
  std::string unknown_comm_;
  std::string payload_, line_;
};

}  // namespace exitprof::cli
