#include "report/devices.h"

#include <unistd.h>

#include "analysis/device_attribution.h"
#include "qemu/device_map.h"

namespace exitprof::report {

namespace {
// The side file `exitprof record` keeps beside INPUT ("" for a pipe).
std::string SideFile(const std::string& input, const std::string& device_map) {
  return !device_map.empty() ? device_map : input == "-" ? "" : qemu::DeviceMapPathFor(input);
}
}  // namespace

Result<void> AttributeDevices(analysis::ReportModel& model, const std::string& input, const std::string& qmp,
                              const std::string& device_map) {
  if (!qmp.empty()) {
    auto map = qemu::SnapshotDeviceMap(qmp);
    if (!map) return tl::unexpected(map.error());
    qemu::DeviceMapHistory history;
    history.qmp_path = qmp;
    history.Add(std::move(*map));
    analysis::AttributeDevices(model, &history, "QMP " + qmp + " (now)", "");
    return {};
  }
  std::string path = SideFile(input, device_map);
  if (!path.empty() && (!device_map.empty() || ::access(path.c_str(), F_OK) == 0)) {
    auto maps = qemu::LoadDeviceMapsFile(path);
    if (!maps) return tl::unexpected(maps.error());
    analysis::AttributeDevices(model, *maps, path, "");
    return {};
  }
  analysis::AttributeDevices(
      model, nullptr, "",
      "no device map: " + (path.empty() ? std::string("a piped recording has no side file") : "no " + path) +
          " (`exitprof record` keeps one when QEMU has a QMP socket, -qmp unix:PATH,server=on,wait=off), and no "
          "--qmp PATH of the running VM was given; PCI BARs cannot be told apart");
  return {};
}

std::vector<uint32_t> GuestPidsNamed(const std::string& name, const std::string& input, const std::string& device_map) {
  // QEMU's -name, kept by `exitprof record` beside the recording, names the VM's process.
  std::string side = SideFile(input, device_map);
  if (side.empty() || ::access(side.c_str(), F_OK) != 0) return {};
  auto history = qemu::LoadDeviceMapFile(side);
  if (!history || history->vm_name != name) return {};
  return {static_cast<uint32_t>(history->pid)};
}

}  // namespace exitprof::report
