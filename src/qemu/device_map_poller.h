// Watches a QEMU's device map while a recording runs: snapshots it over QMP at an interval on
// a thread of its own (a slow or busy monitor never stalls the ring buffers), keeping each
// layout it sees, so BARs the guest programs after the recording started are known.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "qemu/device_map.h"

namespace exitprof::qemu {

class DeviceMapPoller {
 public:
  DeviceMapPoller(std::string qmp_path, std::chrono::milliseconds interval);
  ~DeviceMapPoller();  // stops the thread
  DeviceMapPoller(const DeviceMapPoller&) = delete;
  DeviceMapPoller& operator=(const DeviceMapPoller&) = delete;

  // Takes one last snapshot (when QEMU still answers), stops, and returns what was seen.
  DeviceMapHistory Finish();
  // What was seen so far (live views attribute with it while the poller runs).
  DeviceMapHistory Current() const;
  const std::string& path() const { return path_; }
  // The last error when no snapshot could be taken at all ("" otherwise).
  std::string last_error() const;

 private:
  void Run();
  void SnapshotOnce();

  std::string path_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  DeviceMapHistory history_;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace exitprof::qemu
