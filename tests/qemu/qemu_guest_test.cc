// A third-party VMM: Debian's QEMU runs a tiny multiboot kernel (guest.S) whose own port and
// MMIO accesses are known exactly. exitprof record and perf record must both count them
// exactly, and perf must read exitprof's recording line for line as exitprof does.
//
// QEMU's firmware (qboot) and loader cause port and MMIO exits of their own before the guest
// runs (fw_cfg 0x510/0x511/0x518, PCI config 0xcf8/0xcfc, ...): exact counts are asserted only
// for the guest's own ports and address, which nothing else touches.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <map>
#include <set>
#include <string>

#include "nested_rerun.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

using nlohmann::json;

constexpr const char* kQboot = "/usr/share/qemu/qboot.rom";
constexpr const char* kQemu = "qemu-system-x86_64";
constexpr uint64_t kWrites = QEMU_GUEST_WRITES;
constexpr uint64_t kReads = QEMU_GUEST_READS;
constexpr uint64_t kMmioWrites = QEMU_GUEST_MMIO_WRITES;
constexpr uint64_t kMmioReads = QEMU_GUEST_MMIO_READS;
const std::string kWport = QEMU_GUEST_WPORT;
const std::string kRport = QEMU_GUEST_RPORT;
const std::string kMmioAddr = QEMU_GUEST_MMIO_ADDR;
const std::string kExitPort = "0xf4";

class QemuGuest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = QemuGuestSkipReason(); !why.empty()) EXITPROF_LIVE_SKIP(why);
    ASSERT_TRUE(FileExists(QEMU_GUEST_ELF)) << QEMU_GUEST_ELF << " was not built";
  }

  // Boots the guest, which ends QEMU itself through isa-debug-exit (status (0 << 1) | 1 = 1).
  // No display, no default devices (so no serial at 0x3f8, no VGA), nothing on stdout;
  // debug-threads=on names the vCPU thread "CPU 0/KVM" (unnamed otherwise).
  // -cpu qemu64,pni=off: plain qemu64 warns where the host lacks SSE3 (e.g. PVM), and
  // -cpu host does not start there at all.
  static std::string Qemu() {
    return std::string(kQemu) + " -name exitprof-qemu-test,debug-threads=on -enable-kvm -cpu qemu64,pni=off -nodefaults" +
           " -display none -no-reboot -bios " + kQboot + " -kernel " QEMU_GUEST_ELF " -device isa-debug-exit,iobase=0xf4,iosize=0x04";
  }
};

json Report(const std::string& path) {
  auto r = RunCommand(Exitprof() + " report -i " + path + " --format json");
  EXPECT_EQ(r.status, 0) << r.err;
  return json::parse(r.out);
}

// "PORT DIRECTION size SIZE" -> count, for the given ports only.
std::map<std::string, uint64_t> PortRows(const json& r, const std::set<std::string>& ports) {
  std::map<std::string, uint64_t> out;
  for (const auto& row : r["pio"]) {
    std::string port = row["port"];
    if (!ports.count(port)) continue;
    out[port + " " + row["direction"].get<std::string>() + " size " + std::to_string(row["size"].get<int>())] +=
        row["count"].get<uint64_t>();
  }
  return out;
}

// "TYPE len LEN" -> count, for one guest-physical address.
std::map<std::string, uint64_t> MmioRows(const json& r, const std::string& gpa) {
  std::map<std::string, uint64_t> out;
  for (const auto& row : r["mmio"]) {
    if (row["gpa"] != gpa) continue;
    std::string type = row["type"];
    EXPECT_EQ(row["direction"], type == "write" ? "write" : "read") << row.dump();
    out[type + " len " + std::to_string(row["len"].get<int>())] += row["count"].get<uint64_t>();
  }
  return out;
}

std::map<std::string, uint64_t> UserspaceExits(const json& r) {
  std::map<std::string, uint64_t> out;
  for (const auto& row : r["userspace_exits"]) out[row["reason"]] += row["count"].get<uint64_t>();
  return out;
}

