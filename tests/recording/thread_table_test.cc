// The one thread table (recording/thread_table.h): names from COMM, FORK and EXIT as perf's
// thread model gives them, the same in every sink. Over real perf 3.x/4.x recordings, the
// call-graph sink's thread frames (folded stacks) carry exactly the names `perf script` gives
// each sample, threads named only by their FORK included; a session shares one table.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "analysis/exit_stats.h"
#include "callgraph/stack_sink.h"
#include "perfdata/abi.h"
#include "recording/session.h"
#include "recording/thread_table.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

using perfdata::Event;
using recording::ThreadTable;

Event Comm(uint32_t pid, uint32_t tid, const char* comm, uint64_t time) {
  Event e;
  e.type = perfdata::kRecordComm;
  e.pid = pid;
  e.tid = tid;
  e.comm = comm;
  e.time = time;
  return e;
}

Event Task(uint32_t type, uint32_t pid, uint32_t tid, uint32_t ptid, uint64_t time) {
  Event e;
  e.type = type;
  e.pid = pid;
  e.tid = tid;
  e.ppid = pid;
  e.ptid = ptid;
  e.time = time;
  return e;
}

TEST(ThreadTableTest, ForkInheritsExecRenamesExitFreesTheTid) {
  ThreadTable t;
  EXPECT_TRUE(t.Apply(Comm(100, 100, "qemu-system-x86", 10)));
  EXPECT_TRUE(t.Apply(Task(perfdata::kRecordFork, 100, 101, 100, 20)));
  ASSERT_NE(t.Find(101), nullptr);
  EXPECT_EQ(t.Find(101)->comm, "qemu-system-x86");
  EXPECT_EQ(t.Find(101)->pid, 100u);
  EXPECT_TRUE(t.Apply(Comm(100, 101, "CPU 0/KVM", 30)));  // the thread names itself
  EXPECT_EQ(*t.CommOf(101), "CPU 0/KVM");
  EXPECT_EQ(*t.CommOf(100), "qemu-system-x86");
  // The thread ends; a new one of another process gets its tid and its parent's name.
  EXPECT_TRUE(t.Apply(Comm(1, 1, "systemd", 5)));
  EXPECT_TRUE(t.Apply(Task(perfdata::kRecordExit, 100, 101, 100, 40)));
  EXPECT_TRUE(t.Find(101)->exited);
  EXPECT_TRUE(t.Apply(Task(perfdata::kRecordFork, 101, 101, 1, 50)));
  EXPECT_EQ(*t.CommOf(101), "systemd");
  EXPECT_EQ(t.Find(101)->pid, 101u);
  EXPECT_FALSE(t.Find(101)->exited);
  // Other records change nothing.
  Event sample;
  sample.type = perfdata::kRecordSample;
  sample.tid = 7;
  EXPECT_FALSE(t.Apply(sample));
  EXPECT_EQ(t.CommOf(7), nullptr);
  EXPECT_EQ(t.PerfComm(7), ":7");
  EXPECT_EQ(t.PerfComm(0), "swapper");
}

TEST(ThreadTableTest, FileOrderKeepsAChildsNewerName) {
  // report reads in file order: the child's exec COMM (written on its CPU) may come before the
  // FORK that created it (written on the parent's). The newer name stays.
  ThreadTable t;
  t.Apply(Comm(200, 200, "bash", 10));
  t.Apply(Comm(201, 201, "qemu-system-x86", 30));
  t.Apply(Task(perfdata::kRecordFork, 201, 201, 200, 20));
  EXPECT_EQ(*t.CommOf(201), "qemu-system-x86");
  // Time order: the FORK first, then the exec: the same name.
  ThreadTable ordered;
  ordered.Apply(Comm(200, 200, "bash", 10));
  ordered.Apply(Task(perfdata::kRecordFork, 201, 201, 200, 20));
  EXPECT_EQ(*ordered.CommOf(201), "bash");
  ordered.Apply(Comm(201, 201, "qemu-system-x86", 30));
  EXPECT_EQ(*ordered.CommOf(201), "qemu-system-x86");
}

