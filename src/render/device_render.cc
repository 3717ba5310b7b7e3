// Device attribution in text, JSON and CSV.
#include <fmt/format.h>

#include <algorithm>

#include "render/report_render.h"

namespace exitprof::render {

using nlohmann::ordered_json;

std::string DeviceText(const vmm::Attribution& a, const std::string& fixed_name) {
  return a.attributed() ? a.Label() : fixed_name;
}

void RenderDeviceText(std::string& out, const analysis::ReportModel& m, bool unattributed, bool table) {
  if (table && !m.by_device.empty()) {
    out += "# Exits by device" + (m.device_map_source.empty() ? std::string(" (fixed names only: no device map)")
                                                              : " (device map: " + m.device_map_source + ")");
    if (!m.device_map_warning.empty()) out += "\n# warning: " + m.device_map_warning;
    // Per VM when each VMM had its own map: a PID column first.
    const bool per_vm = std::any_of(m.by_device.begin(), m.by_device.end(), [](const auto& r) { return r.pid != 0; });
    out += fmt::format("\n#\n# {}{:>10}  {:>8}  {:>8}  {:<24} {:<8} {:>5}  {:>8}  {}\n", per_vm ? fmt::format("{:>8}  ", "PID") : "",
                       "Exits", "PIO", "MMIO", "Device", "PCI", "BAR", "Offset", "Register / region");
    for (const auto& r : m.by_device) {
      const auto& a = r.device;
      std::string device = a.id.empty() ? a.device : a.device + " (" + a.id + ")";
      out += fmt::format("  {}{:>10}  {:>8}  {:>8}  {:<24} {:<8} {:>5}  {:>8}  {}\n", per_vm ? fmt::format("{:>8}  ", r.pid) : "",
                         r.count(), r.pio, r.mmio, device,
                         a.pci.empty() ? "-" : a.pci, a.bar < 0 ? std::string("-") : std::to_string(a.bar),
                         a.bar < 0 ? std::string("-") : Hex(a.offset), a.reg.empty() ? a.region : a.reg);
    }
    out += "\n";
  }
  if (unattributed && !m.unattributed.empty()) {
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

ordered_json DeviceJson(const vmm::Attribution& a) {
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
  j["by_device"] = ordered_json::array();
  for (const auto& r : m.by_device) {
    ordered_json row = {{"pid", r.pid ? ordered_json(r.pid) : ordered_json(nullptr)}, {"device", DeviceJson(r.device)},
                        {"pio", r.pio}, {"mmio", r.mmio}, {"count", r.count()}};
    j["by_device"].push_back(row);
  }
  j["unattributed"] = ordered_json::array();
  for (const auto& r : m.unattributed)
    j["unattributed"].push_back({{"pid", r.pid ? ordered_json(r.pid) : ordered_json(nullptr)}, {"kind", r.io ? "pio" : "mmio"},
                                 {"address", Hex(r.address)}, {"count", r.count}, {"why", r.why}});
}

std::string RenderDeviceCsv(const analysis::ReportModel& m) {
  auto field = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::string out = "device,id,pci,bar,offset,register,region,pio,mmio,count\n";
  for (const auto& r : m.by_device) {
    const auto& a = r.device;
    out += fmt::format("{},{},{},{},{:#x},{},{},{},{},{}\n", field(a.device), field(a.id), a.pci,
                       a.bar < 0 ? std::string() : std::to_string(a.bar), a.offset, field(a.reg), field(a.region), r.pio, r.mmio,
                       r.count());
  }
  return out;
}

}  // namespace exitprof::render
