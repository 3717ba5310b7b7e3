// Unwinds user stacks recorded with --call-graph dwarf (registers + a copy of the top of the
// stack) with elfutils libdwfl, using the .eh_frame/.debug_frame of the files the process had
// mapped, and names the frames (ELF symbols, DWARF inline chains).
//
// One Dwfl per process, kept across samples (perf builds one per sample); memory outside the
// stack copy is read from the mapped files themselves.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "callgraph/process_maps.h"

namespace exitprof::callgraph {

struct UserSample {
  uint32_t pid = 0, tid = 0;
  uint64_t regs_mask = 0;              // attr.sample_regs_user
  std::span<const uint8_t> regs;       // u64 per set bit of regs_mask, in bit order (perf_event_x86_regs)
  std::span<const uint8_t> stack;      // the dump, starting at the sampled SP
};

struct Frame {
  uint64_t pc = 0;
  std::string name;     // "f", "main"; "[unknown]" when no symbol covers it
  std::string module;   // file path
  bool inlined = false;
  uint64_t offset = 0;  // from the symbol's start (0 = at its first instruction)
};

class DwarfUnwinder {
 public:
  explicit DwarfUnwinder(const ProcessMaps& maps);
  ~DwarfUnwinder();
  DwarfUnwinder(const DwarfUnwinder&) = delete;
  DwarfUnwinder& operator=(const DwarfUnwinder&) = delete;

  // Leaf first. With `inlines`, functions inlined at a frame come before it, marked inlined.
  std::vector<Frame> Unwind(const UserSample& sample, size_t max_frames = 127, bool inlines = true);
  // Names one address of a process (for frame-pointer callchains).
  std::vector<Frame> Symbolize(uint32_t pid, uint64_t pc, bool is_return_address, bool inlines = true);

  // Problems met (files that could not be opened ...), each once.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct Process;
  Process* ProcessFor(uint32_t pid);
  void NameFrames(Process& p, uint64_t pc, bool is_return_address, bool inlines, std::vector<Frame>& out);
  void NameFramesUncached(Process& p, uint64_t pc, bool is_return_address, bool inlines, std::vector<Frame>& out);

  const ProcessMaps& maps_;
  std::unordered_map<uint32_t, std::unique_ptr<Process>> processes_;
  std::vector<std::string> warnings_;
};

}  // namespace exitprof::callgraph
