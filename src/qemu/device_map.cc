#include "qemu/device_map.h"

#include <time.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "qemu/qmp.h"

namespace exitprof::qemu {

using nlohmann::json;

std::string PciDevice::Address() const { return fmt::format("{:02x}:{:02x}.{:x}", bus, slot, function); }

namespace {

// A member of a query-pci object, checked: "query-pci: device 00:02.0: expected integer \"slot\"".
Result<int64_t> IntMember(const json& o, const char* key, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number_integer()) return Fail("query-pci: " + where + ": expected integer \"" + key + "\"");
  return it->get<int64_t>();
}

Result<PciBar> ParseBar(const json& r, const std::string& where) {
  if (!r.is_object()) return Fail("query-pci: " + where + ": expected a region object");
  PciBar bar;
  auto index = IntMember(r, "bar", where);
  if (!index) return tl::unexpected(index.error());
  if (*index < 0 || *index > 6) return Fail("query-pci: " + where + ": \"bar\" " + std::to_string(*index) + " is not 0..6");
  bar.index = static_cast<int>(*index);
  auto type = r.find("type");
  if (type == r.end() || !type->is_string() || (*type != "io" && *type != "memory"))
    return Fail("query-pci: " + where + " BAR" + std::to_string(bar.index) + ": expected \"type\" io or memory");
  bar.io = *type == "io";
  auto address = IntMember(r, "address", where);
  auto size = IntMember(r, "size", where);
  if (!address) return tl::unexpected(address.error());
  if (!size) return tl::unexpected(size.error());
  bar.address = static_cast<uint64_t>(*address);  // -1 (unprogrammed) becomes ~0
  bar.size = static_cast<uint64_t>(*size);
  if (auto p = r.find("prefetch"); p != r.end() && p->is_boolean()) bar.prefetch = p->get<bool>();
  if (auto m = r.find("mem_type_64"); m != r.end() && m->is_boolean()) bar.mem64 = m->get<bool>();
  return bar;
}

Result<void> ParseDevices(const json& devices, int depth, std::vector<PciDevice>& out) {
  if (depth > 8) return Fail("query-pci: bridges nested deeper than 8");
  if (!devices.is_array()) return Fail("query-pci: expected a \"devices\" array");
  for (const auto& d : devices) {
    if (!d.is_object()) return Fail("query-pci: expected device objects");
    PciDevice dev;
    auto bus = IntMember(d, "bus", "device");
    auto slot = IntMember(d, "slot", "device");
    auto function = IntMember(d, "function", "device");
    if (!bus) return tl::unexpected(bus.error());
    if (!slot) return tl::unexpected(slot.error());
    if (!function) return tl::unexpected(function.error());
    dev.bus = static_cast<int>(*bus & 0xff);
    dev.slot = static_cast<int>(*slot & 0x1f);
    dev.function = static_cast<int>(*function & 0x7);
    const std::string where = "device " + dev.Address();
    auto id = d.find("id");
    if (id == d.end() || !id->is_object()) return Fail("query-pci: " + where + ": expected an \"id\" object");
    auto vendor = IntMember(*id, "vendor", where);
    auto device = IntMember(*id, "device", where);
    if (!vendor) return tl::unexpected(vendor.error());
    if (!device) return tl::unexpected(device.error());
    dev.vendor = static_cast<uint16_t>(*vendor);
    dev.device = static_cast<uint16_t>(*device);
    if (auto ci = d.find("class_info"); ci != d.end() && ci->is_object()) {
      if (auto c = ci->find("class"); c != ci->end() && c->is_number_integer()) dev.class_code = c->get<uint32_t>();
      if (auto desc = ci->find("desc"); desc != ci->end() && desc->is_string()) dev.class_desc = desc->get<std::string>();
    }
    if (auto q = d.find("qdev_id"); q != d.end() && q->is_string()) dev.qdev_id = q->get<std::string>();
    dev.type = VirtioTypeName(dev.vendor, dev.device);
    if (dev.type.empty()) {
      dev.type = fmt::format("{:04x}:{:04x}", dev.vendor, dev.device);
      if (!dev.class_desc.empty()) dev.type += " " + dev.class_desc;
    }
    if (auto regions = d.find("regions"); regions != d.end()) {
      if (!regions->is_array()) return Fail("query-pci: " + where + ": expected a \"regions\" array");
      for (const auto& r : *regions) {
        auto bar = ParseBar(r, where);
        if (!bar) return tl::unexpected(bar.error());
        dev.bars.push_back(*bar);
      }
    }
    out.push_back(std::move(dev));
    if (auto bridge = d.find("pci_bridge"); bridge != d.end() && bridge->is_object()) {
      if (auto inner = bridge->find("devices"); inner != bridge->end()) {
        if (auto r = ParseDevices(*inner, depth + 1, out); !r) return r;
      }
    }
  }
  return {};
}

// 16 hex digits exactly, as info mtree prints addresses.
bool ParseHex16(const std::string& s, size_t pos, uint64_t& out) {
  if (pos + 16 > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + 16; ++i) {
    char c = s[i];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (v < 0) return false;
    out = out << 4 | static_cast<uint64_t>(v);
  }
  return true;
}

uint64_t NowUnixNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

Result<std::vector<PciDevice>> ParsePciDevices(const json& query_pci) {
  if (!query_pci.is_array()) return Fail("query-pci: expected an array of buses");
  std::vector<PciDevice> out;
  for (const auto& bus : query_pci) {
    if (!bus.is_object() || !bus.contains("devices")) return Fail("query-pci: expected bus objects with \"devices\"");
    if (auto r = ParseDevices(bus["devices"], 0, out); !r) return tl::unexpected(r.error());
  }
  return out;
}

// A flat view is a header, the address spaces that render it, its root, then one line per range:
//   FlatView #1
//    AS "I/O", root: io
//    Root memory region: io
//     000000000000c000-000000000000c07f (prio 1, i/o): virtio-pci
// Ranges nobody claims show as the root region itself ("io @0000000000000d00"): not a device.
Result<FlatViews> ParseMtreeFlat(const std::string& text) {
  FlatViews out;
  std::istringstream in(text);
  std::string line, root;
  std::vector<Region>* target = nullptr;
  bool seen_view = false;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto where = [&] { return "info mtree -f: line " + std::to_string(line_no) + ": "; };
    if (line.rfind("FlatView #", 0) == 0) {
      seen_view = true;
      target = nullptr;
      root.clear();
      continue;
    }
    if (!seen_view) continue;
    if (line.rfind(" AS \"", 0) == 0) {
      size_t end = line.find('"', 5);
      if (end == std::string::npos) return Fail(where() + "expected AS \"NAME\"");
      std::string as = line.substr(5, end - 5);
      if (as == "I/O") target = &out.io;
      else if (as == "memory") target = &out.memory;
      continue;
    }
    if (line.rfind(" Root memory region: ", 0) == 0) {
      root = line.substr(21);
      continue;
    }
    if (line.size() < 3 || line[0] != ' ' || line[1] != ' ' || !std::isxdigit(static_cast<unsigned char>(line[2]))) continue;
    if (!target) continue;
    Region r;
    if (!ParseHex16(line, 2, r.first) || line.size() < 35 || line[18] != '-' || !ParseHex16(line, 19, r.last))
      return Fail(where() + "expected FIRST-LAST as two 16-digit hex numbers");
    if (r.last < r.first) return Fail(where() + "the range ends before it starts");
    size_t open = line.find(" (", 35);
    size_t close = line.find("): ", 35);
    if (open != 35 || close == std::string::npos) return Fail(where() + "expected \" (prio P, KIND): NAME\" after the range");
    std::string attrs = line.substr(open + 2, close - open - 2);  // "prio 0, i/o"
    size_t comma = attrs.find(", ");
    r.kind = comma == std::string::npos ? "" : attrs.substr(comma + 2);
    std::string name = line.substr(close + 3);
    // "pc.ram KVM", "rtc @0000000000000001": the region's name is the first word.
    r.name = name.substr(0, name.find(' '));
    if (r.name.empty()) return Fail(where() + "expected a region name");
    if (r.name == root) continue;  // unclaimed space
    target->push_back(std::move(r));
  }
  if (!seen_view) return Fail("info mtree -f: expected \"FlatView #N\" sections (is this `info mtree -f` output?)");
  return out;
}

