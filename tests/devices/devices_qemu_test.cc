// Device attribution end to end: Debian's QEMU runs guest.S with a virtio-blk-pci and a
// virtio-rng-pci; the guest programs their BARs itself and notifies their queues a known number
// of times through the legacy I/O header and the modern notify region. `exitprof record` keeps
// the device map it reads over QMP while the guest runs, and `exitprof report` must attribute
// exactly those notifies to each device's queue-notify register, with BAR and offset.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "nested_rerun.h"
#include "test_support.h"
#include "qemu/device_map.h"
#include "qemu/qmp.h"

namespace exitprof::testing {
namespace {

using nlohmann::json;

constexpr const char* kQboot = "/usr/share/qemu/qboot.rom";
constexpr const char* kQemu = "qemu-system-x86_64";

class DevicesQemu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = QemuGuestSkipReason(); !why.empty()) EXITPROF_LIVE_SKIP(why);
    ASSERT_TRUE(FileExists(DEVICES_GUEST_ELF)) << DEVICES_GUEST_ELF << " was not built";
  }

  // The guest ends QEMU itself through isa-debug-exit (status 1). The block device needs a
  // backend: null-co reads zeros and takes nothing on disk.
  static std::string Qemu(const std::string& qmp_socket, const std::string& name = "devices-test") {
    return std::string(kQemu) + " -name guest=" + name + ",debug-threads=on -enable-kvm -cpu qemu64,pni=off -nodefaults" +
           " -display none -no-reboot -bios " + kQboot + " -kernel " DEVICES_GUEST_ELF +
           " -device isa-debug-exit,iobase=0xf4,iosize=0x04" +
           " -blockdev driver=null-co,node-name=null0 -device virtio-blk-pci,drive=null0,id=blk0" +
           " -device virtio-rng-pci,id=rng0 -qmp unix:" + qmp_socket + ",server=on,wait=off";
  }
};

json Report(const std::string& args) {
  auto r = RunCommand(Exitprof() + " report --format json " + args);
  EXPECT_EQ(r.status, 0) << r.err;
  return json::parse(r.out);
}

// Accesses attributed to this device, BAR, offset and register, over the rows of a table.
uint64_t Attributed(const json& rows, const std::string& device, int bar, const std::string& offset, const std::string& reg) {
  uint64_t n = 0;
  for (const auto& row : rows) {
    const auto& d = row["device"];
    if (d.is_null() || d["name"] != device || d["bar"] != bar || d["offset"] != offset || d["register"] != reg) continue;
    if (row.contains("type") && row["type"] == "unsatisfied-read") continue;
    n += row["count"].get<uint64_t>();
  }
  return n;
}

uint64_t ToRegion(const json& rows, const std::string& device) {
  uint64_t n = 0;
  for (const auto& row : rows) {
    if (row["device"].is_null() || row["device"]["name"] != device || row["type"] == "unsatisfied-read") continue;
    n += row["count"].get<uint64_t>();
  }
  return n;
}

// Where kvm_exit fires (the lab: SVM names): each legacy notify (outw) is one `io` exit at its
// instruction, each modern notify, HPET read and IOAPIC access (movw/movl) one `npf` exit at its
// instruction; every port access, the firmware's too, is one `io` exit. The rest varies from run
// to run (`interrupt`: host interrupts; `npf` of the firmware's first touches of RAM).
void ExpectSvmExits(const json& r) {
  if (r["events"].value("kvm:kvm_exit", uint64_t{0}) == 0) return;  // not recorded (e.g. PVM hosts)
  EXPECT_EQ(r["exits"]["isa"], "SVM");
  std::map<std::string, uint64_t> reasons;
  for (const auto& row : r["exits"]["by_reason"]) reasons[row["reason"]] = row["count"];
  EXPECT_EQ(reasons["io"], r["events"]["kvm:kvm_pio"].get<uint64_t>()) << r["exits"]["by_reason"].dump();
  std::multiset<std::string> want, got;
  // guest.S notifies both devices from one routine: one RIP per kind of notify.
  want.insert("io " + std::to_string(DEVICES_BLK_LEGACY + DEVICES_RNG_LEGACY));
  for (uint64_t n : {uint64_t{DEVICES_BLK_MODERN + DEVICES_RNG_MODERN}, uint64_t{DEVICES_HPET_READS},
                     uint64_t{DEVICES_IOAPIC_READS}, uint64_t{DEVICES_IOAPIC_READS}}) {
    want.insert("npf " + std::to_string(n));
  }
  for (const auto& row : r["exits"]["by_rip"]) {
    const std::string key = row["reason"].get<std::string>() + " " + std::to_string(row["count"].get<uint64_t>());
    if (want.count(key) > got.count(key)) got.insert(key);
  }
  EXPECT_EQ(got, want) << r["exits"]["by_rip"].dump();
}

