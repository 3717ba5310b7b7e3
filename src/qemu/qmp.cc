#include "qemu/qmp.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace exitprof::qemu {

using nlohmann::json;

namespace {

uint64_t NowMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// QMP answers can be large (query-stats of many vCPUs, info mtree), but not unboundedly so:
// a peer that streams without ever ending a message is not QMP.
constexpr size_t kMaxMessage = 64u << 20;

}  // namespace

QmpClient::QmpClient(UniqueFd fd, std::string path, int timeout_ms)
    : fd_(std::move(fd)), path_(std::move(path)), timeout_ms_(timeout_ms) {}

Result<QmpClient> QmpClient::Connect(const std::string& socket_path, int timeout_ms) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof(addr.sun_path)) {
    return Fail("QMP socket \"" + socket_path + "\": expected a unix socket path shorter than " +
                std::to_string(sizeof(addr.sun_path)) + " bytes");
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Fail("QMP: socket: " + std::string(std::strerror(errno)), 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    std::string hint = e == EACCES ? " (run as root or as the VM's user)"
                       : e == ECONNREFUSED ? " (no QEMU listens there: is the VM running?)"
                                           : "";
    return Fail("QMP socket " + socket_path + ": connect: " + std::strerror(e) + hint, 1);
  }
  QmpClient client(std::move(fd), socket_path, timeout_ms);
  auto greeting = client.ReadMessage();
  if (!greeting) return tl::unexpected(greeting.error());
  if (!greeting->is_object() || !greeting->contains("QMP")) {
    return Fail("QMP socket " + socket_path + ": expected a QMP greeting, got " + greeting->dump().substr(0, 120), 1);
  }
  client.greeting_ = std::move(*greeting);
  auto caps = client.Execute("qmp_capabilities");
  if (!caps) return tl::unexpected(caps.error());
  return client;
}

