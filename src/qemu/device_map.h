// A QEMU guest's device map: its PCI devices with their BARs (QMP query-pci) and the flat IO
// and memory region lists (HMP `info mtree -f`), kept as the history of the maps seen while a
// recording ran. Attribute() maps a port or guest-physical address to device, BAR, offset and,
// for virtio devices, the register (legacy header or modern capability regions).
//
// Parsers take untrusted text: they never crash, and fail with one line naming what was
// expected where (they are fuzzed: fuzz/device_map_fuzzer.cc).
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace exitprof::qemu {

class QmpClient;

struct PciBar {
  int index = 0;
  bool io = false;
  uint64_t address = ~0ULL;  // ~0: not programmed (QEMU reports -1)
  uint64_t size = 0;
  bool prefetch = false, mem64 = false;
  bool mapped() const { return address != ~0ULL && size != 0; }
  bool operator==(const PciBar&) const = default;
};

struct PciDevice {
  int bus = 0, slot = 0, function = 0;
  uint16_t vendor = 0, device = 0;
  uint32_t class_code = 0;
  std::string class_desc;  // "SCSI controller" ("" when QEMU has none)
  std::string qdev_id;     // -device ...,id=ID ("" when not given)
  std::string type;        // "virtio-blk-pci" (from the ids), or "8086:7010 IDE controller"
  std::vector<PciBar> bars;
  std::string Address() const;  // "00:02.0"
  bool IsVirtio() const { return vendor == 0x1af4 && device >= 0x1000 && device <= 0x107f; }
  bool operator==(const PciDevice&) const = default;
};

// One entry of a flat view: [first, last] named as QEMU names the MemoryRegion.
struct Region {
  uint64_t first = 0, last = 0;
  std::string name;  // "kvm-ioapic", "virtio-pci-notify-virtio-blk", "pc.ram"
  std::string kind;  // "i/o", "ram", "rom", ...
  bool operator==(const Region&) const = default;
};

struct DeviceMap {
  uint64_t taken_unix_ns = 0;  // when it was read (wall clock)
  std::vector<PciDevice> pci;
  std::vector<Region> io, memory;
  // The same devices, BARs and regions (the time does not count).
  bool SameLayout(const DeviceMap& o) const { return pci == o.pci && io == o.io && memory == o.memory; }
};

// What a port or address belongs to.
struct Attribution {
  std::string device;  // "virtio-blk-pci", "hpet", "COM1 (serial)"
  std::string id;      // qdev id ("blk0"), "" when none
  std::string pci;     // "00:02.0", "" when not a PCI BAR
  int bar = -1;        // -1: not a PCI BAR
  uint64_t offset = 0;  // from the BAR's (or else the region's) start
  std::string region;   // the info mtree region ("virtio-pci-notify-virtio-blk"), "" when none
  std::string reg;      // "queue notify", "queue notify (queue 0)", "ISR status", ""
  bool attributed() const { return !device.empty(); }
  std::string Label() const;  // "virtio-blk-pci blk0 00:02.0 BAR0+0x10 queue notify"
};

// The maps seen during one recording of one VM, oldest first (a new one only when the layout
// changed, e.g. after the guest programmed its BARs).
struct DeviceMapHistory {
  pid_t pid = 0;
  std::string qmp_path, vm_name;
  std::vector<DeviceMap> snapshots;

  // The newest map that places the address wins: BARs the guest moved keep their latest home,
  // and what only an older map knew (a device since unplugged) is still named.
  Attribution Attribute(uint64_t address, bool is_io) const;
  // Adds the map unless it has the layout of the newest one. True when added.
  bool Add(DeviceMap map);
};

// `query-pci`'s return value (buses, their devices and the devices behind bridges).
Result<std::vector<PciDevice>> ParsePciDevices(const nlohmann::json& query_pci);
// `info mtree -f` text: the flat views of the "I/O" and "memory" address spaces.
struct FlatViews {
  std::vector<Region> io, memory;
};
Result<FlatViews> ParseMtreeFlat(const std::string& text);

// Reads both from a connected QEMU.
Result<DeviceMap> SnapshotDeviceMap(QmpClient& qmp);
// Connects, snapshots and lets go of the socket.
Result<DeviceMap> SnapshotDeviceMap(const std::string& qmp_path, int timeout_ms = 2000);

Attribution Attribute(const DeviceMap& map, uint64_t address, bool is_io);

// The side file a recording keeps: FILE.devices.json. One VM's map is version 1; a recording of
// several VMs (record -a) keeps one map per VMM process as version 2, {"vms": [...]}.
nlohmann::json ToJson(const DeviceMapHistory& history);
nlohmann::json ToJson(const std::vector<DeviceMapHistory>& maps);  // version 1 when there is one
Result<DeviceMapHistory> DeviceMapHistoryFromJson(const nlohmann::json& j);  // version 1 only
Result<std::vector<DeviceMapHistory>> DeviceMapsFromJson(const nlohmann::json& j);  // either version
Result<DeviceMapHistory> LoadDeviceMapFile(const std::string& path);  // exactly one VM's
Result<std::vector<DeviceMapHistory>> LoadDeviceMapsFile(const std::string& path);
Result<void> SaveDeviceMapFile(const std::string& path, const DeviceMapHistory& history);
Result<void> SaveDeviceMapFile(const std::string& path, const std::vector<DeviceMapHistory>& maps);
std::string DeviceMapPathFor(const std::string& recording);  // "vm.data" -> "vm.data.devices.json"

// Register names inside a virtio device: the legacy I/O header, and the modern capability
// regions by their info mtree names.
std::string VirtioLegacyRegister(uint64_t offset);
// region_size tells the notify offset multiplier: QEMU sizes the notify region for 1024 queues.
std::string VirtioModernRegister(const std::string& region, uint64_t offset_in_region, uint64_t region_size);
// "virtio-blk-pci" for 1af4:1001 or 1af4:1042; "" when not a known virtio id.
std::string VirtioTypeName(uint16_t vendor, uint16_t device);

}  // namespace exitprof::qemu
