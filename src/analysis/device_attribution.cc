#include "analysis/device_attribution.h"

#include <algorithm>
#include <map>
#include <optional>
#include <span>
#include <set>
#include <tuple>

#include "kvm/known_names.h"

namespace exitprof::analysis {

namespace {

// Ports at 0xc000 and above are where PCI I/O BARs go: the fixed table only knows them as a range.
constexpr uint16_t kFirstPciIoPort = 0xc000;

qemu::Attribution FixedPort(uint16_t port) {
  qemu::Attribution a;
  if (port >= kFirstPciIoPort) return a;
  a.device = kvm::PortName(port);
  return a;
}

qemu::Attribution FixedMmio(uint64_t gpa) {
  qemu::Attribution a;
  std::string name = kvm::MmioName(gpa);
  if (name.empty() || name.find("PCIe ECAM") != std::string::npos) return a;
  a.device = name.rfind("LAPIC", 0) == 0 ? "LAPIC" : name;
  if (a.device != name) a.reg = name;
  return a;
}

class Attributor {
 public:
  Attributor(const qemu::DeviceMapHistory* map, std::string missing) : map_(map), missing_(std::move(missing)) {}

  qemu::Attribution Port(uint16_t port) {
    qemu::Attribution a;
    if (map_) a = map_->Attribute(port, true);
    // ISA ports keep their fixed names; the map's region name stays in `region`.
    if (a.bar < 0) {
      qemu::Attribution fixed = FixedPort(port);
      if (fixed.attributed()) {
        fixed.region = a.region;
        fixed.offset = a.region.empty() ? 0 : a.offset;
        a = fixed;
      }
    }
    return a;
  }

  qemu::Attribution Mmio(uint64_t gpa) {
    qemu::Attribution a;
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
  const qemu::DeviceMapHistory* map_;
  std::string missing_;
};

// One map's attributions, each port and address worked out once.
class CachedAttributor {
 public:
  CachedAttributor(const qemu::DeviceMapHistory* map, const std::string& missing) : attributor_(map, missing) {}
  const qemu::Attribution& Port(uint16_t port) {
    auto it = ports_.find(port);
    if (it == ports_.end()) it = ports_.emplace(port, attributor_.Port(port)).first;
    return it->second;
  }
  const qemu::Attribution& Mmio(uint64_t gpa) {
    auto it = addresses_.find(gpa);
    if (it == addresses_.end()) it = addresses_.emplace(gpa, attributor_.Mmio(gpa)).first;
    return it->second;
  }
  std::string Why(bool io) const { return attributor_.Why(io); }

