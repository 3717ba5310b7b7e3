// Facts about this machine for a recording's feature sections, and the threads that exist now
// (their COMM records are synthesized at the start, as perf does).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "recording/session_info.h"

namespace exitprof::capture {

// Fills hostname, os release, arch, CPU description and id, CPU counts, memory, cmdline.
void FillSystemInfo(recording::SessionInfo& info, const std::vector<std::string>& cmdline);

struct ThreadInfo {
  pid_t pid, tid;
  std::string comm;
};
// Threads of the given processes, or of every process when pids is empty.
std::vector<ThreadInfo> ListThreads(const std::vector<pid_t>& pids);

// The kernel text start (kallsyms _text) for the kernel MMAP record; 0 if hidden.
uint64_t KernelTextStart();

}  // namespace exitprof::capture
