// trace.dat files written by this host's trace-cmd around a real KVM guest: `trace-cmd extract`
// from a private tracefs instance (v7, zstd), then `trace-cmd convert` to v6 and to v7
// uncompressed. Counts must equal what the guest did and what `trace-cmd report` shows.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "perfdata/abi.h"
#include "tracedat_support.h"

namespace exitprof::testing {
namespace {

bool WriteFile(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// A tracefs instance with kvm events on; removed (events off first) when it goes.
class Instance {
 public:
  explicit Instance(std::string name) : name_(std::move(name)), dir_("/sys/kernel/tracing/instances/" + name_) {
    ok_ = ::mkdir(dir_.c_str(), 0755) == 0;
    for (const char* e : kEvents) ok_ = ok_ && WriteFile(dir_ + "/events/kvm/" + e + "/enable", "1");
  }
  ~Instance() {
    WriteFile(dir_ + "/tracing_on", "0");
    for (const char* e : kEvents) WriteFile(dir_ + "/events/kvm/" + e + "/enable", "0");
    ::rmdir(dir_.c_str());
  }
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }

 private:
  static constexpr const char* kEvents[] = {"kvm_pio", "kvm_mmio", "kvm_userspace_exit"};
  std::string name_, dir_;
  bool ok_ = false;
};

// Per-event line counts of `trace-cmd report` for these threads (other guests on this host
// may run while the instance records): "COMM-TID [CPU] TIME: EVENT: ...".
std::map<std::string, uint64_t> TraceCmdCounts(const std::string& text, const std::set<uint32_t>& tids) {
  std::map<std::string, uint64_t> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto bracket = line.find(" [");
    if (bracket == std::string::npos) continue;
    auto end = line.find_last_not_of(' ', bracket);
    auto dash = line.rfind('-', end);
    if (end == std::string::npos || dash == std::string::npos) continue;
    if (!tids.count(static_cast<uint32_t>(std::atoi(line.substr(dash + 1, end - dash).c_str())))) continue;
    auto colon = line.find(": ", bracket);
    if (colon == std::string::npos) continue;
    auto start = line.find_first_not_of(' ', colon + 2);
    auto name_end = line.find(':', start);
    if (start == std::string::npos || name_end == std::string::npos) continue;
    ++out["kvm:" + line.substr(start, name_end - start)];
  }
  return out;
}

// Samples per event name of these threads, as our reader delivers them.
class ThreadCounts : public recording::EventSink {
 public:
  explicit ThreadCounts(std::set<uint32_t> tids) : tids_(std::move(tids)) {}
  Result<void> OnSessionReady(const recording::SessionInfo& info) override {
    for (const auto& a : info.attrs) names_.push_back(a.name);
    return {};
  }
  void OnEvent(const perfdata::Event& e) override {
    if (e.type == perfdata::kRecordSample && tids_.count(e.tid)) ++counts[names_[static_cast<size_t>(e.attr_index)]];
  }
  std::map<std::string, uint64_t> counts;

 private:
  std::set<uint32_t> tids_;
  std::vector<std::string> names_;
};

class TraceDatLive : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) { skip_ = "needs root (tracefs instances)"; return; }
    if (::access("/dev/kvm", R_OK | W_OK) != 0) { skip_ = "needs /dev/kvm"; return; }
    if (RunCommand("trace-cmd --version").out.find("trace-cmd version") == std::string::npos &&
        RunCommand("trace-cmd --version 2>&1").out.find("version") == std::string::npos) {
      skip_ = "needs trace-cmd";
      return;
    }
    Instance instance("exitprof_tracedat_" + std::to_string(::getpid()));
    if (!instance.ok()) { skip_ = "cannot make a tracefs instance with kvm events here"; return; }
    dir_ = TempPath("tracedat-live");
    ::mkdir(dir_.c_str(), 0755);
    const std::string inst = "/sys/kernel/tracing/instances/" + instance.name();
    CommandResult guest;
    for (int attempt = 1;; ++attempt) {
      ::close(::open((inst + "/trace").c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));  // empties the buffer: a rerun starts clean
      WriteFile(inst + "/tracing_on", "1");
      guest = RunCommand(BinaryDir() + "/exitprof-guest --pio 0x3f8:1:w --mmio 0xd0000:4:r --iterations 1000 --vcpus 2 --json " + dir_ +
                         "/account.json");
      WriteFile(inst + "/tracing_on", "0");
      if (!RerunAfterKvmError("TraceDatLive's guest", GuestAccountError(dir_ + "/account.json"), attempt)) break;
    }
    if (guest.status != 0) { skip_ = "exitprof-guest failed: " + guest.err; return; }
    auto extract = RunCommand("trace-cmd extract -B " + instance.name() + " -o " + dir_ + "/v7zstd.dat");
    if (extract.status != 0) { skip_ = "trace-cmd extract failed: " + extract.err; return; }
    RunCommand("trace-cmd convert -i " + dir_ + "/v7zstd.dat -o " + dir_ + "/v6.dat --file-version 6");
    RunCommand("trace-cmd convert -i " + dir_ + "/v7zstd.dat -o " + dir_ + "/v7none.dat --compression none");
    std::ifstream in(dir_ + "/account.json");
    account_ = nlohmann::json::parse(in, nullptr, false);
  }
  void SetUp() override {
    if (!skip_.empty()) EXITPROF_LIVE_SKIP(skip_);
  }
  static inline std::string skip_, dir_;
  static inline nlohmann::json account_;
};

