// Shared helpers for tests: where things are, and running the real binary.
#pragma once

#include <cstdio>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "analysis/exit_stats.h"
#include "analysis/report_model.h"
#include "perfdata/reader.h"

namespace exitprof::testing {

inline std::string SourceDir() { return EXITPROF_SOURCE_DIR; }
inline std::string SharedDir() { return EXITPROF_SOURCE_DIR "/../shared"; }
inline std::string BinaryDir() { return EXITPROF_BINARY_DIR; }
inline std::string Exitprof() { return BinaryDir() + "/exitprof"; }
inline std::string FormatsDir() { return SourceDir() + "/tests/data/formats"; }
std::string TempPath(const std::string& name);
bool FileExists(const std::string& path);
bool HavePerf();
// Why a test that runs our tiny multiboot guests under QEMU (root, /dev/kvm, qemu-system-x86_64
// and qboot.rom) cannot run here; empty when it can.
std::string QemuGuestSkipReason();

// Live tests (real KVM guests, tracefs, BPF) must run, never skip, where the CI says so:
// scripts/test.sh sets EXITPROF_REQUIRE_LIVE=1 where kvm_exit fires (the host's /dev/kvm, or the
// lab of scripts/kvm-lab.sh). There a missing prerequisite is a failure, not a skip.
bool LiveRequired();
// Inside the lab (scripts/kvm-lab.sh sets EXITPROF_LAB=1): a nested, emulated KVM host, about
// 10x slower per exit than a real one, with SVM reason names.
bool InLab();

// Shell text that waits (up to 60 s) until the process whose pid is in shell variable VAR holds a
// perf event fd: the command has opened its events. Setting up takes seconds in a loaded lab, so a
// fixed `sleep` before a guest or a signal races it (and SIGINT sent to a background command of a
// script before its handler is in is lost: such commands start with SIGINT ignored).
inline std::string WaitForPerfEvents(const std::string& var) {
  return "for i in $(seq 600); do ls -l /proc/$" + var + "/fd 2>/dev/null | grep -q perf_event && break; sleep 0.1; done; ";
}

}  // namespace exitprof::testing

// A live test's prerequisite is missing: skip, or fail where live tests are required.
#define EXITPROF_LIVE_SKIP(why)                                                                  \
  do {                                                                                            \
    if (::exitprof::testing::LiveRequired()) {                                                    \
      FAIL() << "live test cannot run, but EXITPROF_REQUIRE_LIVE=1 requires it: " << (why);       \
    } else {                                                                                      \
      GTEST_SKIP() << (why);                                                                      \
    }                                                                                             \
  } while (0)

