// Device attribution of a report model: the map of a running QEMU (QMP), else the map file
// given, else the recording's side file INPUT.devices.json; without any, the model says why.
#pragma once

#include <string>

#include "analysis/report_model.h"
#include "base/result.h"

namespace exitprof::report {

Result<void> AttributeDevices(analysis::ReportModel& model, const std::string& input, const std::string& qmp,
                              const std::string& device_map);

// -g NAME: the pid of the VM QEMU named NAME (-name), from the map file or side file, if any.
std::vector<uint32_t> GuestPidsNamed(const std::string& name, const std::string& input, const std::string& device_map);

}  // namespace exitprof::report