TEST_F(TraceDatLive, CountsEqualTheGuestAndTraceCmdInEveryVersion) {
  uint64_t pio = 0, mmio = 0, io_exits = 0, mmio_exits = 0, done = 0;
  for (const auto& vm : account_["vms"]) {
    for (const auto& v : vm["vcpus"]) {
      for (const auto& p : v["pio"]) pio += p["count"].get<uint64_t>();
      for (const auto& m : v["mmio"]) mmio += m["count"].get<uint64_t>();
      io_exits += v["userspace_exits"]["KVM_EXIT_IO"].get<uint64_t>();
      mmio_exits += v["userspace_exits"]["KVM_EXIT_MMIO"].get<uint64_t>();
      done += v["done"]["count"].get<uint64_t>();
    }
  }
  ASSERT_EQ(pio, 2000u);
  std::set<uint32_t> tids;
  for (const auto& vm : account_["vms"]) {
    for (const auto& v : vm["vcpus"]) tids.insert(v["tid"].get<uint32_t>());
  }
  for (const char* name : {"v7zstd.dat", "v6.dat", "v7none.dat"}) {
    const std::string path = dir_ + "/" + name;
    ASSERT_TRUE(FileExists(path)) << path;
    auto reader = tracedat::Reader::Open(path);
    ASSERT_TRUE(reader) << reader.error().message;
    ThreadCounts sink(tids);
    auto read = (*reader)->Run(sink);
    ASSERT_TRUE(read) << read.error().message;
    auto& counts = sink.counts;
    // Each read is a kvm_mmio "read" plus an "unsatisfied-read" before the exit to userspace.
    EXPECT_EQ(counts["kvm:kvm_pio"], pio + done) << name;
    EXPECT_EQ(counts["kvm:kvm_mmio"], 2 * mmio) << name;
    EXPECT_EQ(counts["kvm:kvm_userspace_exit"], io_exits + mmio_exits) << name;
    auto tc = RunCommand("trace-cmd report " + path);
    ASSERT_EQ(tc.status, 0) << tc.err;
    EXPECT_EQ(TraceCmdCounts(tc.out, tids), counts) << name;
    EXPECT_EQ(read->damaged_records, 0u) << name;
    ASSERT_FALSE((*reader)->file().buffers.empty());
    EXPECT_FALSE((*reader)->read_info().in_ticks);  // the local clock: nanoseconds
  }
}

// trace.dat keeps thread names but no process ids: every vCPU thread stands for its process,
// so the report cannot count VMs and says so instead of giving the thread count as VMs.
TEST_F(TraceDatLive, VmCountSaysProcessesAreUnknown) {
  const std::string path = dir_ + "/v6.dat";
  auto text = RunCommand(Exitprof() + " report -i " + path);
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("  VMs: unknown ("), std::string::npos) << text.out.substr(0, 600);
  EXPECT_NE(text.out.find(" threads, no process ids)"), std::string::npos) << text.out.substr(0, 600);
  EXPECT_NE(text.out.find("# trace.dat gives threads, not their processes"), std::string::npos) << text.out.substr(0, 600);
  auto json = nlohmann::json::parse(RunCommand(Exitprof() + " report -i " + path + " --format json").out);
  EXPECT_EQ(json["file"]["processes_unknown"], true);
}

// `exitprof script` prints a trace.dat exactly as `trace-cmd report` does.
TEST_F(TraceDatLive, ScriptEqualsTraceCmdReportByteForByte) {
  for (const char* name : {"v7zstd.dat", "v6.dat", "v7none.dat"}) {
    const std::string path = dir_ + "/" + name;
    auto want = RunCommand("trace-cmd report " + path);
    auto got = RunCommand(Exitprof() + " script -i " + path);
    ASSERT_EQ(got.status, 0) << got.err;
    // At least the guest's 2000 port writes and 2000 MMIO reads (their kvm_mmio lines twice).
    EXPECT_GT(std::count(got.out.begin(), got.out.end(), '\n'), 4000) << name;
    EXPECT_TRUE(SameLines(want.out, got.out)) << name;
  }
  // --ns prints whole nanoseconds, as `trace-cmd report -t` does.
  const std::string path = dir_ + "/v6.dat";
  auto want = RunCommand("trace-cmd report -t " + path);
  auto got = RunCommand(Exitprof() + " script --ns -i " + path);
  ASSERT_EQ(got.status, 0) << got.err;
  EXPECT_TRUE(SameLines(want.out, got.out));
}

// A page whose header claims more data than a page holds is skipped and counted; the other
// pages still read.
TEST_F(TraceDatLive, DamagedPageIsCountedAndSkipped) {
  const std::string path = dir_ + "/v6.dat";
  auto clean = tracedat::Reader::Open(path);
  ASSERT_TRUE(clean) << clean.error().message;
  const auto& cpu = (*clean)->file().buffers.at(1).cpus.at(0);  // the instance buffer's CPU 0
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  uint32_t bad = 0xffff;
  std::memcpy(bytes.data() + cpu.offset + 8, &bad, 4);  // the first page's commit
  const std::string damaged = TempPath("damaged-page.dat");
  std::ofstream(damaged, std::ios::binary) << bytes;
  auto a = ReadTraceDatReport(path), b = ReadTraceDatReport(damaged);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(b->stats.damaged_records, 1u);
  EXPECT_EQ(b->read_info.dropped_pages, 1u);
  EXPECT_LT(b->model.samples, a->model.samples);
  EXPECT_GT(b->model.samples, 0u);
}

}  // namespace
}  // namespace exitprof::testing
