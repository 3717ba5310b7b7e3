// exitprof::guest — a tiny VMM over /dev/kvm that runs real 16-bit real-mode guests whose exits
// are scripted and therefore exactly known. Tests record the kvm:* tracepoints while a guest runs
// and compare what perf saw with the guest's own account; `exitprof demo` runs one live.
//
// A guest executes `ops` in a loop `iterations` times on every vCPU, then writes one byte to the
// done port (kDonePort, 0x501) and stops. Every op leaves the guest to user space exactly once:
//   PortOut / PortIn     -> one KVM_EXIT_IO
//   MmioWrite / MmioRead -> one KVM_EXIT_MMIO (the gpa is not backed by a memslot)
//   Hlt                  -> one KVM_EXIT_HLT (no in-kernel irqchip, so HLT goes to user space)
// so per vCPU: KVM_EXIT_IO = sum(pio counts) + done.count, KVM_EXIT_MMIO = sum(mmio counts),
// KVM_EXIT_HLT = hlt; KVM_EXIT_INTR may appear only if a signal interrupts KVM_RUN.
// Failures come back as base/result.h Error values, never as exceptions.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <compare>
#include <functional>
#include <cstdint>
#include <map>
#include <stop_token>
#include <string>
#include <vector>

#include "base/result.h"

namespace exitprof::guest {

// Port the guest writes once (1 byte, value 1) after its last iteration. Reserved: ops may not use it.
inline constexpr uint16_t kDonePort = 0x501;
// Guest RAM is one memslot [0, kRamSize); MMIO gpas must lie in [kRamSize, kMmioLimit).
inline constexpr uint64_t kRamSize = 0x10000;
inline constexpr uint64_t kMmioLimit = 0x100000;
inline constexpr size_t kMaxOps = 1024;

enum class OpKind { kPortOut, kPortIn, kMmioWrite, kMmioRead, kHlt };
enum class Direction { kRead, kWrite };

// One guest operation. `value` is what the guest writes (PortOut, MmioWrite) or what the VMM
// answers (PortIn, MmioRead); it must fit in `size` bytes. `size` is 1, 2 or 4 (unused for Hlt).
// MMIO gpas must be naturally aligned (gpa % size == 0), so no access is split.
struct Op {
  OpKind kind = OpKind::kHlt;
  uint16_t port = 0;
  uint64_t gpa = 0;
  uint8_t size = 1;
  uint32_t value = 0;