// A host whose CPUs' clocks disagree (the lab: TSC marked unstable under QEMU TCG) can stamp a
// vCPU thread's own COMM before the FORK that created it; its own name in the same process stays.
TEST(ThreadTableTest, OwnNameStaysWhenClocksPutItBeforeTheFork) {
  recording::ThreadTable t;
  t.Apply(Comm(300, 300, "exitprof-guest", 10));
  t.Apply(Task(perfdata::kRecordFork, 300, 301, 300, 25));
  t.Apply(Comm(300, 301, "CPU 0/KVM", 20));  // file order: after the fork; clock: before it
  EXPECT_EQ(*t.CommOf(301), "CPU 0/KVM");
  recording::ThreadTable file_order;  // the COMM read first, then the fork stamped later
  file_order.Apply(Comm(300, 300, "exitprof-guest", 10));
  file_order.Apply(Comm(300, 301, "CPU 0/KVM", 20));
  file_order.Apply(Task(perfdata::kRecordFork, 300, 301, 300, 25));
  EXPECT_EQ(*file_order.CommOf(301), "CPU 0/KVM");
  // A tid reused by another process without an EXIT record starts with its parent's name.
  file_order.Apply(Task(perfdata::kRecordFork, 400, 301, 300, 90));
  EXPECT_EQ(*file_order.CommOf(301), "exitprof-guest");
}

TEST(ThreadTableTest, ReplayedRecordsEqualLiveOnes) {
  // A parallel read's part keeps copies of its thread records and replays them at the merge.
  ThreadTable live, replayed;
  std::vector<ThreadTable::Record> kept;
  for (const Event& e : {Comm(10, 10, "vmm", 1), Task(perfdata::kRecordFork, 10, 11, 10, 2)}) {
    live.Apply(e);
    kept.push_back(ThreadTable::Copy(e));
  }
  for (const auto& r : kept) replayed.Apply(r);
  EXPECT_EQ(*replayed.CommOf(11), "vmm");
  EXPECT_EQ(*live.CommOf(11), "vmm");
}

// `perf script -F comm,tid`: how many samples each thread name has.
std::map<std::string, uint64_t> PerfSamplesByComm(const std::string& path) {
  auto perf = RunCommand("perf script -F comm,tid -i " + path + " 2>/dev/null");
  std::map<std::string, uint64_t> out;
  std::istringstream in(perf.out);
  std::string l;
  std::smatch m;
  static const std::regex line(R"(^ *(\S.*?) +(-?\d+) *$)");
  while (std::getline(in, l)) {
    if (std::regex_search(l, m, line)) ++out[m[1].str()];
  }
  return out;
}

std::map<std::string, uint64_t> RootNames(const callgraph::CallTree& tree) {
  std::map<std::string, uint64_t> out;
  for (const auto& child : tree.callers_root().children) out[child->name] += child->total;
  return out;
}

class StackSinkThreadNames : public ::testing::TestWithParam<const char*> {};

// The call-graph sink once named threads from COMM alone: a thread named only by its FORK (its
// parent's name) was a bare tid in folded stacks. Every sample's thread frame must be the name
// perf gives it.
TEST_P(StackSinkThreadNames, FoldedThreadFramesEqualPerfScript) {
  const std::string path = SharedDir() + "/realdata/perf/" + GetParam();
  if (!FileExists(path) || !HavePerf()) GTEST_SKIP() << "needs perf and " << path;
  auto reader = perfdata::Reader::Open(path);
  ASSERT_TRUE(reader) << reader.error().message;
  callgraph::StackOptions options;
  options.comm_root = true;
  callgraph::StackSink alone(options, "");
  ASSERT_TRUE((*reader)->Run(alone));
  EXPECT_EQ(RootNames(alone.tree()), PerfSamplesByComm(path));

  // The same through a session holding the one table for two sinks.
  auto again = perfdata::Reader::Open(path);
  ASSERT_TRUE(again) << again.error().message;
  callgraph::StackSink shared(options, "");
  analysis::ExitStats stats({});
  recording::Session session;
  session.Add(shared);
  session.Add(stats);
  ASSERT_TRUE((*again)->Run(session));
  EXPECT_EQ(RootNames(shared.tree()), RootNames(alone.tree()));
  EXPECT_GT(session.threads().size(), 0u);
  EXPECT_EQ(&stats.threads(), &session.threads());
}

INSTANTIATE_TEST_SUITE_P(Perf3And4, StackSinkThreadNames,
                         ::testing::Values("perf-4.4-kvm-record-taiwan.data", "quipper-perf.data.callgraph-3.8",
                                           "quipper-perf.data.lost_samples-4.4", "quipper-perf.data.piped.target-3.4",
                                           "quipper-perf.data.raw-3.4"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n) if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace exitprof::testing
