#include "kvmstat/fd_borrow.h"

#include <fmt/format.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

// Debian 12's glibc has no wrappers; the numbers are the same on every architecture.
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

namespace exitprof::kvmstat {

Result<UniqueFd> OpenPidfd(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    int error = errno;
    if (error == ESRCH) return Fail(fmt::format("pid {}: no such process (it exited)", pid), 1);
    if (error == ENOSYS) return Fail("pidfd_open: not supported by this kernel (needs Linux 5.3+)", 1);
    return Fail(fmt::format("pid {}: pidfd_open: {}", pid, std::strerror(error)), 1);
  }
  return UniqueFd(fd);
}

Result<UniqueFd> BorrowFd(const UniqueFd& pidfd, pid_t pid, int target_fd) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), target_fd, 0));
  if (fd >= 0) return UniqueFd(fd);
  int error = errno;
  switch (error) {
    case EPERM:
      return Fail(fmt::format("pid {}: not allowed to borrow its fd {} (pidfd_getfd needs root or CAP_SYS_PTRACE; "
                              "run with sudo, or: sudo setcap cap_sys_ptrace+ep $(command -v exitprof))",
                              pid, target_fd),
                  1);
    case ESRCH: return Fail(fmt::format("pid {}: the process exited", pid), 1);
    case EBADF: return Fail(fmt::format("pid {}: fd {} was closed", pid, target_fd), 1);
    case ENOSYS: return Fail("pidfd_getfd: not supported by this kernel (needs Linux 5.6+)", 1);
    default: return Fail(fmt::format("pid {}: pidfd_getfd of fd {}: {}", pid, target_fd, std::strerror(error)), 1);
  }
}

}  // namespace exitprof::kvmstat
