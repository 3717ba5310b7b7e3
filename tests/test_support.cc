#include "test_support.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <sstream>
#include <sys/stat.h>

namespace exitprof::testing {

std::string TempPath(const std::string& name) {
  std::string dir = BinaryDir() + "/test-tmp";
  ::mkdir(dir.c_str(), 0755);
  return dir + "/" + std::to_string(::getpid()) + "-" + name;
}

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool HavePerf() { return RunCommand("perf version").status == 0; }

std::string QemuGuestSkipReason() {
  if (::geteuid() != 0) return "needs root (perf_event_open on tracepoints, KVM stats fds)";
  if (::access("/dev/kvm", R_OK | W_OK) != 0) return "needs /dev/kvm";
  if (RunCommand("command -v qemu-system-x86_64").status != 0) return "needs qemu-system-x86_64 (Debian package qemu-system-x86)";
  if (!FileExists("/usr/share/qemu/qboot.rom")) return "needs /usr/share/qemu/qboot.rom (Debian package qemu-system-data)";
  return "";
}

static bool EnvIsOne(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::string(v) == "1";
}

bool LiveRequired() { return EnvIsOne("EXITPROF_REQUIRE_LIVE"); }
bool InLab() { return EnvIsOne("EXITPROF_LAB"); }

CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  std::string err_path = TempPath("stderr.txt");
  FILE* p = ::popen((command + " 2>" + err_path).c_str(), "r");
  if (!p) return r;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(err_path);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  ::unlink(err_path.c_str());
  return r;
}

Result<Report> ReadReport(const std::string& path, analysis::ExitFilter filter, size_t top) {
  auto reader = perfdata::Reader::Open(path);
  if (!reader) return tl::unexpected(reader.error());
  analysis::ExitStats stats(std::move(filter));
  auto read = (*reader)->Run(stats);
  if (!read) return tl::unexpected(read.error());
  Report r;
  r.info = (*reader)->info();
  r.stats = *read;
  r.model = analysis::BuildReportModel(r.info, *read, stats, top);
  return r;
}

::testing::AssertionResult SameLines(const std::string& expected, const std::string& actual) {
  if (expected == actual) return ::testing::AssertionSuccess();
  std::istringstream a(expected), b(actual);
  std::string la, lb;
  size_t line = 0;
  for (;;) {
    ++line;
    bool ha = static_cast<bool>(std::getline(a, la)), hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) break;
    if (ha != hb || la != lb) {
      return ::testing::AssertionFailure() << "first difference at line " << line << "\n  expected: "
                                           << (ha ? la : "<end>") << "\n  actual:   " << (hb ? lb : "<end>")
                                           << "\n  (" << expected.size() << " vs " << actual.size() << " bytes)";
    }
  }
  return ::testing::AssertionFailure() << "outputs differ only in the final newline";
}

std::map<std::string, uint64_t> PerfScriptEventCounts(const std::string& text) {
  std::map<std::string, uint64_t> counts;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    // "... SECS.USECS: EVENT: payload": the event follows the first ": ".
    auto a = line.find(": ");
    if (a == std::string::npos) continue;
    auto b = line.find(':', a + 2);
    while (b != std::string::npos && b + 1 < line.size() && line[b + 1] != ' ') b = line.find(':', b + 1);
    if (b == std::string::npos) continue;
    std::string name = line.substr(a + 2, b - a - 2);
    name.erase(0, name.find_first_not_of(' '));
    ++counts[name];
  }
  return counts;
}

TmuxSession::TmuxSession(const std::string& tag, const std::string& command, int width, int height)
    : tmux_("tmux -L exitprof-" + tag + "-" + std::to_string(::getpid()) + " ") {
  ok_ = RunCommand(tmux_ + "new-session -d -x " + std::to_string(width) + " -y " + std::to_string(height) + " '" + command + "'")
            .status == 0;
}

TmuxSession::~TmuxSession() { RunCommand(tmux_ + "kill-server 2>/dev/null"); }

std::string TmuxSession::Screen() const { return RunCommand(tmux_ + "capture-pane -p").out; }

std::string TmuxSession::WaitFor(const std::string& text) const {
  std::string s;
  for (int i = 0; i < 100; ++i) {
    s = Screen();
    if (s.find(text) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return s;
}

std::string TmuxSession::WaitForGone(const std::string& text) const {
  std::string s;
  for (int i = 0; i < 100; ++i) {
    s = Screen();
    if (s.find(text) == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return s;
}

void TmuxSession::Keys(const std::string& keys) const { RunCommand(tmux_ + "send-keys " + keys); }

bool TmuxSession::Ended() const {
  for (int i = 0; i < 100; ++i) {
    if (RunCommand(tmux_ + "has-session 2>/dev/null").status != 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace exitprof::testing
