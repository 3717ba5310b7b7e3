// Borrowing another process's file descriptor (pidfd_open + pidfd_getfd, Linux 5.6+). Needs
// PTRACE_MODE_ATTACH over the target: root, or CAP_SYS_PTRACE. KVM refuses ioctls on borrowed
// VM and vCPU fds (another mm), but a borrowed binary stats fd reads fine.
#pragma once

#include <sys/types.h>

#include "base/result.h"
#include "base/unique_fd.h"

namespace exitprof::kvmstat {

// A pidfd for `pid`, to borrow several fds from it.
Result<UniqueFd> OpenPidfd(pid_t pid);
// A duplicate of `target_fd` of the process behind `pidfd`, with O_CLOEXEC. Errors say what to
// do (run as root / grant CAP_SYS_PTRACE, the process is gone, the fd was closed).
Result<UniqueFd> BorrowFd(const UniqueFd& pidfd, pid_t pid, int target_fd);

}  // namespace exitprof::kvmstat