TEST_F(DevicesQemu, RecordKeepsTheDeviceMapAndReportAttributesEveryNotify) {
  const std::string data = TempPath("devices.data"), sock = TempPath("devices-qmp.sock");
  const std::string side = data + ".devices.json";
  std::remove(side.c_str());
  ::unlink(sock.c_str());
  // -e: only the events this test counts (kvm_exit never fires on PVM hosts, and on others
  // adds nothing here). --duration: should the guest hang, the counts below fail.
  // Where kvm_exit fires (the lab), it is recorded too: see the exits asserted below.
  const bool exits = RunCommand("test -d /sys/kernel/tracing/events/kvm/kvm_exit").status == 0;
  auto rec = RunGuestCommand(Exitprof() + " record -e kvm:kvm_pio -e kvm:kvm_mmio -e kvm:kvm_userspace_exit" +
                             (exits ? " -e kvm:kvm_exit" : "") + " --duration 30 -o " + data + " -- " + Qemu(sock));
  ASSERT_EQ(rec.status, 0) << rec.err;
  ASSERT_NE(rec.err.find("the command exited with status 1\n"), std::string::npos) << rec.err;
  ASSERT_NE(rec.err.find("saved to " + side), std::string::npos) << rec.err;
  ASSERT_TRUE(FileExists(side));

  json r = Report("-i " + data);
  EXPECT_EQ(r["device_map"]["source"], side);
  EXPECT_TRUE(r["device_map"]["warning"].is_null()) << r["device_map"].dump();  // QEMU was the only VMM
  EXPECT_EQ(Attributed(r["pio"], "virtio-blk-pci", 0, "0x10", "queue notify"), uint64_t{DEVICES_BLK_LEGACY}) << r["pio"].dump();
  EXPECT_EQ(Attributed(r["pio"], "virtio-rng-pci", 0, "0x10", "queue notify"), uint64_t{DEVICES_RNG_LEGACY}) << r["pio"].dump();
  EXPECT_EQ(Attributed(r["mmio"], "virtio-blk-pci", 4, "0x3000", "queue notify (queue 0)"), uint64_t{DEVICES_BLK_MODERN})
      << r["mmio"].dump();
  EXPECT_EQ(Attributed(r["mmio"], "virtio-rng-pci", 4, "0x3000", "queue notify (queue 0)"), uint64_t{DEVICES_RNG_MODERN})
      << r["mmio"].dump();
  // Nothing else touches those devices (the firmware leaves them alone).
  EXPECT_EQ(ToRegion(r["pio"], "virtio-blk-pci") + ToRegion(r["mmio"], "virtio-blk-pci"),
            uint64_t{DEVICES_BLK_LEGACY + DEVICES_BLK_MODERN});
  EXPECT_EQ(ToRegion(r["pio"], "virtio-rng-pci") + ToRegion(r["mmio"], "virtio-rng-pci"),
            uint64_t{DEVICES_RNG_LEGACY + DEVICES_RNG_MODERN});
  // Regions info mtree names, exactly; the ISA port keeps its fixed name.
  EXPECT_EQ(ToRegion(r["mmio"], "hpet"), uint64_t{DEVICES_HPET_READS}) << r["mmio"].dump();
  EXPECT_EQ(ToRegion(r["mmio"], "kvm-ioapic"), uint64_t{2 * DEVICES_IOAPIC_READS}) << r["mmio"].dump();
  EXPECT_EQ(ToRegion(r["pio"], "isa-debug-exit"), 1u);
  EXPECT_EQ(r["unattributed"], json::array()) << r["unattributed"].dump();
  ExpectSvmExits(r);

  // --by device: one row per device register, biggest first.
  const auto& by = r["by_device"];
  ASSERT_GE(by.size(), 4u) << by.dump();
  EXPECT_EQ(by[0]["device"]["name"], "virtio-blk-pci");
  EXPECT_EQ(by[0]["device"]["id"], "blk0");
  EXPECT_EQ(by[0]["device"]["register"], "queue notify");
  EXPECT_EQ(by[0]["pio"], DEVICES_BLK_LEGACY);
  EXPECT_EQ(by[1]["device"]["name"], "virtio-rng-pci");
  EXPECT_EQ(by[1]["pio"], DEVICES_RNG_LEGACY);

  auto text = RunCommand(Exitprof() + " report -i " + data + " --by pio,mmio,device");
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find(std::to_string(DEVICES_BLK_LEGACY) +
                          "  0xc010  write     2  virtio-blk-pci blk0 00:02.0 BAR0+0x10 queue notify\n"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("virtio-rng-pci rng0 00:03.0 BAR4+0x3000 queue notify (queue 0)\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("# Exits by device (device map: " + side + ")"), std::string::npos) << text.out;
  auto csv = RunCommand(Exitprof() + " report -i " + data + " --format csv --by device");
  ASSERT_EQ(csv.status, 0) << csv.err;
  EXPECT_NE(csv.out.find("virtio-blk-pci,blk0,00:02.0,0,0x10,queue notify,virtio-pci," + std::to_string(DEVICES_BLK_LEGACY) +
                         ",0," + std::to_string(DEVICES_BLK_LEGACY) + "\n"),
            std::string::npos)
      << csv.out;

  // Without the map: the same exits, listed as not attributed, and why.
  const std::string away = data + ".elsewhere.json";
  ASSERT_EQ(std::rename(side.c_str(), away.c_str()), 0);
  json bare = Report("-i " + data);
  EXPECT_TRUE(bare["device_map"]["source"].is_null());
  EXPECT_NE(bare["device_map"]["missing"].get<std::string>().find("no device map"), std::string::npos);
  std::map<std::string, uint64_t> unattributed;
  for (const auto& u : bare["unattributed"]) unattributed[u["kind"].get<std::string>() + " " + u["address"].get<std::string>()] = u["count"];
  EXPECT_EQ(unattributed["pio 0xc010"], uint64_t{DEVICES_BLK_LEGACY}) << bare["unattributed"].dump();
  EXPECT_EQ(unattributed["pio 0xc110"], uint64_t{DEVICES_RNG_LEGACY});
  EXPECT_EQ(unattributed["mmio 0xe0007000"], uint64_t{DEVICES_BLK_MODERN});
  EXPECT_EQ(unattributed["mmio 0xe0017000"], uint64_t{DEVICES_RNG_MODERN});
  EXPECT_EQ(ToRegion(bare["mmio"], "HPET"), uint64_t{DEVICES_HPET_READS});  // fixed PC names still apply
  auto bare_text = RunCommand(Exitprof() + " report -i " + data + " --by pio");
  EXPECT_NE(bare_text.out.find("# Not attributed to a device: " + std::to_string(DEVICES_BLK_LEGACY + DEVICES_RNG_LEGACY) +
                               " port accesses"),
            std::string::npos)
      << bare_text.out;
  // The map can also be named explicitly.
  json named = Report("-i " + data + " --device-map " + away);
  EXPECT_EQ(Attributed(named["pio"], "virtio-blk-pci", 0, "0x10", "queue notify"), uint64_t{DEVICES_BLK_LEGACY});
  auto broken = RunCommand(Exitprof() + " report -i " + data + " --device-map " + data);
  EXPECT_EQ(broken.status, 2);
  EXPECT_NE(broken.err.find("device map " + data + ": expected JSON"), std::string::npos) << broken.err;
}

// Accesses of one process attributed to this device register, over pio_by_thread or mmio_by_pid.
uint64_t OfPid(const json& rows, uint32_t pid, const std::string& device, const std::string& reg) {
  uint64_t n = 0;
  for (const auto& row : rows) {
    const auto& d = row["device"];
    if (row["pid"] != pid || d.is_null() || d["name"] != device || d["register"] != reg) continue;
    if (row.contains("type") && row["type"] == "unsatisfied-read") continue;
    n += row["count"].get<uint64_t>();
  }
  return n;
}

// record -a finds every QEMU with a QMP socket: VM a is there (paused, -S) when the recording
// starts and runs its guest once the recording does; VM b is started during the recording. Each
// keeps its own map in the side file, and report attributes each VM's notifies with its own.
TEST_F(DevicesQemu, RecordAllKeepsAMapPerVmAlsoOfOneStartedDuringTheRecording) {
  const std::string data = TempPath("devices-all.data"), sock_a = TempPath("devices-a.sock"),
                    sock_b = TempPath("devices-b.sock");
  const std::string side = data + ".devices.json";
  for (const auto& f : {data, side, sock_a, sock_b}) ::unlink(f.c_str());
  auto a = RunCommand(Qemu(sock_a, "devices-a") + " -S >/dev/null 2>&1 & echo $!");
  const uint32_t pid_a = static_cast<uint32_t>(std::stoul(a.out));
  CommandResult rec;
  // Its own stderr file: RunCommand's is shared with the commands this thread runs meanwhile.
  const std::string rec_err = TempPath("devices-all.err");
  std::thread recorder([&] {
    // The lab (a nested QEMU under TCG, on a shared machine) may take many seconds to boot VM b
    // and run its guest: a longer window there, so that both guests end inside it.
    const std::string duration = InLab() ? "20" : "6";
    rec = RunCommand("(" + Exitprof() + " record -a -e kvm:kvm_pio -e kvm:kvm_mmio --duration " + duration + " -o " + data + " 2>" + rec_err + ")");
    std::ifstream in(rec_err);
    rec.err.assign(std::istreambuf_iterator<char>(in), {});
  });
  struct Joiner {
    std::thread& t;
    ~Joiner() {
      if (t.joinable()) t.join();  // also when an assertion below returns early
    }
  } joiner{recorder};
  // The recording runs once its file has a header; then VM a goes and VM b starts.
  for (int i = 0; i < 200 && !FileExists(data); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  {
    // Let go of the socket at once: QMP serves one client, and record's poller needs it.
    auto qmp = qemu::QmpClient::Connect(sock_a, 5000);
    ASSERT_TRUE(qmp) << qmp.error().message;
    ASSERT_TRUE(qmp->Execute("cont"));
  }
  auto b = RunCommand(Qemu(sock_b, "devices-b") + " >/dev/null 2>&1 & echo $!");
  const uint32_t pid_b = static_cast<uint32_t>(std::stoul(b.out));
  recorder.join();
  ASSERT_EQ(rec.status, 0) << rec.err;
  ASSERT_NE(rec.err.find(std::to_string(pid_a) + " (devices-a)"), std::string::npos) << rec.err;
  ASSERT_NE(rec.err.find(std::to_string(pid_b) + " (devices-b)"), std::string::npos) << rec.err;
  ASSERT_NE(rec.err.find("saved to " + side), std::string::npos) << rec.err;
  auto maps = qemu::LoadDeviceMapsFile(side);
  ASSERT_TRUE(maps) << maps.error().message;
  ASSERT_GE(maps->size(), 2u);  // other QEMUs with QMP sockets on this host are kept too

  json r = Report("-i " + data);
  EXPECT_EQ(r["device_map"]["source"], side);
  for (uint32_t pid : {pid_a, pid_b}) {
    EXPECT_EQ(OfPid(r["pio_by_thread"], pid, "virtio-blk-pci", "queue notify"), uint64_t{DEVICES_BLK_LEGACY}) << pid;
    EXPECT_EQ(OfPid(r["pio_by_thread"], pid, "virtio-rng-pci", "queue notify"), uint64_t{DEVICES_RNG_LEGACY}) << pid;
    EXPECT_EQ(OfPid(r["mmio_by_pid"], pid, "virtio-blk-pci", "queue notify (queue 0)"), uint64_t{DEVICES_BLK_MODERN}) << pid;
    EXPECT_EQ(OfPid(r["mmio_by_pid"], pid, "virtio-rng-pci", "queue notify (queue 0)"), uint64_t{DEVICES_RNG_MODERN}) << pid;
    EXPECT_EQ(OfPid(r["mmio_by_pid"], pid, "hpet", ""), uint64_t{DEVICES_HPET_READS}) << pid;
    // by_device: one row per VM and register.
    uint64_t blk = 0;
    for (const auto& row : r["by_device"]) {
      if (row["pid"] == pid && row["device"]["name"] == "virtio-blk-pci" && row["device"]["register"] == "queue notify") blk += row["pio"].get<uint64_t>();
    }
    EXPECT_EQ(blk, uint64_t{DEVICES_BLK_LEGACY}) << pid;
    for (const auto& u : r["unattributed"]) EXPECT_NE(u["pid"], pid) << u.dump();
  }
  auto text = RunCommand(Exitprof() + " report -i " + data + " --by device");
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("     PID       Exits"), std::string::npos) << text.out;
}

TEST_F(DevicesQemu, RecordSaysWhenQmpNeverAnswers) {
  const std::string data = TempPath("devices-noqmp.data"), sock = TempPath("devices-none.sock");
  ::unlink(sock.c_str());
  auto rec = RunCommand(Exitprof() + " record -e kvm:kvm_pio --qmp " + sock + " -o " + data + " -- sleep 0.3");
  ASSERT_EQ(rec.status, 0) << rec.err;
  EXPECT_NE(rec.err.find("exitprof record: no device map kept (QMP never answered: QMP socket " + sock +
                         ": connect: No such file or directory"),
            std::string::npos)
      << rec.err;
  EXPECT_FALSE(FileExists(data + ".devices.json"));
}

}  // namespace
}  // namespace exitprof::testing
