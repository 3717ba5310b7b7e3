// Text captures made here around a real KVM guest (root, /dev/kvm, trace-cmd): a private tracefs
// instance with the kvm events on while exitprof-guest runs, then
//   - its `trace` file: ftrace's own text (the "# tracer: nop" header, latency columns),
//   - `trace-cmd extract` (v7) -> `trace-cmd convert --file-version 6` -> `trace-cmd report`
//     and `trace-cmd report -l` (Debian's trace-cmd reads v6),
// each read as a text capture: the guest's threads' counts equal the guest's own account and
// the trace.dat read by our binary reader.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <iostream>

#include <set>

#include "textcapture_support.h"

namespace exitprof::testing {
namespace {

bool WriteSys(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

constexpr const char* kEvents[] = {"kvm_pio", "kvm_mmio", "kvm_userspace_exit"};

class TextCaptureLive : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) { skip_ = "needs root (tracefs instances)"; return; }
    if (::access("/dev/kvm", R_OK | W_OK) != 0) { skip_ = "needs /dev/kvm"; return; }
    if (RunCommand("trace-cmd --version 2>&1").out.find("version") == std::string::npos) { skip_ = "needs trace-cmd"; return; }
    const std::string name = "exitprof_text_" + std::to_string(::getpid());
    const std::string inst = "/sys/kernel/tracing/instances/" + name;
    if (::mkdir(inst.c_str(), 0755) != 0) { skip_ = "cannot make a tracefs instance here"; return; }
    bool ok = WriteSys(inst + "/buffer_size_kb", "8192");
    for (const char* e : kEvents) ok = ok && WriteSys(inst + "/events/kvm/" + e + "/enable", "1");
    dir_ = TempPath("textcapture-live");
    ::mkdir(dir_.c_str(), 0755);
    // In the lab, trace-cmd extract now and then leaves out one CPU's buffer (half the events,
    // one vCPU thread's): the instance's own text (trace) has them all. Not our reader's doing:
    // the capture is made again, at most 3 times, saying so.
    for (int capture = 1; ok && capture <= 3; ++capture) {
      if (capture > 1) std::cerr << "[ rerun    ] TextCaptureLive: trace-cmd extract missed events the instance's trace file has: capturing again\n";
      skip_.clear();
      CommandResult guest;
      for (int attempt = 1;; ++attempt) {
        ::close(::open((inst + "/trace").c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));  // empties the buffer: a rerun starts clean
        WriteSys(inst + "/tracing_on", "1");
        guest = RunCommand(BinaryDir() + "/exitprof-guest --pio 0x3f8:1:w --mmio 0xd0000:4:r --iterations 500 --vcpus 2 --json " + dir_ +
                           "/account.json");
        WriteSys(inst + "/tracing_on", "0");
        if (!RerunAfterKvmError("TextCaptureLive's guest", GuestAccountError(dir_ + "/account.json"), attempt)) break;
      }
      if (guest.status != 0) skip_ = "exitprof-guest failed: " + guest.err;
      // The trace file first: reading it does not consume; extract does.
      if (skip_.empty() && RunCommand("cat " + inst + "/trace > " + dir_ + "/ftrace.txt").status != 0) skip_ = "cannot read trace";
      if (skip_.empty()) {
        auto x = RunCommand("trace-cmd extract -B " + name + " -o " + dir_ + "/v7.dat");
        if (x.status != 0) skip_ = "trace-cmd extract failed: " + x.err;
      }
      if (skip_.empty()) {
        RunCommand("trace-cmd convert -i " + dir_ + "/v7.dat -o " + dir_ + "/v6.dat --file-version 6 --compression none");
        RunCommand("trace-cmd report -i " + dir_ + "/v6.dat > " + dir_ + "/tracecmd.txt 2>/dev/null");
        RunCommand("trace-cmd report -l -i " + dir_ + "/v6.dat > " + dir_ + "/tracecmd-l.txt 2>/dev/null");
      }
      if (!skip_.empty() || !InLab()) break;
      const std::string count = " | grep -c kvm_userspace_exit";
      if (RunCommand("cat " + dir_ + "/ftrace.txt" + count).out == RunCommand("cat " + dir_ + "/tracecmd.txt" + count).out) break;
    }
    if (!ok) skip_ = "cannot enable kvm events in a tracefs instance";
    WriteSys(inst + "/tracing_on", "0");
    for (const char* e : kEvents) WriteSys(inst + "/events/kvm/" + e + "/enable", "0");
    ::rmdir(inst.c_str());
    if (skip_.empty()) account_ = nlohmann::json::parse(ReadText(dir_ + "/account.json"), nullptr, false);
  }
  void SetUp() override {
    if (!skip_.empty()) EXITPROF_LIVE_SKIP(skip_);
  }
  static inline std::string skip_, dir_;
  static inline nlohmann::json account_;
};

TEST_F(TextCaptureLive, FtraceAndTraceCmdTextCountAsTheGuestDid) {
  uint64_t pio = 0, mmio = 0, io_exits = 0, mmio_exits = 0;
  std::set<uint64_t> tids;
  for (const auto& vm : account_["vms"]) {
    for (const auto& v : vm["vcpus"]) {
      for (const auto& p : v["pio"]) pio += p["count"].get<uint64_t>();
      for (const auto& m : v["mmio"]) mmio += m["count"].get<uint64_t>();
      io_exits += v["userspace_exits"]["KVM_EXIT_IO"].get<uint64_t>();
      mmio_exits += v["userspace_exits"]["KVM_EXIT_MMIO"].get<uint64_t>();
      tids.insert(v["tid"].get<uint64_t>());
    }
  }
  ASSERT_EQ(pio, 1000u);
  ASSERT_EQ(tids.size(), 2u);
  auto binary = ReportJson("-i " + dir_ + "/v6.dat");
  for (const char* file : {"ftrace.txt", "tracecmd.txt", "tracecmd-l.txt"}) {
    const std::string path = dir_ + "/" + file;
    ASSERT_TRUE(FileExists(path)) << file;
    auto j = ReportJson("-i " + path);
    ASSERT_FALSE(j.contains("error")) << file << ": " << j.dump();
    EXPECT_EQ(j["text_capture"]["unparsed_lines"], 0) << file << ": " << j["text_capture"].dump();
    // Per thread: userspace exits of the guest's two vCPU threads.
    uint64_t us = 0;
    for (const auto& r : j["userspace_exits_by_thread"])
      if (tids.count(r["tid"].get<uint64_t>())) us += r["count"].get<uint64_t>();
    uint64_t us_bin = 0;
    for (const auto& r : binary["userspace_exits_by_thread"])
      if (tids.count(r["tid"].get<uint64_t>())) us_bin += r["count"].get<uint64_t>();
    EXPECT_EQ(us, us_bin) << file;
    EXPECT_GE(us, io_exits + mmio_exits) << file;
    // Whole-file counts equal the binary file's (same instance, same events); -l cuts thread
    // names to 8 characters ("CPU 0/KV").
    auto a = Counts(binary), b = Counts(j);
    if (std::string(file) == "tracecmd-l.txt") {
      for (auto* c : {&a, &b})
        for (auto& r : (*c)["userspace_exits_by_thread"]) r.erase("comm");
    }
    EXPECT_EQ(a, b) << file;
  }
  EXPECT_EQ(ReportJson("-i " + dir_ + "/ftrace.txt")["text_capture"]["layout"], "ftrace");
}

}  // namespace
}  // namespace exitprof::testing
