// One read of a recording feeding several sinks (report with --callgraph, script with a count):
// the session keeps the one thread table, applies each COMM/FORK/EXIT to it before the sinks
// see the record, and every sink reads its names from it.
#pragma once

#include <vector>

#include "recording/event_sink.h"
#include "recording/thread_table.h"

namespace exitprof::recording {

class Session : public EventSink {
 public:
  // Sinks are not owned; they must outlive the read. Add them before the read starts.
  void Add(EventSink& sink);
  const ThreadTable& threads() const { return threads_; }

  Result<void> OnSessionReady(const SessionInfo& info) override;
  void OnEvent(const perfdata::Event& event) override;
  // An attr is only counted when every sink only counts it.
  std::vector<bool> CountOnlyAttrs() const override;
  void OnSampleCounted(int attr_index, uint32_t pid, uint64_t time) override;

 private:
  std::vector<EventSink*> sinks_;
  ThreadTable threads_;
};

}  // namespace exitprof::recording