void ExpectSvmExits(const json& r);

// What the guest does, as the report must show it.
void ExpectGuestCounts(const json& r) {
  EXPECT_EQ(PortRows(r, {kWport, kRport, kExitPort}),
            (std::map<std::string, uint64_t>{{kWport + " write size 1", kWrites},
                                             {kRport + " read size 2", kReads},
                                             {kExitPort + " write size 1", 1}}))
      << r["pio"].dump();
  EXPECT_EQ(MmioRows(r, kMmioAddr), (std::map<std::string, uint64_t>{{"write len 4", kMmioWrites},
                                                                     {"read len 4", kMmioReads},
                                                                     {"unsatisfied-read len 4", kMmioReads}}))
      << r["mmio"].dump();
  // Each of those accesses is one exit to QEMU; the firmware adds some more of its own.
  auto exits = UserspaceExits(r);
  EXPECT_GE(exits["KVM_EXIT_IO"], kWrites + kReads + 1) << r["userspace_exits"].dump();
  EXPECT_GE(exits["KVM_EXIT_MMIO"], kMmioWrites + kMmioReads) << r["userspace_exits"].dump();
  // A kvm_mmio read fires twice (unsatisfied-read, then read), a write once.
  uint64_t guest_mmio_events = kMmioWrites + 2 * kMmioReads;
  EXPECT_GE(r["events"]["kvm:kvm_mmio"].get<uint64_t>(), guest_mmio_events) << r["events"].dump();
  EXPECT_GE(r["events"]["kvm:kvm_pio"].get<uint64_t>(), kWrites + kReads + 1) << r["events"].dump();

  // All exits come from QEMU's one vCPU thread (named by -name debug-threads=on), none from
  // its main thread.
  const auto& threads = r["userspace_exits_by_thread"];
  ASSERT_EQ(threads.size(), 1u) << threads.dump();
  EXPECT_EQ(threads[0]["comm"], "CPU 0/KVM") << threads.dump();
  EXPECT_NE(threads[0]["tid"], threads[0]["pid"]) << threads.dump();
  uint64_t all_exits = 0;
  for (const auto& [reason, n] : exits) all_exits += n;
  EXPECT_EQ(threads[0]["count"].get<uint64_t>(), all_exits) << threads.dump() << r["userspace_exits"].dump();
  ExpectSvmExits(r);
}

// Where kvm_exit fires (the lab: SVM names), each of the guest's port accesses is one `io` exit
// at its instruction, and each MMIO access one `npf` exit (nested page fault on the unbacked
// page) at its instruction: four guest RIPs with exactly the guest's counts. Every port access,
// the firmware's too, is an `io` exit (no string IO: one kvm_pio per exit). Other exits vary
// from run to run: `interrupt` (host interrupts), `npf` of the firmware's first touches.
void ExpectSvmExits(const json& r) {
  if (r["events"].value("kvm:kvm_exit", uint64_t{0}) == 0) return;  // e.g. PVM hosts
  EXPECT_EQ(r["exits"]["isa"], "SVM");
  std::map<std::string, uint64_t> reasons;
  for (const auto& row : r["exits"]["by_reason"]) reasons[row["reason"]] = row["count"];
  EXPECT_EQ(reasons["io"], r["events"]["kvm:kvm_pio"].get<uint64_t>()) << r["exits"]["by_reason"].dump();
  std::multiset<std::string> guest_rows;
  for (const auto& row : r["exits"]["by_rip"]) {
    const uint64_t n = row["count"];
    const std::string reason = row["reason"];
    if (reason == "io" && (n == kWrites || n == kReads)) guest_rows.insert("io " + std::to_string(n));
    if (reason == "npf" && (n == kMmioWrites || n == kMmioReads)) guest_rows.insert("npf " + std::to_string(n));
  }
  EXPECT_EQ(guest_rows, (std::multiset<std::string>{"io " + std::to_string(kWrites), "io " + std::to_string(kReads),
                                                    "npf " + std::to_string(kMmioWrites),
                                                    "npf " + std::to_string(kMmioReads)}))
      << r["exits"]["by_rip"].dump();
}

