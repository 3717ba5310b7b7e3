// Reads a recording's samples with their stacks (frame-pointer callchains, or registers and a
// stack copy for DWARF unwinding), names every frame (kernel frames from kallsyms, user frames
// from the process's mapped files) and adds the stacks to a CallTree.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "callgraph/call_tree.h"
#include "callgraph/dwarf_unwinder.h"
#include "callgraph/process_maps.h"
#include "recording/event_sink.h"
#include "recording/thread_table.h"
#include "symbols/kallsyms.h"

namespace exitprof::callgraph {

struct StackOptions {
  std::string event;     // only samples of this event ("" = every event)
  bool inlines = true;   // inlined functions as frames of their own, like perf report
  size_t max_stack = 127;
  bool comm_root = false;  // the thread's name as the outermost frame (FlameGraph's stackcollapse-perf)
};

struct StackStats {
  uint64_t samples = 0;
  uint64_t without_stack = 0;     // samples with no callchain and no stack copy
  uint64_t unwound_dwarf = 0;
  uint64_t caller_recovered = 0;  // entry probes whose direct caller was read from the stack top
  uint64_t lost = 0;
};

class StackSink : public recording::EventSink {
 public:
  // kallsyms: where kernel frames get their names (the host's /proc/kallsyms when recorded
  // here; "" = none). Read at the first kernel frame: user-only stacks never pay for it.
  StackSink(const StackOptions& options, std::string kallsyms);
  Result<void> OnSessionReady(const recording::SessionInfo& info) override;
  void OnEvent(const perfdata::Event& event) override;
  void ShareThreads(const recording::ThreadTable* threads) override { threads_.Share(threads); }

  const CallTree& tree() const { return tree_; }
  const StackStats& stats() const { return stats_; }
  std::vector<std::string> warnings() const;
  const std::string& event_name() const { return event_name_; }

 private:
  void AddKernelFrame(uint64_t ip, std::vector<std::string>& frames);
  void AddUserFrames(uint32_t pid, uint64_t ip, bool is_return_address, std::vector<std::string>& frames);

  StackOptions options_;
  std::string kallsyms_path_;
  bool kernel_loaded_ = false;
  std::optional<symbols::KernelSymbolMap> kernel_;
  std::vector<std::string> kernel_warnings_;
  const recording::SessionInfo* info_ = nullptr;
  int attr_filter_ = -1;  // attr index of options_.event, -1 = all
  std::string event_name_;
  ProcessMaps maps_;
  DwarfUnwinder unwinder_{maps_};
  CallTree tree_;
  StackStats stats_;
  recording::SinkThreads threads_;
};

}  // namespace exitprof::callgraph