namespace exitprof::testing {

struct CommandResult {
  int status = -1;  // exit status, or 128+signal
  std::string out;  // stdout
  std::string err;  // stderr
};
CommandResult RunCommand(const std::string& command);

struct Report {
  recording::SessionInfo info;
  recording::ReadStats stats;
  analysis::ReportModel model;
};
// The report pipeline of `exitprof report` (report/pipeline.h), without device attribution.
Result<Report> ReadReport(const std::string& path, analysis::ExitFilter filter = {}, size_t top = 0);

// Our guests (exitprof-guest, exitprof demo) under nested SVM, as in the lab, now and then see a
// vCPU stopped by KVM_EXIT_INTERNAL_ERROR: KVM's failure, not a wrong count. The guest's account
// says so (stop_reason "KVM_EXIT_INTERNAL_ERROR", error); such a run is run again, at most this
// many times in all, saying so on stderr: never a flaky failure.
inline constexpr int kGuestAttempts = 8;
// The first such error in the account (--json file) at `path`; "" when none (or no account).
std::string GuestAccountError(const std::string& path);
// After attempt `attempt` (1-based) of `what` ended with `error` (a vCPU KVM stopped; "" when
// none): whether to run it again. Says so on stderr when it does.
bool RerunAfterKvmError(const std::string& what, const std::string& error, int attempt);
// Runs `command`, a shell command that runs exitprof-guest ... --json ACCOUNT (itself, or wrapped:
// `perf record ... -- exitprof-guest ...`, a pipeline, a background job), again while the
// account shows a vCPU stopped by KVM_EXIT_INTERNAL_ERROR. Without an account (`exitprof demo`),
// the command's stderr naming that stop counts. Returns the last run's result.
CommandResult RunGuestCommand(const std::string& command, const std::string& account = "");

// Whether this machine's KVM fires kvm:kvm_exit (scripts/kvm-exit-fires.sh; asked once). It
// does in the lab and on real KVM hosts; not on PVM backends, where only kvm_pio, kvm_mmio and
// kvm_userspace_exit fire.
bool KvmExitFires();

// What our guests did, summed over their accounts (--json files), as kvm_exit must show it.
struct GuestWork {
  uint64_t pio = 0, done = 0, mmio = 0, hlt = 0;  // port accesses (done port apart), MMIO, HLT
  int vms = 0, vcpus = 0;
  std::set<uint32_t> pids, tids;
};
GuestWork ReadGuestWork(const std::string& account_path, GuestWork sum = {});
// Where kvm_exit fires: exits by reason name (report's exits.by_reason, BPF's counts) equal
// that work. Measured in the lab (SVM): every port access of ours (and the done write) is one
// `io` exit, every HLT one `hlt` exit, every MMIO access one `npf` exit, plus one `npf` per VM
// when its first vCPU fetches the code page (nested page tables start empty; vCPUs of one VM
// that start together may each fault it: at most one per vCPU). What else shows is the host's
// own business, asynchronous to the guest: `interrupt` (timer ticks and IPIs arriving while
// the guest runs; a handful per run), and the like (nmi, smi, vintr). VMX names are mapped too
// (IO_INSTRUCTION, HLT, EPT_MISCONFIG/EPT_VIOLATION), not measured here.
::testing::AssertionResult ExitsMatchGuestWork(const std::map<std::string, uint64_t>& by_reason, const GuestWork& work);

// `perf kvm -i PATH stat report --event=vmexit`: per reason, perf's count and its min, max and
// mean in microseconds as it prints them ("12.34").
struct PerfKvmStatRow {
  uint64_t count = 0;
  std::string time_percent, min_us, max_us, mean_us;
};
std::map<std::string, PerfKvmStatRow> PerfKvmStatVmexit(const std::string& path);
// Nanoseconds as perf kvm stat prints microseconds (two decimals).
std::string PerfUs(double ns);

// Compares two multi-line texts; on a difference, names the first differing line only
// (whole outputs would flood the log).
::testing::AssertionResult SameLines(const std::string& expected, const std::string& actual);

// A program on a terminal of its own, driven as a user would (tmux, on a private server):
// for the ncurses views of stat and top.
class TmuxSession {
 public:
  // Starts `command` on a width x height terminal; ok() says whether tmux started it.
  TmuxSession(const std::string& tag, const std::string& command, int width = 120, int height = 50);
  ~TmuxSession();  // kills the server
  bool ok() const { return ok_; }
  std::string Screen() const;
  // Waits (up to 5 s) until the screen shows `text`; returns the last screen seen.
  std::string WaitFor(const std::string& text) const;
  // Waits until the screen no longer shows `text`.
  std::string WaitForGone(const std::string& text) const;
  void Keys(const std::string& keys) const;  // tmux send-keys arguments, e.g. "f" or "'^IO$' Enter"
  bool Ended() const;  // waits up to 5 s for the program to end

 private:
  std::string tmux_;
  bool ok_ = false;
};

// Counts of samples per event name as `perf script` shows them (field before the payload).
std::map<std::string, uint64_t> PerfScriptEventCounts(const std::string& script_output);

}  // namespace exitprof::testing
