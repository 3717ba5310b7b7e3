// The report's filters (-p, -g, --time, --reason, --vcpu) in front of a sink that has none of
// its own (the call-graph StackSink): samples outside them are not passed on; every other
// record (COMM, MMAP, FORK, LOST) is, so the sink's thread and map state stays whole.
#pragma once

#include <memory>
#include <string>

#include "analysis/exit_stats.h"
#include "kvm/kvm_events.h"
#include "recording/event_sink.h"
#include "recording/thread_table.h"
#include "trace/trace_events.h"

namespace exitprof::report {

class SampleFilter : public recording::EventSink {
 public:
  // --reason and --vcpu keep kvm_exit samples only (other events have neither).
  // The sink behind it reads thread names from this filter's table (-g needs them too).
  SampleFilter(analysis::ExitFilter filter, recording::EventSink& next) : filter_(std::move(filter)), next_(next) {
    next_.ShareThreads(&threads_.own());
  }
  ~SampleFilter() override { next_.ShareThreads(nullptr); }  // the sink keeps no pointer into this one
  Result<void> OnSessionReady(const recording::SessionInfo& info) override;
  void OnEvent(const perfdata::Event& event) override;
  void ShareThreads(const recording::ThreadTable* threads) override {
    threads_.Share(threads);
    next_.ShareThreads(threads ? threads : &threads_.own());
  }

 private:
  bool Keep(const perfdata::Event& e);

  analysis::ExitFilter filter_;
  recording::EventSink& next_;
  std::unique_ptr<trace::TraceEvents> events_;
  kvm::KvmEvents kvm_;
  recording::SinkThreads threads_;
};

}  // namespace exitprof::report
