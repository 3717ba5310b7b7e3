// A QEMU Machine Protocol client: connects to a QEMU monitor socket, negotiates capabilities,
// runs commands and returns their "return" value as JSON. Shared by `stat` (query-stats) and the
// device map (query-pci, info mtree).
//
// A QMP socket serves one client at a time: connect, ask, and let the client go (the destructor
// closes the socket) so QEMU's own manager (libvirt, a user's script) is not kept waiting.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace exitprof::qemu {

class QmpClient {
 public:
  // Connects to a unix socket and enters command mode. Fails with a message naming the path
  // when nothing listens there, the peer is not QMP, or it does not answer within timeout_ms.
  static Result<QmpClient> Connect(const std::string& socket_path, int timeout_ms = 2000);

  // Runs one command; its "return" member on success, QEMU's error description as the Error.
  Result<nlohmann::json> Execute(const std::string& command, const nlohmann::json& arguments = nullptr);
  // Runs a human monitor command (e.g. "info mtree -f") and returns its text output.
  Result<std::string> Hmp(const std::string& command_line);

  // QEMU's greeting: {"QMP": {"version": {...}, "capabilities": [...]}}.
  const nlohmann::json& greeting() const { return greeting_; }
  const std::string& path() const { return path_; }
  // Events QEMU sent while we waited for answers (e.g. STOP, RESUME), oldest first.
  const std::vector<nlohmann::json>& events() const { return events_; }

 private:
  QmpClient(UniqueFd fd, std::string path, int timeout_ms);
  Result<nlohmann::json> ReadMessage();
  Result<void> Send(const nlohmann::json& message);

  UniqueFd fd_;
  std::string path_;
  int timeout_ms_ = 2000;
  std::string buffer_;  // bytes received but not yet parsed (QMP messages end with "\r\n")
  nlohmann::json greeting_;
  std::vector<nlohmann::json> events_;
  uint64_t next_id_ = 1;
};

// Where a QEMU process's QMP socket is, from its command line: `-qmp unix:PATH[,...]`,
// `-qmp-pretty unix:PATH`, or `-chardev socket,id=ID,path=PATH` named by `-mon chardev=ID,mode=control`.
// Monitors passed as fd=N (libvirt) are resolved through /proc/PID/fd and /proc/net/unix when `pid`
// is given. nullopt when the command line names no QMP socket.
std::optional<std::string> QmpSocketFromArgs(const std::vector<std::string>& args, pid_t pid = 0);
// Reads /proc/PID/cmdline and applies QmpSocketFromArgs.
std::optional<std::string> FindQmpSocket(pid_t pid);
// The arguments of a process (/proc/PID/cmdline split at NULs); empty when it is gone.
std::vector<std::string> ProcessArgs(pid_t pid);
// The VM's name from `-name NAME` or `-name guest=NAME,...`; empty when not given.
std::string QemuNameFromArgs(const std::vector<std::string>& args);

}  // namespace exitprof::qemu
