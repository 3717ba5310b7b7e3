// Device attribution: the device column's text and JSON, the map's provenance, what was not attributed.
#include <fmt/format.h>

#include <algorithm>

#include "render/report_render.h"
#include "render/report_tables.h"

namespace exitprof::render {

using nlohmann::ordered_json;

std::string DeviceText(const qemu::Attribution& a, const std::string& fixed_name) {
  return a.attributed() ? a.Label() : fixed_name;
}

void RenderUnattributedText(std::string& out, const analysis::ReportModel& m) {
  if (!m.unattributed.empty()) {
    uint64_t ports = 0, mmio = 0;
    for (const auto& r : m.unattributed) (r.io ? ports : mmio) += r.count;
    out += fmt::format("# Not attributed to a device: {} port accesses, {} MMIO accesses\n", ports, mmio);
    if (!m.device_map_missing.empty()) out += "#   why: " + m.device_map_missing + "\n";
    size_t shown = 0;
    for (const auto& r : m.unattributed) {
      if (++shown > 10) {
        out += fmt::format("#   ... and {} more\n", m.unattributed.size() - 10);
        break;
      }
      out += fmt::format("#   {}{} {:#x}: {} access{}{}\n", r.pid ? fmt::format("PID {} ", r.pid) : "", r.io ? "port" : "MMIO",
                         r.address, r.count, r.count == 1 ? "" : "es",
                         m.device_map_missing.empty() ? " (" + r.why + ")" : "");
    }
    out += "\n";
  }
}

ordered_json DeviceJson(const qemu::Attribution& a) {
  if (!a.attributed()) return nullptr;
  ordered_json j = {{"name", a.device}, {"id", a.id}, {"pci", a.pci}};
  j["bar"] = a.bar < 0 ? ordered_json(nullptr) : ordered_json(a.bar);
  j["offset"] = Hex(a.offset);
  j["region"] = a.region;
  j["register"] = a.reg;
  return j;
}

void AddDeviceJson(ordered_json& j, const analysis::ReportModel& m) {
  j["device_map"] = {{"source", m.device_map_source.empty() ? ordered_json(nullptr) : ordered_json(m.device_map_source)},
                     {"missing", m.device_map_missing.empty() ? ordered_json(nullptr) : ordered_json(m.device_map_missing)},
                     {"warning", m.device_map_warning.empty() ? ordered_json(nullptr) : ordered_json(m.device_map_warning)}};
  j["by_device"] = TableJson(DeviceTable(m, {}));
  j["unattributed"] = TableJson(UnattributedTable(m, {}));
}

}  // namespace exitprof::render
