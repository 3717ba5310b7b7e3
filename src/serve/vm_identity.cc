#include "serve/vm_identity.h"

#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "qemu/qmp.h"

namespace exitprof::serve {

namespace {

std::string Comm(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm.empty() ? "pid" : comm;
}

}  // namespace

bool ProcessAlive(pid_t pid) {
  // A zombie has ended: its VMs are gone though /proc/PID stays until it is reaped.
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  const auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || (stat[paren + 2] != 'Z' && stat[paren + 2] != 'X');
}

const VmIdentity& VmDirectory::Get(pid_t pid) {
  auto it = entries_.find(pid);
  if (it != entries_.end()) return it->second.id;
  Entry e;
  e.id.pid = pid;
  const auto args = qemu::ProcessArgs(pid);
  e.id.qemu_name = qemu::QemuNameFromArgs(args);
  e.id.vm = e.id.qemu_name.empty() ? Comm(pid) + "-" + std::to_string(pid) : e.id.qemu_name;
  if (qmp_auto_) {
    if (auto socket = qemu::QmpSocketFromArgs(args, pid)) {
      e.id.qmp = *socket;
      e.poller = std::make_unique<qemu::DeviceMapPoller>(*socket, device_poll_);
    }
  }
  return entries_.emplace(pid, std::move(e)).first->second.id;
}

void VmDirectory::RefreshDevices() {
  for (auto& [pid, e] : entries_)
    if (e.poller) e.devices = e.poller->Current();
}

const qemu::DeviceMapHistory* VmDirectory::Devices(pid_t pid) const {
  auto it = entries_.find(pid);
  if (it == entries_.end() || it->second.devices.snapshots.empty()) return nullptr;
  return &it->second.devices;
}

std::vector<pid_t> VmDirectory::Prune() {
  std::vector<pid_t> gone;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (ProcessAlive(it->first)) {
      ++it;
      continue;
    }
    gone.push_back(it->first);
    it = entries_.erase(it);
  }
  return gone;
}

}  // namespace exitprof::serve
