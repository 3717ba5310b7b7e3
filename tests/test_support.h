// Shared helpers for tests: where things are, and running the real binary.
#pragma once

#include <cstdio>
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
  perfdata::SessionInfo info;
  perfdata::ReadStats stats;
  analysis::ReportModel model;
};
Result<Report> ReadReport(const std::string& path, analysis::ExitFilter filter = {}, size_t top = 0);

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