TEST_F(QemuGuest, RecordCountsTheGuestsExitsExactly) {
  const std::string data = TempPath("qemu.data");
  // --duration: should the guest hang, QEMU is stopped (SIGTERM) and the counts below fail.
  auto rec = RunGuestCommand(Exitprof() + " record --duration 30 -o " + data + " -- " + Qemu());
  ASSERT_EQ(rec.status, 0) << rec.err;
  EXPECT_NE(rec.err.find("the command exited with status 1\n"), std::string::npos)
      << "QEMU must end through isa-debug-exit (status 1):\n" << rec.err;
  EXPECT_NE(rec.err.find("lost events: 0"), std::string::npos) << rec.err;
  json r = Report(data);
  ExpectGuestCounts(r);

  if (!HavePerf()) EXITPROF_LIVE_SKIP("perf not installed: perf script cross-check skipped");
  auto perf = RunCommand("perf script -i " + data);
  ASSERT_EQ(perf.status, 0) << perf.err;
  EXPECT_EQ(perf.err, "");
  auto ours = RunCommand(Exitprof() + " script -i " + data);
  ASSERT_EQ(ours.status, 0) << ours.err;
  EXPECT_TRUE(SameLines(perf.out, ours.out));
  auto by_event = PerfScriptEventCounts(perf.out);
  EXPECT_EQ(by_event["kvm:kvm_pio"], r["events"]["kvm:kvm_pio"].get<uint64_t>());
  EXPECT_EQ(by_event["kvm:kvm_mmio"], r["events"]["kvm:kvm_mmio"].get<uint64_t>());
  EXPECT_EQ(by_event["kvm:kvm_userspace_exit"], r["events"]["kvm:kvm_userspace_exit"].get<uint64_t>());
}

TEST_F(QemuGuest, PipeModeToReport) {
  // With -o - the recording is our stdout; QEMU's own output goes to stderr.
  const std::string record_err = TempPath("qemu-pipe.err");
  CommandResult report;
  for (int i = 0; i < kNestedAttempts; ++i) {
    report = RunCommand(Exitprof() + " record --duration 30 -o - -- " + Qemu() + " 2>" + record_err + " | " + Exitprof() +
                        " report -i - --format json");
    if (!NestedInternalError(ReadText(record_err))) break;
    NoteNestedRerun("record -o - | report -i -");
  }
  ASSERT_EQ(report.status, 0) << report.err;
  ExpectGuestCounts(json::parse(report.out));
}

TEST_F(QemuGuest, PerfRecordingOfTheSameRunReportsTheSameCounts) {
  if (!HavePerf()) EXITPROF_LIVE_SKIP("perf not installed (Debian package linux-perf)");
  const std::string ours = TempPath("qemu-ours.data"), theirs = TempPath("qemu-perf.data");
  auto rec = RunGuestCommand(Exitprof() + " record --duration 30 -e kvm:kvm_pio -e kvm:kvm_mmio -e kvm:kvm_userspace_exit -o " +
                             ours + " -- " + Qemu());
  ASSERT_EQ(rec.status, 0) << rec.err;
  // timeout: should the guest hang, QEMU ends and the counts below fail.
  auto perf = RunGuestCommand("perf record -q -e kvm:kvm_pio -e kvm:kvm_mmio -e kvm:kvm_userspace_exit -o " + theirs +
                              " -- timeout 30 " + Qemu());
  EXPECT_EQ(perf.status, 1) << "QEMU ends through isa-debug-exit (status 1):\n" << perf.err;
  json a = Report(ours), b = Report(theirs);
  ExpectGuestCounts(b);
  // The firmware's exits are the same in every run, so the whole tables agree too.
  EXPECT_EQ(a["pio"], b["pio"]);
  EXPECT_EQ(a["mmio"], b["mmio"]);
}

}  // namespace
}  // namespace exitprof::testing