Result<DeviceMap> SnapshotDeviceMap(QmpClient& qmp) {
  DeviceMap map;
  map.taken_unix_ns = NowUnixNs();
  auto pci = qmp.Execute("query-pci");
  if (!pci) return tl::unexpected(pci.error());
  auto devices = ParsePciDevices(*pci);
  if (!devices) return Fail("QMP " + qmp.path() + ": " + devices.error().message, 1);
  map.pci = std::move(*devices);
  auto mtree = qmp.Hmp("info mtree -f");
  if (!mtree) return tl::unexpected(mtree.error());
  auto views = ParseMtreeFlat(*mtree);
  if (!views) return Fail("QMP " + qmp.path() + ": " + views.error().message, 1);
  map.io = std::move(views->io);
  map.memory = std::move(views->memory);
  return map;
}

Result<DeviceMap> SnapshotDeviceMap(const std::string& qmp_path, int timeout_ms) {
  auto qmp = QmpClient::Connect(qmp_path, timeout_ms);
  if (!qmp) return tl::unexpected(qmp.error());
  return SnapshotDeviceMap(*qmp);
}

bool DeviceMapHistory::Add(DeviceMap map) {
  if (!snapshots.empty() && snapshots.back().SameLayout(map)) return false;
  snapshots.push_back(std::move(map));
  return true;
}

}  // namespace exitprof::qemu
