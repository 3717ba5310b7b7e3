// `exitprof script` on a trace.dat: events in `trace-cmd report`'s default layout, so that what
// people already grep in trace-cmd output keeps working:
//   [BUFFER: ]COMM-PID [CPU] SECS.USECS: EVENT: PAYLOAD
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "recording/event_sink.h"
#include "recording/thread_table.h"
#include "trace/trace_events.h"

struct tep_plugin_list;

namespace exitprof::cli {

class TraceCmdPrinter : public recording::EventSink {
 public:
  // `buffers`: the file's buffer names in the reader's order (Event::stream_id indexes it);
  // `ticks`: timestamps are raw counter ticks (printed whole, as trace-cmd does).
  // `kallsyms`: the file's /proc/kallsyms copy, for payloads that print kernel addresses.
  // `nanoseconds`: whole timestamps, as `trace-cmd report -t` prints them.
  TraceCmdPrinter(std::FILE* out, std::vector<std::string> buffers, bool ticks, uint32_t cpus, std::string kallsyms,
                  bool nanoseconds = false);
  ~TraceCmdPrinter() override;
  Result<void> OnSessionReady(const recording::SessionInfo& info) override;
  void OnEvent(const perfdata::Event& event) override;
  void ShareThreads(const recording::ThreadTable* threads) override { threads_.Share(threads); }

 private:
  std::FILE* out_;
  std::vector<std::string> prefixes_;  // per buffer: "name: " padded, or empty with one buffer
  bool ticks_;
  bool ns_;
  uint32_t cpus_;
  std::string kallsyms_;
  std::unique_ptr<trace::TraceEvents> trace_;
  ::tep_plugin_list* plugins_ = nullptr;  // libtraceevent's plugins, as trace-cmd loads them
  std::vector<tep_event*> events_;
  std::vector<std::string> names_;
  recording::SinkThreads threads_;
  std::string payload_, line_;
};

}  // namespace exitprof::cli
