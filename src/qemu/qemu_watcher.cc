#include "qemu/qemu_watcher.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>

#include "qemu/qmp.h"

namespace exitprof::qemu {

namespace {

std::vector<pid_t> ProcessIds() {
  std::vector<pid_t> pids;
  DIR* d = ::opendir("/proc");
  if (!d) return pids;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid > 0 && *end == '\0') pids.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return pids;
}

}  // namespace

QemuWatcher::QemuWatcher(std::chrono::milliseconds scan_interval, std::chrono::milliseconds map_interval)
    : scan_interval_(scan_interval), map_interval_(map_interval) {
  thread_ = std::thread([this] { Run(); });
}

QemuWatcher::~QemuWatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void QemuWatcher::ScanOnce() {
  const pid_t self = ::getpid();
  for (pid_t pid : ProcessIds()) {
    if (pid == self) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (watched_.count(pid)) continue;
    }
    // A command line is read again on every scan: a process seen before it exec'd QEMU (a shell's
    // child) is found once it has.
    auto args = ProcessArgs(pid);
    auto socket = QmpSocketFromArgs(args, pid);
    if (!socket) continue;
    Watched w{QemuNameFromArgs(args), std::make_unique<DeviceMapPoller>(*socket, map_interval_)};
    std::lock_guard<std::mutex> lock(mu_);
    watched_.emplace(pid, std::move(w));
  }
}

void QemuWatcher::Run() {
  for (;;) {
    ScanOnce();
    std::unique_lock<std::mutex> lock(mu_);
    if (wake_.wait_for(lock, scan_interval_, [this] { return stop_; })) return;
  }
}

QemuWatcher::Result QemuWatcher::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  ScanOnce();  // a QEMU started in the last interval
  Result out;
  for (auto& [pid, w] : watched_) {
    DeviceMapHistory h = w.poller->Finish();
    if (h.snapshots.empty()) {
      out.unanswered.push_back({pid, w.vm_name, w.poller->last_error()});
      continue;
    }
    h.pid = pid;
    h.vm_name = w.vm_name;
    out.maps.push_back(std::move(h));
  }
  return out;
}

}  // namespace exitprof::qemu
