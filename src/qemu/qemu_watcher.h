// Keeps the device map of every QEMU on the host while a system-wide recording runs: scans /proc
// at an interval on a thread of its own for processes whose command line names a QMP socket
// (running when the recording starts or started during it), and gives each one a
// DeviceMapPoller. Finish() returns one map per VM, each with its pid and QEMU -name.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "qemu/device_map.h"
#include "qemu/device_map_poller.h"

namespace exitprof::qemu {

class QemuWatcher {
 public:
  QemuWatcher(std::chrono::milliseconds scan_interval, std::chrono::milliseconds map_interval);
  ~QemuWatcher();  // stops every thread
  QemuWatcher(const QemuWatcher&) = delete;
  QemuWatcher& operator=(const QemuWatcher&) = delete;

  struct Unanswered {
    pid_t pid = 0;
    std::string vm_name, error;
  };
  struct Result {
    std::vector<DeviceMapHistory> maps;  // VMs whose QMP answered at least once, by pid
    std::vector<Unanswered> unanswered;  // VMs found whose QMP never answered
  };
  // Scans once more, takes each VM's last snapshot, stops and returns what was seen.
  Result Finish();

 private:
  struct Watched {
    std::string vm_name;
    std::unique_ptr<DeviceMapPoller> poller;
  };
  void Run();
  void ScanOnce();

  std::chrono::milliseconds scan_interval_, map_interval_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::map<pid_t, Watched> watched_;
  std::thread thread_;
};

}  // namespace exitprof::qemu
