#include "capture/workload.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace exitprof::capture {

Result<Workload> Workload::Prepare(const std::vector<std::string>& argv, bool stdout_to_stderr) {
  if (argv.empty()) return Fail("no command given after --");
  int go[2], err[2];
  if (::pipe2(go, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    return Fail(std::string("pipe: ") + std::strerror(errno), 1);
  }
  pid_t pid = ::fork();
  if (pid < 0) return Fail(std::string("fork: ") + std::strerror(errno), 1);
  if (pid == 0) {
    ::close(go[1]);
    ::close(err[0]);
    char byte;
    if (::read(go[0], &byte, 1) != 1) ::_exit(127);  // the recorder went away
    if (stdout_to_stderr) ::dup2(STDERR_FILENO, STDOUT_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    int e = errno;
    (void)!::write(err[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(go[0]);
  ::close(err[1]);
  Workload w;
  w.pid_ = pid;
  w.go_ = UniqueFd(go[1]);
  w.error_ = UniqueFd(err[0]);
  w.name_ = argv[0];
  return w;
}

Workload::Workload(Workload&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      go_(std::move(o.go_)),
      error_(std::move(o.error_)),
      name_(std::move(o.name_)),
      reaped_(o.reaped_),
      status_(o.status_) {}

Workload::~Workload() {
  if (pid_ <= 0 || reaped_) return;
  go_.Reset();  // a child still waiting for the go byte exits
  ::kill(pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
}

Result<void> Workload::Start() {
  char byte = 1;
  if (::write(go_.get(), &byte, 1) != 1) return Fail(std::string("cannot start the command: ") + std::strerror(errno), 1);
  go_.Reset();
  int e = 0;
  ssize_t n = ::read(error_.get(), &e, sizeof e);
  error_.Reset();
  if (n == sizeof e) {
    ::waitpid(pid_, nullptr, 0);
    reaped_ = true;
    return Fail(name_ + ": cannot run: " + std::strerror(e), 2);
  }
  return {};
}

std::optional<int> Workload::Poll() {
  if (reaped_) return status_;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return status_;
  }
  return std::nullopt;
}

}  // namespace exitprof::capture