 private:
  Attributor attributor_;
  std::map<uint16_t, qemu::Attribution> ports_;
  std::map<uint64_t, qemu::Attribution> addresses_;
};

std::string PidList(const std::set<uint32_t>& pids) {
  std::string list;
  for (uint32_t pid : pids) list += (list.empty() ? "" : ", ") + std::to_string(pid);
  return list;
}

// Processes whose exits the report counted.
std::set<uint32_t> ExitingProcesses(const ReportModel& m) {
  std::set<uint32_t> pids;
  for (const auto& r : m.by_vm) pids.insert(r.pid);
  for (const auto& r : m.userspace_exits_by_thread) pids.insert(r.pid);
  for (const auto& r : m.pio_by_thread) pids.insert(r.pid);
  for (const auto& r : m.mmio_by_pid) pids.insert(r.pid);
  return pids;
}

std::string Warning(const ReportModel& m, std::span<const qemu::DeviceMapHistory> maps) {
  if (maps.empty()) return {};  // device_map_missing says why
  std::set<uint32_t> others = ExitingProcesses(m);
  if (maps.size() == 1) {
    const auto& map = maps[0];
    if (map.pid <= 0) return {};
    // One VM's map names only that VM's devices: say so when other VMMs exited too.
    others.erase(static_cast<uint32_t>(map.pid));
    if (others.empty()) return {};
    return "the device map is of PID " + std::to_string(map.pid) + (map.vm_name.empty() ? "" : " (" + map.vm_name + ")") +
           ", but processes " + PidList(others) + " exited too: their ports and addresses were attributed with it as well (use -p PID)";
  }
  for (const auto& map : maps) others.erase(static_cast<uint32_t>(map.pid));
  if (others.empty()) return {};
  return "no device map for processes " + PidList(others) + " (record found no QMP socket for them): their ports and "
         "addresses have fixed names only";
}

}  // namespace

void AttributeDevices(ReportModel& m, const qemu::DeviceMapHistory* map, const std::string& source,
                      const std::string& missing) {
  AttributeDevices(m, map ? std::span<const qemu::DeviceMapHistory>(map, 1) : std::span<const qemu::DeviceMapHistory>(),
                   source, missing);
}

void AttributeDevices(ReportModel& m, std::span<const qemu::DeviceMapHistory> maps, const std::string& source,
                      const std::string& missing) {
  m.device_map_source = maps.empty() ? "" : source;
  m.device_map_missing = maps.empty() ? missing : "";
  m.device_map_warning = Warning(m, maps);
  for (auto& vm : m.by_vm) {
    for (const auto& map : maps) {
      if (map.pid > 0 && static_cast<uint32_t>(map.pid) == vm.pid && !map.vm_name.empty()) vm.name = map.vm_name;
    }
  }
  // Several maps: each process's accesses go through its own map (the same port is a different
  // device in another VM). One map or none: every process shares it, as before there were several.
  const bool per_process = maps.size() > 1;
  CachedAttributor shared(maps.size() == 1 ? &maps[0] : nullptr, missing);
  std::map<uint32_t, CachedAttributor> own;
  auto attributor_of = [&](uint32_t pid) -> CachedAttributor& {
    if (!per_process) return shared;
    auto it = own.find(pid);
    if (it != own.end()) return it->second;
    const qemu::DeviceMapHistory* mine = nullptr;
    for (const auto& map : maps) {
      if (map.pid > 0 && static_cast<uint32_t>(map.pid) == pid) mine = &map;
    }
    return own.try_emplace(pid, mine, "no device map for PID " + std::to_string(pid)).first->second;
  };
  for (auto& r : m.pio_by_thread) r.access.device = attributor_of(r.pid).Port(r.access.port);
  for (auto& r : m.mmio_by_pid) r.access.device = attributor_of(r.pid).Mmio(r.access.gpa);

  // The all-process rows: what every process that made the access agrees on (per_process), else
  // the shared map's answer.
  std::map<uint16_t, std::optional<qemu::Attribution>> port_agreed;
  std::map<uint64_t, std::optional<qemu::Attribution>> gpa_agreed;
  auto agree = [](auto& slot, const qemu::Attribution& a, bool first) {
    if (first) slot = a;
    else if (slot && slot->Label() != a.Label()) slot = qemu::Attribution{};
  };
  for (const auto& r : m.pio_by_thread) {
    auto [it, first] = port_agreed.try_emplace(r.access.port);
    agree(it->second, r.access.device, first);
  }
  for (const auto& r : m.mmio_by_pid) {
    auto [it, first] = gpa_agreed.try_emplace(r.access.gpa);
    agree(it->second, r.access.device, first);
  }
  auto port = [&](uint16_t p) -> qemu::Attribution {
    if (!per_process) return shared.Port(p);
    auto it = port_agreed.find(p);
    return it != port_agreed.end() && it->second ? *it->second : qemu::Attribution{};
  };
  for (auto& r : m.pio) r.device = port(r.port);
  for (auto& r : m.pio_from_exits) r.device = port(r.port);
  for (auto& r : m.mmio) {
    if (!per_process) {
      r.device = shared.Mmio(r.gpa);
      continue;
    }
    auto it = gpa_agreed.find(r.gpa);
    r.device = it != gpa_agreed.end() && it->second ? *it->second : qemu::Attribution{};
  }

  // One row per device register (and per process when each has its own map); a BAR without
  // register names is split by offset, a fixed port or region is one row per name whatever
  // the offset.
  using Key = std::tuple<uint32_t, std::string, std::string, int, std::string, uint64_t>;
  std::map<Key, ReportModel::DeviceRow> rows;
  std::map<std::tuple<uint32_t, bool, uint64_t>, uint64_t> missing_rows;
  auto add = [&](uint32_t pid, const qemu::Attribution& a, bool io, uint64_t address, uint64_t count) {
    if (!a.attributed()) {
      missing_rows[{pid, io, address}] += count;
      return;
    }
    uint64_t offset = a.reg.empty() && a.bar >= 0 ? a.offset : 0;
    auto& row = rows[Key{pid, a.device, a.pci + "/" + a.id, a.bar, a.reg.empty() ? a.region : a.reg, offset}];
    if (!row.device.attributed()) {
      row.device = a;
      row.pid = pid;
    }
    (io ? row.pio : row.mmio) += count;
  };
  // An MMIO read is counted once: "unsatisfied-read" is its exit half.
  if (!per_process) {
    for (const auto& r : m.pio.empty() ? m.pio_from_exits : m.pio) add(0, r.device, true, r.port, r.count);
    for (const auto& r : m.mmio) {
      if (r.type != "unsatisfied-read") add(0, r.device, false, r.gpa, r.count);
    }
  } else {
    if (!m.pio_by_thread.empty()) {
      for (const auto& r : m.pio_by_thread) add(r.pid, r.access.device, true, r.access.port, r.access.count);
    } else {
      // Only kvm_exit's IO qualifications: no process per access.
      for (const auto& r : m.pio_from_exits) add(0, r.device, true, r.port, r.count);
    }
    for (const auto& r : m.mmio_by_pid) {
      if (r.access.type != "unsatisfied-read") add(r.pid, r.access.device, false, r.access.gpa, r.access.count);
    }
  }
  m.by_device.clear();
  for (auto& [key, row] : rows) m.by_device.push_back(row);
  std::stable_sort(m.by_device.begin(), m.by_device.end(),
                   [](const auto& a, const auto& b) { return a.count() > b.count(); });
  for (auto& page : m.mmio_pages) {
    if (!page.name.empty()) continue;
    qemu::Attribution a;
    if (!per_process) a = shared.Mmio(page.page);
    if (a.bar >= 0) page.name = a.device + (a.id.empty() ? "" : " " + a.id) + " " + a.pci + " BAR" + std::to_string(a.bar);
    else if (a.attributed()) page.name = a.device;
  }
  m.unattributed.clear();
  for (const auto& [key, count] : missing_rows) {
    const auto& [pid, io, address] = key;
    m.unattributed.push_back({pid, io, address, count, attributor_of(pid).Why(io)});
  }
  std::stable_sort(m.unattributed.begin(), m.unattributed.end(),
                   [](const auto& a, const auto& b) { return a.count > b.count; });
}

}  // namespace exitprof::analysis
