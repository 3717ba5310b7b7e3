// `exitprof top` on a terminal: kvm_stat's keys, driven through tmux as a user would, on a
// real guest exiting 2000 times a second: the table, o (sort), f (filter), b (VMs, vCPUs),
// space (pause), h (help), q (quit).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <thread>

#include "test_support.h"

namespace exitprof::testing {
namespace {

// The names of the reason rows: the lines between the table's header and the first blank.
std::vector<std::string> ReasonRows(const std::string& screen) {
  std::vector<std::string> out;
  std::istringstream lines(screen);
  bool inside = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" Event ") == 0 || line.rfind(" Event", 0) == 0) {
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (line.find_first_not_of(' ') == std::string::npos) break;
    std::istringstream row(line);
    std::string name;
    row >> name;
    out.push_back(name);
  }
  return out;
}

TEST(TopInteractive, KvmStatKeysThroughTmux) {
  if (::geteuid() != 0) EXITPROF_LIVE_SKIP("needs root (perf_event_open on tracepoints)");
  if (::access("/dev/kvm", R_OK | W_OK) != 0) EXITPROF_LIVE_SKIP("needs /dev/kvm");
  if (RunCommand("command -v tmux").status != 0) EXITPROF_LIVE_SKIP("needs tmux (Debian package tmux)");
  // Port writes and MMIO reads, paced, for at most 30 s; its pid in a file for -p.
  const std::string pid_file = TempPath("top-tui.pid");
  ASSERT_EQ(RunCommand("(" + BinaryDir() + "/exitprof-guest --pio 0x3f8:1:w --mmio 0x20000:4:r --iterations 100000000 "
                       "--rate 2000 --vcpus 2 --duration-ms 30000 >/dev/null 2>&1 & echo $! > " + pid_file + ")").status, 0);
  std::string pid = RunCommand("cat " + pid_file).out;
  pid = pid.substr(0, pid.find('\n'));
  ASSERT_FALSE(pid.empty());

  TmuxSession tmux("top", Exitprof() + " top -p " + pid + " -s 0.3");
  ASSERT_TRUE(tmux.ok());
  std::string s = tmux.WaitFor("CurAvg/s");
  EXPECT_NE(s.find("exitprof top - "), std::string::npos) << s;
  EXPECT_NE(s.find("sorted by CurAvg/s"), std::string::npos) << s;
  // Port IO and MMIO (userspace exits IO and MMIO here; IO_INSTRUCTION and EPT_MISCONFIG where
  // kvm_exit fires): at least two reasons.
  std::vector<std::string> rows;
  for (int i = 0; i < 50 && rows.size() < 2; ++i) {
    rows = ReasonRows(tmux.Screen());
    if (rows.size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GE(rows.size(), 2u) << tmux.Screen();

  tmux.Keys("o");
  s = tmux.WaitFor("sorted by Total");
  EXPECT_NE(s.find("sorted by Total"), std::string::npos) << s;

  tmux.Keys("f");
  tmux.WaitFor("Show reasons matching");
  tmux.Keys("'^" + rows[1] + "$' Enter");
  s = tmux.WaitFor("filter: ^" + rows[1] + "$");
  EXPECT_EQ(ReasonRows(s), std::vector<std::string>{rows[1]}) << s;
  tmux.Keys("c");
  s = tmux.WaitForGone("filter: ");
  EXPECT_GE(ReasonRows(s).size(), 2u) << s;

  tmux.Keys("b");
  s = tmux.WaitFor("VM (pid)");
  EXPECT_NE(s.find("(" + pid + ")"), std::string::npos) << s;
  tmux.Keys("b");
  s = tmux.WaitFor("vCPU (pid/tid)");
  // Where kvm_exit fires, its vcpu_id is shown too: "CPU 1/KVM (vcpu 1) (343/349)".
  for (int vcpu : {0, 1}) {
    const std::string n = std::to_string(vcpu);
    EXPECT_TRUE(std::regex_search(s, std::regex("CPU " + n + "/KVM (\\(vcpu " + n + "\\) )?\\(" + pid + "/[0-9]+\\)"))) << s;
  }

  tmux.Keys("Space");
  s = tmux.WaitFor("PAUSED");
  EXPECT_NE(s.find("PAUSED"), std::string::npos) << s;
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // two intervals: the screen stays
  EXPECT_EQ(tmux.Screen(), s);
  tmux.Keys("Space");
  s = tmux.WaitForGone("PAUSED");
  EXPECT_EQ(s.find("PAUSED"), std::string::npos) << s;

  tmux.Keys("h");
  s = tmux.WaitFor("exitprof top: keys");
  EXPECT_NE(s.find("space  pause"), std::string::npos) << s;
  tmux.Keys("x");
  tmux.WaitFor("CurAvg/s");

  tmux.Keys("q");
  EXPECT_TRUE(tmux.Ended()) << "q should end exitprof top";
  RunCommand("kill " + pid + " 2>/dev/null");
}

}  // namespace
}  // namespace exitprof::testing
