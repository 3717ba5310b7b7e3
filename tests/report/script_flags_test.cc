// exitprof script with perf script's flags (-F, --time, -C, --pid, --tid, --comm, --header,
// --reltime): the same bytes as perf script with the same flags, on both fixtures.
#include <gtest/gtest.h>

#include <algorithm>

#include "test_support.h"

namespace exitprof::testing {
namespace {

std::string Fixture(const std::string& name) { return SharedDir() + "/fixtures/" + name; }

class ScriptFlags : public ::testing::TestWithParam<std::string> {};

TEST_P(ScriptFlags, ByteIdenticalToPerfScript) {
  if (!HavePerf()) GTEST_SKIP() << "needs perf (Debian linux-perf)";
  const std::string path = Fixture(GetParam());
  if (!FileExists(path)) GTEST_SKIP() << "needs " << path;
  const char* flag_sets[] = {
      "-F comm,tid,pid,cpu,time,event,trace",
      "-F tid,time,trace",
      "-F pid",
      "-F cpu,comm",
      "-F event,trace,time",
      "-F +pid",
      "-F -cpu,-comm",
      "-F trace:comm,tid,trace",
      "--time 45000.13,45000.131",
      "--time ,45000.123470",
      "--reltime",
      "--reltime --time 0.01,0.011",
      "--reltime --time ,0.01",
      "--reltime --time 0.01,",  // perf adds the first sample's time to the empty end too: nothing
      "-C 3,5-6",
      "--cpu 0-15 --pid 41095,10061",
      "--tid 41103,17308",
      "--comm 'CPU 1/KVM,CPU 2/KVM'",
      "--comm 'CPU 1/KVM' --tid 41103,17308",
      "--header",
      "--header -F tid,time --reltime --ns",
  };
  for (const char* flags : flag_sets) {
    auto perf = RunCommand("perf script -i " + path + " " + flags + " 2>/dev/null");
    auto ours = RunCommand(Exitprof() + " script -i " + path + " " + flags);
    ASSERT_EQ(ours.status, 0) << flags << ": " << ours.err;
    EXPECT_TRUE(SameLines(perf.out, ours.out)) << flags;
    EXPECT_EQ(perf.out.size(), ours.out.size()) << flags;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ScriptFlags, ::testing::Values("small-vmx.data", "small-svm.data"));

TEST(ScriptFlags, TheDemoRecordingsHeaderAsPerfPrintsIt) {
  if (!HavePerf()) GTEST_SKIP() << "needs perf (Debian linux-perf)";
  const std::string demo = SourceDir() + "/data/demo-vmx.perf.data";
  auto perf = RunCommand("perf script -i " + demo + " --header -F comm 2>/dev/null | head -40");
  auto ours = RunCommand(Exitprof() + " script -i " + demo + " --header -F comm | head -40");
  EXPECT_EQ(perf.out, ours.out);
}

TEST(ScriptFlags, BadFlagsAreOneLineAndStatus2) {
  const std::string path = Fixture("small-vmx.data");
  for (std::string flags : {"-F ip", "-F hw:comm", "-F +pid,cpu", "-C 3-1", "--pid x", "--tid 1-2", "--time 5"}) {
    auto r = RunCommand(Exitprof() + " script -i " + path + " " + flags);
    EXPECT_EQ(r.status, 2) << flags;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << flags << ": " << r.err;
    EXPECT_EQ(r.out, "") << flags;
  }
}

}  // namespace
}  // namespace exitprof::testing