  static Op PortOut(uint16_t port, uint8_t size, uint32_t value) { return {OpKind::kPortOut, port, 0, size, value}; }
  static Op PortIn(uint16_t port, uint8_t size, uint32_t value) { return {OpKind::kPortIn, port, 0, size, value}; }
  static Op MmioWrite(uint64_t gpa, uint8_t size, uint32_t value) { return {OpKind::kMmioWrite, 0, gpa, size, value}; }
  static Op MmioRead(uint64_t gpa, uint8_t size, uint32_t value) { return {OpKind::kMmioRead, 0, gpa, size, value}; }
  static Op Hlt() { return {OpKind::kHlt, 0, 0, 1, 0}; }
};

struct GuestProgram {
  std::vector<Op> ops;        // 1..kMaxOps operations, run in this order
  uint64_t iterations = 1;    // 0..2^32-1 (a 32-bit counter in ECX)
};

struct RunOptions {
  int vms = 1;                                // each its own KVM_CREATE_VM
  int vcpus_per_vm = 1;                       // each a thread named "CPU N/KVM"
  uint64_t rate = 0;                          // approx. userspace exits/s per vCPU; 0 = unpaced
  std::chrono::nanoseconds duration{0};       // stop early after this long; 0 = no limit
  std::stop_token stop{};                     // optional: request_stop() ends the run early
  // After its work, each vCPU thread stays (out of KVM_RUN, so KVM's counters stand still) until
  // `stop` is requested; the accounts then carry what the stats fds say (kvm_stats below).
  bool hold = false;
  std::function<void()> on_hold{};            // called once when every vCPU is holding
};

struct PioKey {
  uint16_t port;
  uint8_t size;
  Direction direction;
  auto operator<=>(const PioKey&) const = default;
};

struct MmioKey {
  uint64_t gpa;
  uint8_t size;
  Direction direction;
  auto operator<=>(const MmioKey&) const = default;
};

// What one vCPU did, counted by the VMM as it serviced each exit.
struct VcpuAccount {
  int vm = 0;
  int vcpu = 0;
  pid_t pid = 0;
  pid_t tid = 0;                                         // gettid() of the vCPU thread
  std::map<PioKey, uint64_t> pio;                        // every op's key (even at 0); not the done port
  std::map<MmioKey, uint64_t> mmio;
  uint64_t hlt = 0;
  uint64_t done = 0;                                     // writes to kDonePort (0 or 1)
  std::map<std::string, uint64_t> userspace_exits;       // "KVM_EXIT_IO" -> count, ...
  uint64_t iterations = 0;                               // loop iterations fully completed
  bool completed = false;                                // reached the done port
  std::string stop_reason;                               // "done", "duration", "stopped" or
                                                         // "KVM_EXIT_INTERNAL_ERROR" (KVM gave up)
  std::string error;                                     // with KVM_EXIT_INTERNAL_ERROR: what, where
  bool vm_stats_fd = false;                              // KVM_GET_STATS_FD fds held open
  bool vcpu_stats_fd = false;
  uint64_t elapsed_ns = 0;                               // first KVM_RUN to last exit
  // With RunOptions::hold: the scalar statistics of this vCPU's and its VM's binary stats fds,
  // read by the VMM itself after holding (name -> value; histograms left out).
  std::map<std::string, uint64_t> kvm_stats;
  std::map<std::string, uint64_t> vm_kvm_stats;
};

// Checks the program against the rules above; the error names the op and the rule.
Result<void> ValidateProgram(const GuestProgram& program);
// The per-op part of those rules; the error names only the rule ("gpa 0x1000 is outside ...").
Result<void> ValidateOp(const Op& op);

// The default mix per iteration: two byte writes to 0x3f8, a 0x70 write + 0x71 read, a 4-byte
// MMIO write at 0xd0000, a 4-byte MMIO read at 0xd0004, and one HLT (7 exits).
GuestProgram DemoProgram(uint64_t iterations);

// Runs the program on options.vms x options.vcpus_per_vm vCPUs and returns one account per vCPU,
// ordered by (vm, vcpu). Blocks until every vCPU finished or stopped. A vCPU stopped by
// KVM_EXIT_INTERNAL_ERROR is an account (with its error), not an error: see FirstVcpuError.
Result<std::vector<VcpuAccount>> Run(const GuestProgram& program, const RunOptions& options);

// The error of the first vCPU that KVM stopped (KVM_EXIT_INTERNAL_ERROR), or "" when none was.
std::string FirstVcpuError(const std::vector<VcpuAccount>& accounts);

// {"vms":[{"vm":0,"pid":P,"vcpus":[{"vcpu":0,"tid":T,"pio":[{"port":"0x3f8","size":1,
//   "direction":"write","count":N}],"mmio":[{"gpa":"0xd0000","len":4,"direction":"read",
//   "count":N}],"hlt":N,"done":{"port":"0x501","count":1},"userspace_exits":{"KVM_EXIT_IO":N},
//   "iterations":N,"completed":true,"stop_reason":"done","stats_fds":{"vm":true,"vcpu":true},
//   "elapsed_ns":N}]}]}   (keys in this order; ports and gpas as 0x-hex strings)
std::string AccountToJson(const std::vector<VcpuAccount>& accounts);

// A vCPU stopped by KVM_EXIT_INTERNAL_ERROR has "stop_reason":"KVM_EXIT_INTERNAL_ERROR" and
// "error":"vm 0 vcpu 1: stopped by KVM_EXIT_INTERNAL_ERROR (17): suberror 1 ... at rip 0x100c, ..."
// (after "stop_reason"); the other vCPUs of the run then stop with "stopped".
// With hold, each VM also has "kvm_stats":{NAME:N,...} and each vCPU "kvm_stats":{...}.

// "KVM_EXIT_IO" for 2, ...; "KVM_EXIT_<n>" for numbers this build does not know.
std::string ExitReasonName(uint32_t reason);

// "out 0x3f8 size 1 value 0x41", "mmio read 0xd0000 size 4", "hlt"
std::string DescribeOp(const Op& op);

}  // namespace exitprof::guest
