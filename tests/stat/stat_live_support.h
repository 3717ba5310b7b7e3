// Helpers of stat_live_test: our guest held or gated, and `exitprof stat` streaming JSON.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "nested_rerun.h"
#include "test_support.h"

namespace exitprof::testing {

using nlohmann::json;

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An exitprof-guest run with --hold: Start() returns once every vCPU is holding.
class HeldGuest {
 public:
  explicit HeldGuest(std::string tag) : json_(TempPath(tag + ".json")), err_(TempPath(tag + ".err")) {}
  ~HeldGuest() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // Starts the guest, again should nested SVM stop it before its hold.
  ::testing::AssertionResult Start(std::vector<std::string> args, bool hold = true) {
    ::testing::AssertionResult started = ::testing::AssertionSuccess();
    for (int i = 0; i < kNestedAttempts; ++i) {
      started = StartOnce(args, hold);
      if (started || !NestedInternalError(ReadAll(err_))) break;
      NoteNestedRerun("exitprof-guest --hold");
    }
    return started;
  }
  ::testing::AssertionResult StartOnce(std::vector<std::string> args, bool hold) {
    args.insert(args.begin(), BinaryDir() + "/exitprof-guest");
    if (hold) args.push_back("--hold");
    args.push_back("--json");
    args.push_back(json_);
    ::unlink(json_.c_str());
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* err = std::freopen(err_.c_str(), "w", stderr);
      FILE* out = std::freopen("/dev/null", "w", stdout);
      (void)err, (void)out;
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (!hold) return ::testing::AssertionSuccess();
    for (int i = 0; i < 1200; ++i) {
      if (ReadAll(err_).find("holding") != std::string::npos) return ::testing::AssertionSuccess();
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return ::testing::AssertionFailure() << "exitprof-guest ended early: " << ReadAll(err_);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return ::testing::AssertionFailure() << "exitprof-guest did not reach its hold: " << ReadAll(err_);
  }
  // Ends the hold (or waits for the run) and returns the guest's account.
  json Finish(bool signal = true) {
    if (signal) ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadAll(err_);
    return json::parse(ReadAll(json_), nullptr, false);
  }
  pid_t pid() const { return pid_; }
  std::string err() const { return ReadAll(err_); }

 private:
  std::string json_, err_;
  pid_t pid_ = -1;
};

// The built-in guest's iterations in the gated runs: 2 vCPUs, each iteration 4 port accesses,
// 2 MMIO accesses and a HLT. The lab's nested exits are ~10x slower: a fifth of the work there.
inline const uint64_t kGatedIterations = InLab() ? 300 : 1500;

// Forks the built-in guest (2 vCPUs, kGatedIterations, its account to `account_path`, its
// stderr to `err_path`) held before exec until a byte is written to *gate, so counters can be
// opened on it first.
inline pid_t StartGatedGuest(const std::string& account_path, const std::string& err_path, int* gate) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  pid_t child = ::fork();
  if (child < 0) return -1;
  if (child == 0) {
    ::close(fds[1]);
    char c;
    if (::read(fds[0], &c, 1) != 1) ::_exit(126);
    FILE* out = std::freopen("/dev/null", "w", stdout);
    FILE* err = std::freopen(err_path.c_str(), "w", stderr);
    (void)out, (void)err;
    const std::string guest = BinaryDir() + "/exitprof-guest";
    const std::string iterations = std::to_string(kGatedIterations);
    ::execl(guest.c_str(), guest.c_str(), "--vcpus", "2", "--iterations", iterations.c_str(), "--json",
            account_path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[0]);
  *gate = fds[1];
  return child;
}

// `exitprof stat ... --json` running in the background, one JSON line per refresh into a file.
class StatStream {
 public:
  StatStream(const std::string& tag, const std::string& args) : out_(TempPath(tag + ".out")), err_(TempPath(tag + ".err")) {
    ::unlink(out_.c_str());
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string command = "exec " + Exitprof() + " " + args + " >" + out_ + " 2>" + err_;
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~StatStream() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::vector<std::string> Lines() const {
    std::istringstream in(ReadAll(out_));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  // Waits (up to 60 s) until stat has printed `n` lines.
  bool WaitForLines(size_t n) const {
    for (int i = 0; i < 1200 && Lines().size() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return Lines().size() >= n;
  }
  // Ctrl-C: stat ends; its exit status.
  int Interrupt() {
    ::kill(pid_, SIGINT);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string err() const { return ReadAll(err_); }

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
};

// The sum of every line's per-interval "delta" of the one VM (or -t table) listed.
inline json SumOfDeltas(const std::vector<std::string>& lines, std::string* source) {
  json sum = json::object();
  for (const auto& line : lines) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || j["vms"].size() != 1) continue;
    *source = j["vms"][0]["source"];
    for (const auto& [name, n] : j["vms"][0]["delta"].items()) sum[name] = sum.value(name, uint64_t{0}) + n.get<uint64_t>();
  }
  return sum;
}

// Runs the gated guest under the given stat -t commands: each has counted (printed a first
// line) before the guest starts, and a full refresh after it ended; then they are stopped.
// Returns the guest's account, and each command's summed deltas and source; again should
// nested SVM stop the guest.
struct GatedRun {
  json account;
  std::vector<json> counted;
  std::vector<std::string> sources;
};
inline ::testing::AssertionResult RunGated(const std::string& tag, const std::vector<std::string>& stat_args, GatedRun* run) {
  for (int attempt = 0; attempt < kNestedAttempts; ++attempt) {
    const std::string account_path = TempPath(tag + ".json"), err_path = TempPath(tag + "-guest.err");
    ::unlink(account_path.c_str());
    int gate = -1;
    pid_t child = StartGatedGuest(account_path, err_path, &gate);
    if (child <= 0) return ::testing::AssertionFailure() << "fork failed";
    std::vector<std::unique_ptr<StatStream>> streams;
    for (size_t i = 0; i < stat_args.size(); ++i) {
      streams.push_back(std::make_unique<StatStream>(tag + "-" + std::to_string(i), stat_args[i] + " -p " + std::to_string(child)));
    }
    bool ready = true;
    for (auto& s : streams) ready = s->WaitForLines(1) && ready;
    if (::write(gate, "g", 1) != 1) ready = false;
    ::close(gate);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!ready) {
      std::string errs;
      for (auto& s : streams) errs += s->err();
      return ::testing::AssertionFailure() << "stat printed nothing: " << errs;
    }
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      if (NestedInternalError(ReadAll(err_path))) {
        NoteNestedRerun("exitprof-guest under stat -t");
        continue;
      }
      return ::testing::AssertionFailure() << "exitprof-guest failed: " << ReadAll(err_path);
    }
    for (auto& s : streams) {
      // The refresh that ends after this one began counted everything the guest did.
      size_t now = s->Lines().size();
      if (!s->WaitForLines(now + 2)) return ::testing::AssertionFailure() << "stat stopped printing: " << s->err();
      if (int rc = s->Interrupt(); rc != 0) return ::testing::AssertionFailure() << "stat ended with " << rc << ": " << s->err();
      if (!s->err().empty()) return ::testing::AssertionFailure() << "stat said: " << s->err();
      std::string source;
      run->counted.push_back(SumOfDeltas(s->Lines(), &source));
      run->sources.push_back(source);
    }
    run->account = json::parse(ReadAll(account_path), nullptr, false);
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "nested internal errors in every run";
}

}  // namespace exitprof::testing
