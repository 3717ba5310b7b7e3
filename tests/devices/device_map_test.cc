// The device map's parsers and attribution, on query-pci and `info mtree -f` answers captured
// from Debian's QEMU 7.2 running tests/devices/guest.S (tests/data/devices/: "-unprogrammed"
// before the guest wrote the BARs, the others after), and on hostile input.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "analysis/device_attribution.h"
#include "test_support.h"
#include "qemu/device_map.h"

namespace exitprof::testing {
namespace {

using nlohmann::json;

std::string ReadText(const std::string& name) {
  std::ifstream in(SourceDir() + "/tests/data/devices/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

qemu::DeviceMap Captured(const std::string& suffix = "") {
  qemu::DeviceMap map;
  auto pci = qemu::ParsePciDevices(json::parse(ReadText("query-pci" + suffix + ".json")));
  EXPECT_TRUE(pci) << pci.error().message;
  auto views = qemu::ParseMtreeFlat(ReadText("mtree-f" + suffix + ".txt"));
  EXPECT_TRUE(views) << views.error().message;
  if (pci) map.pci = *pci;
  if (views) {
    map.io = views->io;
    map.memory = views->memory;
  }
  return map;
}

TEST(ParsePciDevices, ReadsQemusAnswer) {
  qemu::DeviceMap map = Captured();
  ASSERT_EQ(map.pci.size(), 6u);
  const auto& blk = map.pci[4];
  EXPECT_EQ(blk.Address(), "00:02.0");
  EXPECT_EQ(blk.vendor, 0x1af4);
  EXPECT_EQ(blk.device, 0x1001);
  EXPECT_EQ(blk.type, "virtio-blk-pci");
  EXPECT_EQ(blk.qdev_id, "blk0");
  ASSERT_EQ(blk.bars.size(), 3u);
  EXPECT_EQ(blk.bars[0], (qemu::PciBar{0, true, 0xc000, 0x80, false, false}));
  EXPECT_EQ(blk.bars[1], (qemu::PciBar{1, false, 0xe0000000, 0x1000, false, false}));
  EXPECT_EQ(blk.bars[2], (qemu::PciBar{4, false, 0xe0004000, 0x4000, true, true}));
  EXPECT_EQ(map.pci[5].type, "virtio-rng-pci");
  EXPECT_EQ(map.pci[5].bars[0].address, 0xc100u);
  EXPECT_EQ(map.pci[0].type, "8086:1237 Host bridge");
  // Before the guest programs them, QEMU reports -1: not mapped.
  qemu::DeviceMap before = Captured("-unprogrammed");
  ASSERT_EQ(before.pci.size(), 6u);
  for (const auto& bar : before.pci[4].bars) EXPECT_FALSE(bar.mapped());
}

TEST(ParseMtreeFlat, ReadsTheIoAndMemoryViews) {
  qemu::DeviceMap map = Captured();
  // Unclaimed IO space (the root "io" itself) is left out; the bus-master views have no ranges.
  EXPECT_EQ(map.io.size(), 46u);
  EXPECT_EQ(map.memory.size(), 17u);
  EXPECT_EQ(map.io.front(), (qemu::Region{0x0, 0x7, "dma-chan", "i/o"}));
  EXPECT_EQ(map.memory.front(), (qemu::Region{0x0, 0x7ffffff, "pc.ram", "ram"}));  // "pc.ram KVM"
  auto find = [](const std::vector<qemu::Region>& v, const std::string& name) {
    for (const auto& r : v)
      if (r.name == name) return r;
    return qemu::Region{};
  };
  EXPECT_EQ(find(map.memory, "hpet"), (qemu::Region{0xfed00000, 0xfed003ff, "hpet", "i/o"}));
  EXPECT_EQ(find(map.memory, "kvm-ioapic"), (qemu::Region{0xfec00000, 0xfec00fff, "kvm-ioapic", "i/o"}));
  EXPECT_EQ(find(map.memory, "kvm-apic-msi"), (qemu::Region{0xfee00000, 0xfeefffff, "kvm-apic-msi", "i/o"}));
  EXPECT_EQ(find(map.memory, "virtio-pci-notify-virtio-rng"),
            (qemu::Region{0xe0017000, 0xe0017fff, "virtio-pci-notify-virtio-rng", "i/o"}));
  EXPECT_EQ(find(map.io, "rtc"), (qemu::Region{0x71, 0x71, "rtc", "i/o"}));  // "rtc @0000000000000001"
  qemu::DeviceMap before = Captured("-unprogrammed");
  EXPECT_EQ(before.io.size(), 43u);
  EXPECT_EQ(before.memory.size(), 5u);
}

TEST(Attribute, VirtioLegacyAndModernRegisters) {
  qemu::DeviceMap map = Captured();
  auto a = qemu::Attribute(map, 0xc010, true);
  EXPECT_EQ(a.device, "virtio-blk-pci");
  EXPECT_EQ(a.id, "blk0");
  EXPECT_EQ(a.pci, "00:02.0");
  EXPECT_EQ(a.bar, 0);
  EXPECT_EQ(a.offset, 0x10u);
  EXPECT_EQ(a.reg, "queue notify");
  EXPECT_EQ(a.region, "virtio-pci");
  EXPECT_EQ(a.Label(), "virtio-blk-pci blk0 00:02.0 BAR0+0x10 queue notify");
  EXPECT_EQ(qemu::Attribute(map, 0xc112, true).reg, "device status");
  EXPECT_EQ(qemu::Attribute(map, 0xc113, true).reg, "ISR status");
  EXPECT_EQ(qemu::Attribute(map, 0xc011, true).reg, "queue notify +0x1");
  EXPECT_EQ(qemu::Attribute(map, 0xc01c, true).reg, "device config +0x4");
  auto n = qemu::Attribute(map, 0xe0017008, false);
  EXPECT_EQ(n.Label(), "virtio-rng-pci rng0 00:03.0 BAR4+0x3008 queue notify (queue 2)");
  EXPECT_EQ(qemu::Attribute(map, 0xe0004014, false).reg, "common device_status");
  EXPECT_EQ(qemu::Attribute(map, 0xe0004020, false).reg, "common queue_desc");
  EXPECT_EQ(qemu::Attribute(map, 0xe0005000, false).reg, "ISR status");
  EXPECT_EQ(qemu::Attribute(map, 0xe0006008, false).reg, "device config +0x8");
  EXPECT_EQ(qemu::Attribute(map, 0xe0000010, false).reg, "MSI-X table entry 1");
  EXPECT_EQ(qemu::Attribute(map, 0xe0000800, false).reg, "MSI-X PBA");
  // Inside a BAR but in no region: device and BAR still known.
  auto gap = qemu::Attribute(map, 0xe0000400, false);
  EXPECT_EQ(gap.Label(), "virtio-blk-pci blk0 00:02.0 BAR1+0x400");
  // Past the last byte of the IO BAR (0xc07f) and of the HPET (0xfed003ff): nothing.
  EXPECT_FALSE(qemu::Attribute(map, 0xc080, true).attributed());
  EXPECT_FALSE(qemu::Attribute(map, 0xfed00400, false).attributed());
  EXPECT_EQ(qemu::Attribute(map, 0xfed003ff, false).device, "hpet");
  EXPECT_EQ(qemu::Attribute(map, 0xfec00010, false).Label(), "kvm-ioapic+0x10");
}

TEST(Attribute, HistoryPrefersTheNewestMapThatPlacesTheAddress) {
  qemu::DeviceMapHistory h;
  EXPECT_TRUE(h.Add(Captured("-unprogrammed")));
  EXPECT_FALSE(h.Add(Captured("-unprogrammed")));  // same layout: not kept twice
  EXPECT_FALSE(h.Attribute(0xc010, true).attributed());
  EXPECT_TRUE(h.Add(Captured()));
  EXPECT_EQ(h.Attribute(0xc010, true).device, "virtio-blk-pci");
  EXPECT_EQ(h.Attribute(0x70, true).device, "rtc-index");
  // What only an older map placed (a device since gone) is still named.
  qemu::DeviceMapHistory moved;
  qemu::DeviceMap old = Captured();
  old.io.push_back({0xd000, 0xd0ff, "gone-device", "i/o"});
  moved.Add(old);
  moved.Add(Captured());
  EXPECT_EQ(moved.Attribute(0xd010, true).device, "gone-device");
  EXPECT_EQ(moved.Attribute(0xd010, true).offset, 0x10u);
}

TEST(DeviceMapJson, RoundTrips) {
  qemu::DeviceMapHistory h;
  h.pid = 1234;
  h.qmp_path = "/tmp/vm.sock";
  h.vm_name = "web1";
  h.Add(Captured("-unprogrammed"));
  h.Add(Captured());
  auto back = qemu::DeviceMapHistoryFromJson(json::parse(qemu::ToJson(h).dump()));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->pid, 1234);
  EXPECT_EQ(back->qmp_path, "/tmp/vm.sock");
  EXPECT_EQ(back->vm_name, "web1");
  ASSERT_EQ(back->snapshots.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_TRUE(back->snapshots[i].SameLayout(h.snapshots[i])) << i;
}

TEST(DeviceMapParsers, RefuseBadInputWithOneLine) {
  auto mtree = qemu::ParseMtreeFlat("FlatView #0\n AS \"I/O\", root: io\n Root memory region: io\n  00000000000000zz-0000000000000007 (prio 0, i/o): x\n");
  ASSERT_FALSE(mtree);
  EXPECT_EQ(mtree.error().message, "info mtree -f: line 4: expected FIRST-LAST as two 16-digit hex numbers");
  auto backwards = qemu::ParseMtreeFlat("FlatView #0\n AS \"I/O\", root: io\n  0000000000000010-0000000000000007 (prio 0, i/o): x\n");
  ASSERT_FALSE(backwards);
  EXPECT_EQ(backwards.error().message, "info mtree -f: line 3: the range ends before it starts");
  auto tree = qemu::ParseMtreeFlat("address-space: memory\n  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n");
  ASSERT_FALSE(tree);
  EXPECT_NE(tree.error().message.find("expected \"FlatView #N\""), std::string::npos);
  auto pci = qemu::ParsePciDevices(json::parse(R"([{"bus":0,"devices":[{"bus":0,"slot":2,"function":0,"id":{"vendor":6900}}]}])"));
  ASSERT_FALSE(pci);
  EXPECT_EQ(pci.error().message, "query-pci: device 00:02.0: expected integer \"device\"");
  auto bar = qemu::ParsePciDevices(json::parse(
      R"([{"bus":0,"devices":[{"bus":0,"slot":2,"function":0,"id":{"vendor":1,"device":2},"regions":[{"bar":9,"type":"io","address":0,"size":1}]}]}])"));
  ASSERT_FALSE(bar);
  EXPECT_EQ(bar.error().message, "query-pci: device 00:02.0: \"bar\" 9 is not 0..6");
  auto file = qemu::DeviceMapHistoryFromJson(json::parse(R"({"exitprof_device_map":1,"snapshots":[{"query_pci":[],"io":[{"first":"0x10","last":"0x1"}]}]})"));
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().message, "snapshots[0].io[0]: \"last\" is below \"first\"");
  auto missing = qemu::LoadDeviceMapFile(TempPath("no-such.devices.json"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos);
}

// The report side: rows get devices, fixed names stay for ISA ports, and without a map the
// report lists what it could not attribute, and why.
TEST(AttributeDevices, RowsTablesAndWhatIsLeft) {
  analysis::ReportModel m;
  m.pio = {{0xc010, true, 2, 1000, "", {}}, {0xc110, true, 2, 700, "", {}}, {0xcf8, true, 4, 108, "PCI config address", {}},
           {0xf4, true, 1, 1, "isa-debug-exit", {}}, {0xd000, true, 1, 3, "", {}}};
  m.mmio = {{0xe0007000, "write", 2, 500, "", {}}, {0xfed00000, "read", 4, 200, "HPET", {}},
            {0xfed00000, "unsatisfied-read", 4, 200, "HPET", {}}, {0xfee000b0, "write", 4, 9, "LAPIC EOI", {}}};
  m.pio_from_exits = {{0xc110, true, 2, 7, "", {}}};  // from kvm_exit IO qualifications (VMX, SVM)
  qemu::DeviceMapHistory h;
  h.Add(Captured());
  analysis::AttributeDevices(m, &h, "test.devices.json", "");
  EXPECT_EQ(m.pio_from_exits[0].device.Label(), "virtio-rng-pci rng0 00:03.0 BAR0+0x10 queue notify");
  EXPECT_EQ(m.pio[0].device.Label(), "virtio-blk-pci blk0 00:02.0 BAR0+0x10 queue notify");
  EXPECT_EQ(m.pio[2].device.device, "PCI config address");  // the fixed name, with QEMU's region
  EXPECT_EQ(m.pio[2].device.region, "pci-conf-idx");
  EXPECT_EQ(m.pio[3].device.device, "isa-debug-exit");
  EXPECT_EQ(m.mmio[1].device.device, "hpet");
  EXPECT_EQ(m.mmio[3].device.device, "LAPIC");
  EXPECT_EQ(m.mmio[3].device.region, "kvm-apic-msi");
  EXPECT_EQ(m.mmio[3].device.reg, "LAPIC EOI");
  ASSERT_GE(m.by_device.size(), 5u);
  EXPECT_EQ(m.by_device[0].device.device, "virtio-blk-pci");
  EXPECT_EQ(m.by_device[0].pio, 1000u);
  EXPECT_EQ(m.by_device[1].device.device, "virtio-rng-pci");
  EXPECT_EQ(m.by_device[2].mmio, 500u);
  EXPECT_EQ(m.by_device[3].device.device, "hpet");
  EXPECT_EQ(m.by_device[3].mmio, 200u);  // a read counted once, not with its unsatisfied half
  ASSERT_EQ(m.unattributed.size(), 1u);  // 0xd000: nothing there
  EXPECT_EQ(m.unattributed[0].address, 0xd000u);
  EXPECT_EQ(m.unattributed[0].why, "no device or region in the device map covers this port");
  EXPECT_EQ(m.device_map_warning, "");

  // A map of one VM, a recording of two: attributed all the same, with a warning.
  h.pid = 100;
  h.vm_name = "web1";
  m.userspace_exits_by_thread = {{100, 101, -1, "CPU 0/KVM", 5, 50}, {200, 201, -1, "CPU 0/KVM", 5, 50}};
  analysis::AttributeDevices(m, &h, "test.devices.json", "");
  EXPECT_EQ(m.device_map_warning,
            "the device map is of PID 100 (web1), but processes 200 exited too: their ports and addresses were "
            "attributed with it as well (use -p PID)");

  analysis::AttributeDevices(m, nullptr, "", "no device map: test");
  EXPECT_FALSE(m.pio[0].device.attributed());
  EXPECT_EQ(m.pio[2].device.device, "PCI config address");
  EXPECT_EQ(m.mmio[1].device.device, "HPET");
  EXPECT_EQ(m.mmio[3].device.device, "LAPIC");
  ASSERT_EQ(m.unattributed.size(), 4u);
  EXPECT_EQ(m.unattributed[0].address, 0xc010u);
  EXPECT_EQ(m.unattributed[0].count, 1000u);
  EXPECT_EQ(m.unattributed[0].why, "no device map: test");
  EXPECT_EQ(m.device_map_missing, "no device map: test");
}

// record -a keeps one map per VM: each process's accesses go through its own map. Here the two
// VMs have their virtio-blk and virtio-rng I/O BARs swapped, so port 0xc010 is a different device
// in each; a third process has no map and gets fixed names only.
TEST(AttributeDevices, EachVmThroughItsOwnMap) {
  analysis::ReportModel m;
  m.by_vm = {{100, "qemu-system-x86", "", 10, 50, 1}, {200, "qemu-system-x86", "", 10, 50, 1}};
  m.pio = {{0xc010, true, 2, 1700, "", {}}};
  m.pio_by_thread = {{100, 101, "CPU 0/KVM", {0xc010, true, 2, 1000, "", {}}},
                     {200, 201, "CPU 0/KVM", {0xc010, true, 2, 700, "", {}}},
                     {300, 301, "CPU 0/KVM", {0xc010, true, 2, 5, "", {}}}};
  m.mmio = {{0xfed00000, "read", 4, 30, "HPET", {}}};
  m.mmio_by_pid = {{100, {0xfed00000, "read", 4, 10, "HPET", {}}}, {200, {0xfed00000, "read", 4, 20, "HPET", {}}}};
  std::vector<qemu::DeviceMapHistory> maps(2);
  maps[0].pid = 100;
  maps[0].vm_name = "web1";
  maps[0].Add(Captured());
  qemu::DeviceMap swapped = Captured();
  std::swap(swapped.pci[4].bars[0].address, swapped.pci[5].bars[0].address);
  maps[1].pid = 200;
  maps[1].vm_name = "web2";
  maps[1].Add(swapped);
  analysis::AttributeDevices(m, maps, "two.devices.json", "");
  EXPECT_EQ(m.by_vm[0].name, "web1");
  EXPECT_EQ(m.by_vm[1].name, "web2");
  EXPECT_EQ(m.pio_by_thread[0].access.device.Label(), "virtio-blk-pci blk0 00:02.0 BAR0+0x10 queue notify");
  EXPECT_EQ(m.pio_by_thread[1].access.device.Label(), "virtio-rng-pci rng0 00:03.0 BAR0+0x10 queue notify");
  EXPECT_FALSE(m.pio_by_thread[2].access.device.attributed());
  EXPECT_FALSE(m.pio[0].device.attributed()) << "the VMs disagree on what port 0xc010 is";
  EXPECT_EQ(m.mmio[0].device.device, "hpet") << "both VMs agree";
  ASSERT_EQ(m.by_device.size(), 4u);
  EXPECT_EQ(m.by_device[0].pid, 100u);
  EXPECT_EQ(m.by_device[0].device.device, "virtio-blk-pci");
  EXPECT_EQ(m.by_device[0].pio, 1000u);
  EXPECT_EQ(m.by_device[1].pid, 200u);
  EXPECT_EQ(m.by_device[1].device.device, "virtio-rng-pci");
  EXPECT_EQ(m.by_device[1].pio, 700u);
  EXPECT_EQ(m.by_device[2].pid, 200u);
  EXPECT_EQ(m.by_device[2].mmio, 20u);
  EXPECT_EQ(m.by_device[3].pid, 100u);
  EXPECT_EQ(m.by_device[3].mmio, 10u);
  ASSERT_EQ(m.unattributed.size(), 1u);
  EXPECT_EQ(m.unattributed[0].pid, 300u);
  EXPECT_EQ(m.unattributed[0].why, "no device map for PID 300");
  EXPECT_EQ(m.device_map_warning,
            "no device map for processes 300 (record found no QMP socket for them): their ports and addresses have "
            "fixed names only");

  // The side file keeps both (version 2) and reads back the same.
  const std::string path = TempPath("two.devices.json");
  ASSERT_TRUE(qemu::SaveDeviceMapFile(path, maps));
  auto back = qemu::LoadDeviceMapsFile(path);
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[1].pid, 200);
  EXPECT_EQ((*back)[1].vm_name, "web2");
  EXPECT_TRUE((*back)[1].snapshots[0].SameLayout(swapped));
  auto one = qemu::LoadDeviceMapFile(path);
  ASSERT_FALSE(one);
  EXPECT_EQ(one.error().message, "device map " + path + ": holds 2 VMs' maps, expected one");
  auto bad = qemu::DeviceMapsFromJson(json::parse(R"({"exitprof_device_map":2,"vms":[{"snapshots":{}}]})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "vms[0]: expected a \"snapshots\" array");
}

}  // namespace
}  // namespace exitprof::testing
