#include "qemu/device_map_poller.h"

namespace exitprof::qemu {

DeviceMapPoller::DeviceMapPoller(std::string qmp_path, std::chrono::milliseconds interval)
    : path_(std::move(qmp_path)), interval_(interval) {
  history_.qmp_path = path_;
  thread_ = std::thread([this] { Run(); });
}

DeviceMapPoller::~DeviceMapPoller() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DeviceMapPoller::SnapshotOnce() {
  // Short timeouts: QEMU answers in milliseconds, and one that does not must not hold the
  // recording's end.
  auto map = SnapshotDeviceMap(path_, 500);
  std::lock_guard<std::mutex> lock(mu_);
  if (map) {
    history_.Add(std::move(*map));
    last_error_.clear();
  } else if (history_.snapshots.empty()) {
    last_error_ = map.error().message;
  }
}

void DeviceMapPoller::Run() {
  for (;;) {
    SnapshotOnce();
    std::unique_lock<std::mutex> lock(mu_);
    if (wake_.wait_for(lock, interval_, [this] { return stop_; })) return;
  }
}

DeviceMapHistory DeviceMapPoller::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  SnapshotOnce();
  std::lock_guard<std::mutex> lock(mu_);
  return history_;
}

DeviceMapHistory DeviceMapPoller::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return history_;
}

std::string DeviceMapPoller::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

}  // namespace exitprof::qemu
