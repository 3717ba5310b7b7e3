// Attribution of ports and guest-physical addresses to devices, BARs and registers.
#include <fmt/format.h>

#include "qemu/device_map.h"

namespace exitprof::qemu {

namespace {

const Region* RegionAt(const std::vector<Region>& regions, uint64_t address) {
  for (const auto& r : regions) {
    if (address >= r.first && address <= r.last) return &r;
  }
  return nullptr;
}

std::string WithOffset(const char* name, uint64_t offset) {
  return offset ? fmt::format("{} +{:#x}", name, offset) : std::string(name);
}

}  // namespace

std::string VirtioTypeName(uint16_t vendor, uint16_t device) {
  if (vendor != 0x1af4) return {};
  // Transitional ids 0x1000.. and modern ids 0x1040 + the virtio device id (virtio 1.x, 4.1.2).
  static const struct {
    uint16_t transitional, virtio_id;
    const char* name;
  } kTypes[] = {
      {0x1000, 1, "virtio-net-pci"},      {0x1001, 2, "virtio-blk-pci"},   {0x1003, 3, "virtio-serial-pci"},
      {0x1005, 4, "virtio-rng-pci"},      {0x1002, 5, "virtio-balloon-pci"}, {0x1004, 8, "virtio-scsi-pci"},
      {0x1009, 9, "virtio-9p-pci"},       {0, 16, "virtio-gpu-pci"},       {0, 18, "virtio-input-pci"},
      {0x1012, 19, "vhost-vsock-pci"},    {0, 20, "virtio-crypto-pci"},    {0, 23, "virtio-iommu-pci"},
      {0, 24, "virtio-mem-pci"},          {0, 26, "vhost-user-fs-pci"},    {0, 27, "virtio-pmem-pci"},
  };
  for (const auto& t : kTypes) {
    if ((t.transitional && device == t.transitional) || device == 0x1040 + t.virtio_id) return t.name;
  }
  return {};
}

// The legacy (virtio 0.9.5) header in BAR0, as QEMU's virtio-pci lays it out.
std::string VirtioLegacyRegister(uint64_t offset) {
  switch (offset) {
    case 0x00: case 0x01: case 0x02: case 0x03: return WithOffset("device features", offset - 0x00);
    case 0x04: case 0x05: case 0x06: case 0x07: return WithOffset("driver features", offset - 0x04);
    case 0x08: case 0x09: case 0x0a: case 0x0b: return WithOffset("queue address", offset - 0x08);
    case 0x0c: case 0x0d: return WithOffset("queue size", offset - 0x0c);
    case 0x0e: case 0x0f: return WithOffset("queue select", offset - 0x0e);
    case 0x10: case 0x11: return WithOffset("queue notify", offset - 0x10);
    case 0x12: return "device status";
    case 0x13: return "ISR status";
    // With MSI-X on, two vector registers come next; with it off, device config starts at 0x14.
    case 0x14: case 0x15: return WithOffset("MSI-X config vector (or device config)", offset - 0x14);
    case 0x16: case 0x17: return WithOffset("MSI-X queue vector (or device config)", offset - 0x16);
    default: return fmt::format("device config +{:#x}", offset - 0x18);
  }
}

std::string VirtioModernRegister(const std::string& region, uint64_t offset, uint64_t region_size) {
  if (region.rfind("virtio-pci-common", 0) == 0) {
    // struct virtio_pci_common_cfg (virtio 1.x, 4.1.4.3).
    static const struct {
      uint64_t first, size;
      const char* name;
    } kCommon[] = {
        {0x00, 4, "device_feature_select"}, {0x04, 4, "device_feature"}, {0x08, 4, "driver_feature_select"},
        {0x0c, 4, "driver_feature"},        {0x10, 2, "config_msix_vector"}, {0x12, 2, "num_queues"},
        {0x14, 1, "device_status"},         {0x15, 1, "config_generation"}, {0x16, 2, "queue_select"},
        {0x18, 2, "queue_size"},            {0x1a, 2, "queue_msix_vector"}, {0x1c, 2, "queue_enable"},
        {0x1e, 2, "queue_notify_off"},      {0x20, 8, "queue_desc"},      {0x28, 8, "queue_driver"},
        {0x30, 8, "queue_device"},
    };
    for (const auto& c : kCommon) {
      if (offset >= c.first && offset < c.first + c.size) return "common " + WithOffset(c.name, offset - c.first);
    }
    return fmt::format("common +{:#x}", offset);
  }
  if (region.rfind("virtio-pci-notify", 0) == 0) {
    // QEMU sizes the notify region as multiplier x 1024 queues (4 unless page-per-vq).
    uint64_t multiplier = region_size >= 1024 ? region_size / 1024 : 4;
    return fmt::format("queue notify (queue {})", offset / multiplier);
  }
  if (region.rfind("virtio-pci-isr", 0) == 0) return "ISR status";
  if (region.rfind("virtio-pci-device", 0) == 0) return fmt::format("device config +{:#x}", offset);
  return {};
}

std::string Attribution::Label() const {
  if (!attributed()) return {};
  std::string out = device;
  if (!id.empty()) out += " " + id;
  if (!pci.empty()) out += " " + pci;
  if (bar >= 0) out += fmt::format(" BAR{}+{:#x}", bar, offset);
  else if (!region.empty() && region != device) out += " (" + region + (offset ? fmt::format("+{:#x}", offset) : "") + ")";
  else if (offset) out += fmt::format("+{:#x}", offset);
  if (!reg.empty()) out += " " + reg;
  return out;
}

Attribution Attribute(const DeviceMap& map, uint64_t address, bool is_io) {
  Attribution a;
  const Region* region = RegionAt(is_io ? map.io : map.memory, address);
  for (const auto& dev : map.pci) {
    for (const auto& bar : dev.bars) {
      if (bar.io != is_io || !bar.mapped() || address < bar.address || address - bar.address >= bar.size) continue;
      a.device = dev.type;
      a.id = dev.qdev_id;
      a.pci = dev.Address();
      a.bar = bar.index;
      a.offset = address - bar.address;
      if (region) a.region = region->name;
      if (dev.IsVirtio() && is_io && bar.index == 0 && dev.device < 0x1040) {
        a.reg = VirtioLegacyRegister(a.offset);
      } else if (region && region->name.rfind("virtio-pci-", 0) == 0) {
        a.reg = VirtioModernRegister(region->name, address - region->first, region->last - region->first + 1);
      } else if (region && region->name == "msix-table") {
        a.reg = fmt::format("MSI-X table entry {}", (address - region->first) / 16);
      } else if (region && region->name == "msix-pba") {
        a.reg = "MSI-X PBA";
      }
      return a;
    }
  }
  if (region) {
    a.device = region->name;
    a.region = region->name;
    a.offset = address - region->first;
  }
  return a;
}

Attribution DeviceMapHistory::Attribute(uint64_t address, bool is_io) const {
  for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
    Attribution a = qemu::Attribute(*it, address, is_io);
    if (a.attributed()) return a;
  }
  return {};
}

}  // namespace exitprof::qemu
