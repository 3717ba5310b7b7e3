#include "analysis/device_attribution.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "kvm/known_names.h"

namespace exitprof::analysis {

namespace {

// Ports at 0xc000 and above are where PCI I/O BARs go: the fixed table only knows them as a range.
constexpr uint16_t kFirstPciIoPort = 0xc000;

vmm::Attribution FixedPort(uint16_t port) {
  vmm::Attribution a;
  if (port >= kFirstPciIoPort) return a;
  a.device = kvm::PortName(port);
  return a;
}

vmm::Attribution FixedMmio(uint64_t gpa) {
  vmm::Attribution a;
  std::string name = kvm::MmioName(gpa);
  if (name.empty() || name.find("PCIe ECAM") != std::string::npos) return a;
  a.device = name.rfind("LAPIC", 0) == 0 ? "LAPIC" : name;
  if (a.device != name) a.reg = name;
  return a;
}

class Attributor {
 public:
  Attributor(const vmm::DeviceMapHistory* map, std::string missing) : map_(map), missing_(std::move(missing)) {}

  vmm::Attribution Port(uint16_t port) {
    vmm::Attribution a;
    if (map_) a = map_->Attribute(port, true);
    // ISA ports keep their fixed names; the map's region name stays in `region`.
    if (a.bar < 0) {
      vmm::Attribution fixed = FixedPort(port);
      if (fixed.attributed()) {
        fixed.region = a.region;
        fixed.offset = a.region.empty() ? 0 : a.offset;
        a = fixed;
      }
    }
    return a;
  }

  vmm::Attribution Mmio(uint64_t gpa) {
    vmm::Attribution a;
    if (map_) a = map_->Attribute(gpa, false);
    if (!a.attributed()) a = FixedMmio(gpa);
    else if (a.bar < 0 && a.reg.empty()) {
      // A vCPU's own accesses to 0xfee00000 reach its local APIC, which info mtree does not
      // list (its "kvm-apic-msi" region is where devices' MSI writes land).
      std::string name = kvm::MmioName(gpa);
      if (name.rfind("LAPIC", 0) == 0) {
        a.device = "LAPIC";
        a.reg = name;
      }
    }
    return a;
  }

  std::string Why(bool io) const {
    if (!map_) return missing_;
    return io ? "no device or region in the device map covers this port"
              : "no device or region in the device map covers this address";
  }

 private:
  const vmm::DeviceMapHistory* map_;
  std::string missing_;
};

}  // namespace

void AttributeDevices(ReportModel& m, const vmm::DeviceMapHistory* map, const std::string& source,
                      const std::string& missing) {
  m.device_map_source = map ? source : "";
  m.device_map_missing = map ? "" : missing;
  m.device_map_warning.clear();
  if (map && map->pid > 0) {
    // One VM's map names only that VM's devices: say so when other VMMs exited too.
    std::set<uint32_t> others;
    for (const auto& r : m.by_vm) others.insert(r.pid);
    for (const auto& r : m.userspace_exits_by_thread) others.insert(r.pid);
    for (const auto& r : m.pio_by_thread) others.insert(r.pid);
    others.erase(static_cast<uint32_t>(map->pid));
    if (!others.empty()) {
      std::string list;
      for (uint32_t pid : others) list += (list.empty() ? "" : ", ") + std::to_string(pid);
      m.device_map_warning = "the device map is of PID " + std::to_string(map->pid) +
                             (map->vm_name.empty() ? "" : " (" + map->vm_name + ")") +
                             ", but processes " + list +
                             " exited too: their ports and addresses were attributed with it as well (use -p PID)";
    }
  }
  Attributor attributor(map, missing);
  std::map<uint16_t, vmm::Attribution> ports;
  auto port = [&](uint16_t p) -> const vmm::Attribution& {
    auto it = ports.find(p);
    if (it == ports.end()) it = ports.emplace(p, attributor.Port(p)).first;
    return it->second;
  };
  for (auto& r : m.pio) r.device = port(r.port);
  for (auto& r : m.pio_from_exits) r.device = port(r.port);
  for (auto& r : m.pio_by_thread) r.access.device = port(r.access.port);
  std::map<uint64_t, vmm::Attribution> addresses;
  for (auto& r : m.mmio) {
    auto it = addresses.find(r.gpa);
    if (it == addresses.end()) it = addresses.emplace(r.gpa, attributor.Mmio(r.gpa)).first;
    r.device = it->second;
  }

  // One row per device register; a BAR without register names is split by offset, a fixed
  // port or region is one row per name whatever the offset.
  using Key = std::tuple<std::string, std::string, int, std::string, uint64_t>;
  std::map<Key, ReportModel::DeviceRow> rows;
  std::map<std::pair<bool, uint64_t>, uint64_t> missing_rows;
  auto add = [&](const vmm::Attribution& a, bool io, uint64_t address, uint64_t count) {
    if (!a.attributed()) {
      missing_rows[{io, address}] += count;
      return;
    }
    // A BAR without a register name is told apart by offset; fixed ports and regions by name.
    uint64_t offset = a.reg.empty() && a.bar >= 0 ? a.offset : 0;
    auto& row = rows[Key{a.device, a.pci + "/" + a.id, a.bar, a.reg.empty() ? a.region : a.reg, offset}];
    if (!row.device.attributed()) row.device = a;
    (io ? row.pio : row.mmio) += count;
  };
  const auto& pio = m.pio.empty() ? m.pio_from_exits : m.pio;
  for (const auto& r : pio) add(r.device, true, r.port, r.count);
  for (const auto& r : m.mmio) {
    if (r.type == "unsatisfied-read") continue;  // the exit half of a read counted as "read"
    add(r.device, false, r.gpa, r.count);
  }
  m.by_device.clear();
  for (auto& [key, row] : rows) m.by_device.push_back(row);
  std::stable_sort(m.by_device.begin(), m.by_device.end(),
                   [](const auto& a, const auto& b) { return a.count() > b.count(); });
  for (auto& page : m.mmio_pages) {
    if (!page.name.empty()) continue;
    vmm::Attribution a = attributor.Mmio(page.page);
    if (a.bar >= 0) page.name = a.device + (a.id.empty() ? "" : " " + a.id) + " " + a.pci + " BAR" + std::to_string(a.bar);
    else if (a.attributed()) page.name = a.device;
  }
  m.unattributed.clear();
  for (const auto& [key, count] : missing_rows)
    m.unattributed.push_back({key.first, key.second, count, attributor.Why(key.first)});
  std::stable_sort(m.unattributed.begin(), m.unattributed.end(),
                   [](const auto& a, const auto& b) { return a.count > b.count; });
}

}  // namespace exitprof::analysis