Result<void> QmpClient::Send(const json& message) {
  std::string text = message.dump() + "\r\n";
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::send(fd_.get(), text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail("QMP socket " + path_ + ": send: " + std::strerror(errno), 1);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<json> QmpClient::ReadMessage() {
  uint64_t deadline = NowMs() + static_cast<uint64_t>(timeout_ms_);
  for (;;) {
    size_t end = buffer_.find('\n');
    if (end != std::string::npos) {
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      json message = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (message.is_discarded()) {
        return Fail("QMP socket " + path_ + ": expected a JSON message, got \"" + line.substr(0, 120) + "\"", 1);
      }
      return message;
    }
    if (buffer_.size() > kMaxMessage) {
      return Fail("QMP socket " + path_ + ": a message longer than 64 MiB: not a QMP peer", 1);
    }
    uint64_t now = NowMs();
    if (now >= deadline) {
      return Fail("QMP socket " + path_ + ": no answer within " + std::to_string(timeout_ms_) +
                      " ms (is another client connected? QEMU serves one at a time)",
                  1);
    }
    pollfd p{fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(deadline - now));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Fail("QMP socket " + path_ + ": poll: " + std::strerror(errno), 1);
    }
    if (r == 0) continue;
    char chunk[65536];
    ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Fail("QMP socket " + path_ + ": recv: " + std::strerror(errno), 1);
    }
    if (n == 0) return Fail("QMP socket " + path_ + ": QEMU closed the connection (did the VM stop?)", 1);
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

Result<json> QmpClient::Execute(const std::string& command, const json& arguments) {
  uint64_t id = next_id_++;
  json request = {{"execute", command}, {"id", id}};
  if (!arguments.is_null()) request["arguments"] = arguments;
  if (auto sent = Send(request); !sent) return tl::unexpected(sent.error());
  for (;;) {
    auto message = ReadMessage();
    if (!message) return message;
    if (!message->is_object()) continue;
    if (message->contains("event")) {
      if (events_.size() < 1024) events_.push_back(std::move(*message));
      continue;
    }
    // Answers carry our id back; one without (an older QEMU) is ours too: one request at a time.
    if (message->contains("id") && (*message)["id"] != id) continue;
    if (message->contains("return")) return (*message)["return"];
    if (message->contains("error")) {
      const json& error = (*message)["error"];
      std::string desc = error.value("desc", std::string("unknown error"));
      std::string cls = error.value("class", std::string());
      return Fail("QMP " + command + ": " + desc + (cls.empty() ? "" : " (" + cls + ")"), 1);
    }
  }
}

Result<std::string> QmpClient::Hmp(const std::string& command_line) {
  auto r = Execute("human-monitor-command", json{{"command-line", command_line}});
  if (!r) return tl::unexpected(r.error());
  if (!r->is_string()) return Fail("QMP human-monitor-command \"" + command_line + "\": expected text", 1);
  return r->get<std::string>();
}

namespace {

// "a=1,b=2,path=/x" -> {"a":"1", ...}; the first item, if it has no '=', is returned in `head`.
std::map<std::string, std::string> SplitOptions(const std::string& text, std::string* head) {
  std::map<std::string, std::string> out;
  std::stringstream ss(text);
  std::string item;
  bool first = true;
  while (std::getline(ss, item, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos) {
      if (first && head) *head = item;
      else out[item] = "on";
    } else {
      out[item.substr(0, eq)] = item.substr(eq + 1);
    }
    first = false;
  }
  return out;
}

// The unix socket path bound to `inode`, from /proc/net/unix (the listening socket that libvirt
// passed to QEMU as fd=N).
std::optional<std::string> UnixPathOfInode(unsigned long inode) {
  std::ifstream in("/proc/net/unix");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string num, refcount, protocol, flags, type, st, ino, path;
    fields >> num >> refcount >> protocol >> flags >> type >> st >> ino >> path;
    if (!path.empty() && path[0] != '@' && std::strtoul(ino.c_str(), nullptr, 10) == inode) return path;
  }
  return std::nullopt;
}

std::optional<std::string> PathOfPassedFd(pid_t pid, const std::string& fd) {
  if (pid <= 0 || fd.empty()) return std::nullopt;
  char target[256];
  std::string link = "/proc/" + std::to_string(pid) + "/fd/" + fd;
  ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
  if (n <= 0) return std::nullopt;
  target[n] = 0;
  unsigned long inode = 0;
  if (std::sscanf(target, "socket:[%lu]", &inode) != 1) return std::nullopt;
  return UnixPathOfInode(inode);
}

}  // namespace

std::optional<std::string> QmpSocketFromArgs(const std::vector<std::string>& args, pid_t pid) {
  std::map<std::string, std::map<std::string, std::string>> chardevs;  // id -> options
  std::vector<std::string> control_chardevs;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    std::string opt = args[i];
    if (opt.rfind("--", 0) == 0) opt.erase(0, 1);
    const std::string& value = args[i + 1];
    if (opt == "-qmp" || opt == "-qmp-pretty") {
      if (value.rfind("unix:", 0) == 0) {
        std::string path = value.substr(5);
        return path.substr(0, path.find(','));
      }
    } else if (opt == "-chardev") {
      std::string backend;
      auto options = SplitOptions(value, &backend);
      if (backend == "socket" && options.count("id")) chardevs[options["id"]] = options;
    } else if (opt == "-mon") {
      std::string head;
      auto options = SplitOptions(value, &head);
      std::string mode = options.count("mode") ? options["mode"] : "readline";
      std::string id = options.count("chardev") ? options["chardev"] : head;
      if (mode == "control" && !id.empty()) control_chardevs.push_back(id);
    }
  }
  for (const auto& id : control_chardevs) {
    auto it = chardevs.find(id);
    if (it == chardevs.end()) continue;
    auto& options = it->second;
    if (options.count("path")) return options["path"];
    if (options.count("fd")) {
      if (auto path = PathOfPassedFd(pid, options["fd"])) return path;
    }
  }
  return std::nullopt;
}

std::vector<std::string> ProcessArgs(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::vector<std::string> args;
  std::string arg;
  while (std::getline(in, arg, '\0')) args.push_back(arg);
  return args;
}

std::optional<std::string> FindQmpSocket(pid_t pid) { return QmpSocketFromArgs(ProcessArgs(pid), pid); }

std::string QemuNameFromArgs(const std::vector<std::string>& args) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] != "-name" && args[i] != "--name") continue;
    std::string head;
    auto options = SplitOptions(args[i + 1], &head);
    if (options.count("guest")) return options["guest"];
    return head;
  }
  return {};
}

}  // namespace exitprof::qemu
