// Who a VMM process is, for the `vm` label: QEMU's -name where given, else "COMMAND-PID". Names
// are read once per process (a command line does not change) and forgotten when it ends. With
// --qmp auto, a QEMU whose command line names a QMP socket gets a device map poller, so port and
// MMIO exits can be named by device.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "qemu/device_map.h"
#include "qemu/device_map_poller.h"

namespace exitprof::serve {

struct VmIdentity {
  pid_t pid = 0;
  std::string vm;         // the label value
  std::string qemu_name;  // -name, "" when none
  std::string qmp;        // the QMP socket used for the device map, "" when none
};

class VmDirectory {
 public:
  explicit VmDirectory(bool qmp_auto, std::chrono::milliseconds device_poll = std::chrono::milliseconds(5000))
      : qmp_auto_(qmp_auto), device_poll_(device_poll) {}

  // The identity of a process seen counting (looked up on first use).
  const VmIdentity& Get(pid_t pid);
  // Takes each poller's latest maps (once per scrape: a history is copied, not shared).
  void RefreshDevices();
  // The device map of `pid` as of the last RefreshDevices(), nullptr when it has none.
  const qemu::DeviceMapHistory* Devices(pid_t pid) const;
  // Forgets processes that have ended; returns their pids.
  std::vector<pid_t> Prune();
  bool Known(pid_t pid) const { return entries_.count(pid) != 0; }

 private:
  struct Entry {
    VmIdentity id;
    std::unique_ptr<qemu::DeviceMapPoller> poller;
    qemu::DeviceMapHistory devices;  // the poller's maps as of RefreshDevices()
  };
  bool qmp_auto_;
  std::chrono::milliseconds device_poll_;
  std::map<pid_t, Entry> entries_;
};

// Whether a process still runs (/proc/PID is there and is not a zombie).
bool ProcessAlive(pid_t pid);

}  // namespace exitprof::serve
