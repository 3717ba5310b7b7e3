// The whole last step of the workflow on a real program: a uprobe added with `exitprof probe -x`,
// recorded with --call-graph dwarf and with -g, reported as a call graph (f: 75.00% from a,
// 25.00% from b, both ways, as perf report shows for the dwarf file), folded stacks with exact
// counts, a flame graph with widths 3:1, and no probe left behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "test_support.h"

namespace exitprof::testing {
namespace {

class ProbeLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (tracefs uprobe_events, perf_event_open)";
    if (RunCommand("test -w /sys/kernel/tracing/uprobe_events || test -w /sys/kernel/debug/tracing/uprobe_events").status != 0 &&
        RunCommand("mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; test -w /sys/kernel/tracing/uprobe_events").status != 0) {
      GTEST_SKIP() << "needs uprobe events in tracefs (CONFIG_UPROBE_EVENTS)";
    }
    // The group perf and we derive is "probe_" + the binary's name: keep it "cgprog".
    std::string dir = TempPath("cg");
    RunCommand("mkdir -p " + dir);
    prog_ = dir + "/cgprog";
    auto cc = RunCommand("cc -g -O2 -fno-omit-frame-pointer -o " + prog_ + " " + SourceDir() + "/tests/probe/cgprog.c");
    ASSERT_EQ(cc.status, 0) << cc.err;
    RunCommand(Exitprof() + " probe -d 'probe_cgprog:*'");
  }
  void TearDown() override {
    if (!prog_.empty()) RunCommand(Exitprof() + " probe -d 'probe_cgprog:*'");
  }
  bool ProbeListed() { return RunCommand("grep -q probe_cgprog/ /sys/kernel/tracing/uprobe_events").status == 0; }
  std::string prog_;
};

void ExpectThreeToOne(const std::string& text) {
  EXPECT_NE(text.find("---f\n"), std::string::npos) << text;
  EXPECT_NE(text.find("|--75.00%--a\n"), std::string::npos) << text;
  EXPECT_NE(text.find(" --25.00%--b\n"), std::string::npos) << text;
}

TEST_F(ProbeLive, AddRecordReportRemove) {
  auto add = RunCommand(Exitprof() + " probe -x " + prog_ + " --add f");
  ASSERT_EQ(add.status, 0) << add.err;
  EXPECT_NE(add.out.find("probe_cgprog:f"), std::string::npos) << add.out;
  ASSERT_TRUE(ProbeListed());
  auto list = RunCommand(Exitprof() + " probe -l 'probe_cgprog:*'");
  EXPECT_NE(list.out.find("probe_cgprog:f"), std::string::npos) << list.out;

  std::string dwarf = TempPath("cg-dwarf.data"), fp = TempPath("cg-fp.data");
  auto r1 = RunCommand(Exitprof() + " record -m 1024 -e probe_cgprog:f --call-graph dwarf -o " + dwarf + " -- " + prog_);
  ASSERT_EQ(r1.status, 0) << r1.err;
  EXPECT_NE(r1.err.find("4000 samples"), std::string::npos) << r1.err;
  EXPECT_NE(r1.err.find("lost events: 0"), std::string::npos) << r1.err;
  auto r2 = RunCommand(Exitprof() + " record -e probe_cgprog:f -g -o " + fp + " -- " + prog_);
  ASSERT_EQ(r2.status, 0) << r2.err;

  auto del = RunCommand(Exitprof() + " probe -d 'probe_cgprog:*'");
  EXPECT_EQ(del.status, 0) << del.err;
  EXPECT_NE(del.out.find("Removed event: probe_cgprog:f"), std::string::npos) << del.out;
  EXPECT_FALSE(ProbeListed());

  // Both ways: DWARF unwinding, and frame pointers with the caller read from the stack top.
  for (const auto& file : {dwarf, fp}) {
    SCOPED_TRACE(file);
    auto cg = RunCommand(Exitprof() + " report -i " + file + " --callgraph");
    ASSERT_EQ(cg.status, 0) << cg.err;
    EXPECT_NE(cg.out.find("# Samples: 4000 of event 'probe_cgprog:f'"), std::string::npos) << cg.out;
    ExpectThreeToOne(cg.out);
    auto folded = RunCommand(Exitprof() + " report -i " + file + " --format folded");
    ASSERT_EQ(folded.status, 0) << folded.err;
    std::smatch m;
    std::string text = folded.out;
    EXPECT_TRUE(std::regex_search(text, m, std::regex("^cgprog;[^\\n]*;main;a;f 3000$", std::regex::multiline))) << text;
    EXPECT_TRUE(std::regex_search(text, m, std::regex("^cgprog;[^\\n]*;main;b;f 1000$", std::regex::multiline))) << text;
  }

  if (HavePerf()) {
    auto perf = RunCommand("perf report -i " + dwarf + " --no-children --stdio 2>/dev/null");
    ExpectThreeToOne(perf.out);
  }

  std::string svg = TempPath("cg.svg");
  auto fg = RunCommand(Exitprof() + " report -i " + dwarf + " --flamegraph " + svg);
  ASSERT_EQ(fg.status, 0) << fg.err;
  std::ifstream in(svg);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto width = [&](const std::string& name) {
    std::smatch w;
    EXPECT_TRUE(std::regex_search(body, w, std::regex("data-w=\"([0-9.e-]+)\"[^>]*data-name=\"" + name + "\""))) << name;
    return w.empty() ? 0.0 : std::stod(w[1]);
  };
  EXPECT_DOUBLE_EQ(width("a") / width("b"), 3.0);
}

TEST_F(ProbeLive, RecordAddsItsProbeAndRemovesIt) {
  std::string out = TempPath("cg-add.data");
  auto r = RunCommand(Exitprof() + " record --add-probe f -x " + prog_ + " -g -o " + out + " -- " + prog_);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("added probe probe_cgprog:f"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("4000 samples"), std::string::npos) << r.err;
  EXPECT_FALSE(ProbeListed()) << "record left its probe behind";
  auto cg = RunCommand(Exitprof() + " report -i " + out + " --callgraph");
  ExpectThreeToOne(cg.out);
}

TEST_F(ProbeLive, DefinitionsAreWhatPerfWrites) {
  if (!HavePerf()) GTEST_SKIP() << "needs perf (Debian package linux-perf)";
  for (std::string spec : {"f", "f x s:string", "f%return $retval", "myev=f+4 %di:u64", "grp:ev=f +8(%sp):x32 v=%ax",
                           "f $params", "f s", "f x:u8"}) {
    SCOPED_TRACE(spec);
    auto ours = RunCommand(Exitprof() + " probe -x " + prog_ + " -D '" + spec + "'");
    auto perf = RunCommand("perf probe -x " + prog_ + " -D '" + spec + "' 2>&1");
    EXPECT_EQ(ours.status, 0) << ours.err;
    EXPECT_EQ(ours.out, perf.out);
  }
}

}  // namespace
}  // namespace exitprof::testing
