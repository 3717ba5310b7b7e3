// A command run under recording, as `perf record -- CMD` does: forked and held before exec
// until the events exist, then released. Reaped (and terminated if still running) on exit.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace exitprof::capture {

class Workload {
 public:
  // stdout_to_stderr: when our stdout carries the recording (-o -), the command's output must
  // not mix into it.
  static Result<Workload> Prepare(const std::vector<std::string>& argv, bool stdout_to_stderr = false);
  Workload(Workload&&) noexcept;
  Workload& operator=(Workload&&) = delete;
  ~Workload();

  pid_t pid() const { return pid_; }
  // Lets the child exec; fails if exec failed (e.g. command not found).
  Result<void> Start();
  // The exit status once the child has ended, without blocking.
  std::optional<int> Poll();

 private:
  Workload() = default;
  pid_t pid_ = -1;
  UniqueFd go_;     // write end: one byte releases the child
  UniqueFd error_;  // read end: the child's errno if exec failed (closed by a successful exec)
  std::string name_;
  bool reaped_ = false;
  int status_ = 0;
};

}  // namespace exitprof::capture
