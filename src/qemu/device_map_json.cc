// The device map side file (FILE.devices.json): what `record` saw, for a later `report`.
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "qemu/device_map.h"

namespace exitprof::qemu {

using nlohmann::json;

namespace {

constexpr int kVersion = 1;         // one VM
constexpr int kVersionSeveral = 2;  // {"vms": [one VM's map without the version, ...]}

json RegionsToJson(const std::vector<Region>& regions) {
  json out = json::array();
  for (const auto& r : regions)
    out.push_back({{"first", fmt::format("{:#x}", r.first)}, {"last", fmt::format("{:#x}", r.last)}, {"name", r.name}, {"kind", r.kind}});
  return out;
}

// "0x1f" -> 31; anything else is refused.
Result<uint64_t> HexMember(const json& o, const char* key, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_string()) return Fail(where + ": expected \"" + key + "\" as a \"0x...\" string");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.size() < 3 || s.size() > 18 || s[0] != '0' || s[1] != 'x') return Fail(where + ": \"" + key + "\" " + s + ": expected 0x and 1-16 hex digits");
  uint64_t v = 0;
  for (size_t i = 2; i < s.size(); ++i) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return Fail(where + ": \"" + key + "\" " + s + ": expected hex digits");
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

std::string StringMember(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<std::vector<Region>> RegionsFromJson(const json& j, const std::string& where) {
  if (!j.is_array()) return Fail(where + ": expected an array of regions");
  std::vector<Region> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!j[i].is_object()) return Fail(at + ": expected a region object");
    Region r;
    auto first = HexMember(j[i], "first", at);
    auto last = HexMember(j[i], "last", at);
    if (!first) return tl::unexpected(first.error());
    if (!last) return tl::unexpected(last.error());
    if (*last < *first) return Fail(at + ": \"last\" is below \"first\"");
    r.first = *first;
    r.last = *last;
    r.name = StringMember(j[i], "name");
    r.kind = StringMember(j[i], "kind");
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::string DeviceMapPathFor(const std::string& recording) { return recording + ".devices.json"; }

// PCI devices are kept in query-pci's own shape (buses -> devices -> regions), so the file
// reads back through the same parser as a live QEMU's answer.
json ToJson(const DeviceMapHistory& history) {
  json snapshots = json::array();
  for (const auto& map : history.snapshots) {
    json devices = json::array();
    for (const auto& d : map.pci) {
      json regions = json::array();
      for (const auto& b : d.bars) {
        regions.push_back({{"bar", b.index}, {"type", b.io ? "io" : "memory"},
                           {"address", b.mapped() ? static_cast<int64_t>(b.address) : -1},
                           {"size", static_cast<int64_t>(b.size)}, {"prefetch", b.prefetch}, {"mem_type_64", b.mem64}});
      }
      json dev = {{"bus", d.bus}, {"slot", d.slot}, {"function", d.function},
                  {"id", {{"vendor", d.vendor}, {"device", d.device}}},
                  {"class_info", {{"class", d.class_code}}}, {"qdev_id", d.qdev_id}, {"regions", regions}};
      if (!d.class_desc.empty()) dev["class_info"]["desc"] = d.class_desc;
      devices.push_back(dev);
    }
    snapshots.push_back({{"taken_unix_ns", map.taken_unix_ns},
                         {"query_pci", json::array({{{"bus", 0}, {"devices", devices}}})},
                         {"io", RegionsToJson(map.io)},
                         {"memory", RegionsToJson(map.memory)}});
  }
  return {{"exitprof_device_map", kVersion}, {"pid", history.pid}, {"qmp", history.qmp_path},
          {"vm_name", history.vm_name}, {"snapshots", snapshots}};
}

json ToJson(const std::vector<DeviceMapHistory>& maps) {
  if (maps.size() == 1) return ToJson(maps[0]);  // what readers of version 1 also read
  json vms = json::array();
  for (const auto& h : maps) {
    json one = ToJson(h);
    one.erase("exitprof_device_map");
    vms.push_back(std::move(one));
  }
  return {{"exitprof_device_map", kVersionSeveral}, {"vms", vms}};
}

namespace {

// One VM's map: pid, qmp, vm_name and its snapshots.
Result<DeviceMapHistory> HistoryFromJson(const json& j) {
  if (!j.is_object()) return Fail("expected a device map object");
  DeviceMapHistory h;
  if (auto pid = j.find("pid"); pid != j.end() && pid->is_number_integer()) h.pid = pid->get<pid_t>();
  h.qmp_path = StringMember(j, "qmp");
  h.vm_name = StringMember(j, "vm_name");
  auto snapshots = j.find("snapshots");
  if (snapshots == j.end() || !snapshots->is_array()) return Fail("expected a \"snapshots\" array");
  for (size_t i = 0; i < snapshots->size(); ++i) {
    const json& s = (*snapshots)[i];
    const std::string where = "snapshots[" + std::to_string(i) + "]";
    if (!s.is_object()) return Fail(where + ": expected an object");
    DeviceMap map;
    if (auto t = s.find("taken_unix_ns"); t != s.end() && t->is_number_unsigned()) map.taken_unix_ns = t->get<uint64_t>();
    auto pci = s.find("query_pci");
    if (pci == s.end()) return Fail(where + ": expected \"query_pci\"");
    auto devices = ParsePciDevices(*pci);
    if (!devices) return Fail(where + ": " + devices.error().message);
    map.pci = std::move(*devices);
    auto io = RegionsFromJson(s.value("io", json()), where + ".io");
    if (!io) return tl::unexpected(io.error());
    auto memory = RegionsFromJson(s.value("memory", json()), where + ".memory");
    if (!memory) return tl::unexpected(memory.error());
    map.io = std::move(*io);
    map.memory = std::move(*memory);
    h.snapshots.push_back(std::move(map));
  }
  return h;
}

Result<void> CheckVersion(const json& j, int version) {
  if (!j.is_object() || !j.contains("exitprof_device_map")) return Fail("expected an exitprof device map (\"exitprof_device_map\": 1 or 2)");
  if (j["exitprof_device_map"] != version)
    return Fail("device map version " + j["exitprof_device_map"].dump() + ": expected version " + std::to_string(version) +
                " here (this exitprof reads 1 and 2)");
  return {};
}

}  // namespace

Result<DeviceMapHistory> DeviceMapHistoryFromJson(const json& j) {
  if (auto v = CheckVersion(j, kVersion); !v) return tl::unexpected(v.error());
  return HistoryFromJson(j);
}

Result<std::vector<DeviceMapHistory>> DeviceMapsFromJson(const json& j) {
  if (j.is_object() && j.value("exitprof_device_map", json()) == kVersion) {
    auto one = HistoryFromJson(j);
    if (!one) return tl::unexpected(one.error());
    return std::vector<DeviceMapHistory>{std::move(*one)};
  }
  if (auto v = CheckVersion(j, kVersionSeveral); !v) return tl::unexpected(v.error());
  auto vms = j.find("vms");
  if (vms == j.end() || !vms->is_array()) return Fail("expected a \"vms\" array");
  std::vector<DeviceMapHistory> out;
  for (size_t i = 0; i < vms->size(); ++i) {
    auto h = HistoryFromJson((*vms)[i]);
    if (!h) return Fail("vms[" + std::to_string(i) + "]: " + h.error().message);
    out.push_back(std::move(*h));
  }
  return out;
}

Result<std::vector<DeviceMapHistory>> LoadDeviceMapsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Fail("device map " + path + ": cannot open it");
  std::stringstream buf;
  buf << in.rdbuf();
  json j = json::parse(buf.str(), nullptr, false);
  if (j.is_discarded()) return Fail("device map " + path + ": expected JSON");
  auto maps = DeviceMapsFromJson(j);
  if (!maps) return Fail("device map " + path + ": " + maps.error().message);
  return maps;
}

Result<DeviceMapHistory> LoadDeviceMapFile(const std::string& path) {
  auto maps = LoadDeviceMapsFile(path);
  if (!maps) return tl::unexpected(maps.error());
  if (maps->size() != 1) return Fail("device map " + path + ": holds " + std::to_string(maps->size()) + " VMs' maps, expected one");
  return std::move((*maps)[0]);
}

Result<void> SaveDeviceMapFile(const std::string& path, const std::vector<DeviceMapHistory>& maps) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return Fail("device map " + path + ": cannot create it", 1);
  out << ToJson(maps).dump(1, ' ', false, json::error_handler_t::replace) << "\n";
  if (!out.flush()) return Fail("device map " + path + ": write failed", 1);
  return {};
}

Result<void> SaveDeviceMapFile(const std::string& path, const DeviceMapHistory& history) {
  return SaveDeviceMapFile(path, std::vector<DeviceMapHistory>{history});
}

}  // namespace exitprof::qemu
