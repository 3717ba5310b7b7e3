// Joins the report's port IO and MMIO rows to the VM's device map: each row gets the device,
// BAR, offset and register it went to; `by_device` groups the accesses per device register;
// what cannot be attributed is listed with the reason. Work is per distinct port/address row,
// never per event.
#pragma once

#include <span>
#include <string>

#include "analysis/report_model.h"
#include "qemu/device_map.h"

namespace exitprof::analysis {

// map may be null (no QMP access, no side file): ISA ports and the PC's fixed MMIO regions are
// still named from the fixed tables; everything else is listed as unattributed with `missing`
// as the reason. `source` says where the map came from ("vm.data.devices.json", "QMP PATH").
void AttributeDevices(ReportModel& m, const qemu::DeviceMapHistory* map, const std::string& source,
                      const std::string& missing);
// A recording of several VMs keeps one map per VMM process: each process's port and MMIO rows
// (pio_by_thread, mmio_by_pid, by_device) are attributed with its own map; an access of the
// all-process tables (pio, mmio) keeps a device only where every process that made it agrees.
// Rows of processes without a map get fixed names only, and the warning lists them. VM rows get
// the map's VM name (QEMU -name).
void AttributeDevices(ReportModel& m, std::span<const qemu::DeviceMapHistory> maps, const std::string& source,
                      const std::string& missing);

}  // namespace exitprof::analysis
