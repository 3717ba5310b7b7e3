// Usage mistakes as a perf user makes them: every numeric option of every command refuses a
// number it cannot mean (0 seconds, -1 rows, a percentage above 100) with one line and exit
// status 2, before anything is opened or recorded; an unknown command is named as such.
#include <gtest/gtest.h>
#include <unistd.h>

#include "test_support.h"

namespace exitprof::testing {
namespace {

struct BadNumber {
  const char* args;   // after "exitprof "
  const char* names;  // what the one line must name
};

class BadNumbers : public ::testing::TestWithParam<BadNumber> {};

TEST_P(BadNumbers, AreOneLineUsageErrors) {
  const BadNumber& b = GetParam();
  // The demo recording is there so that a command that wrongly accepts the number has
  // something to read; record and top would record (bounded by timeout, and failing the test).
  std::string demo = SourceDir() + "/data/demo-vmx.perf.data";
  std::string args = b.args;
  for (size_t p; (p = args.find("DEMO")) != std::string::npos;) args.replace(p, 4, demo);
  auto r = RunCommand("timeout 10 " + Exitprof() + " " + args + " </dev/null");
  EXPECT_EQ(r.status, 2) << args << "\n" << r.out << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(b.names), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out.substr(0, 200);
}

INSTANTIATE_TEST_SUITE_P(
    EveryNumericOption, BadNumbers,
    ::testing::Values(
        // record
        BadNumber{"record --duration 0 -o /dev/null -a", "--duration"},
        BadNumber{"record --duration -1 -o /dev/null -a", "--duration"},
        BadNumber{"record -m 0 -o /dev/null -a --duration 1", "--mmap-pages"},
        BadNumber{"record -m -1 -o /dev/null -a --duration 1", "--mmap-pages"},
        BadNumber{"record -p -1 -o /dev/null --duration 1", "--pid"},
        BadNumber{"record -p 0 -o /dev/null --duration 1", "--pid"},
        BadNumber{"record --aggregate --interval 0 -a --duration 1", "--interval"},
        // report
        BadNumber{"report -i DEMO --top -1", "--top"},
        BadNumber{"report -i DEMO --top x", "--top"},
        BadNumber{"report -i DEMO --pid -1", "--pid"},
        BadNumber{"report -i DEMO --vcpu -1", "--vcpu"},
        BadNumber{"report -i DEMO --callgraph --percent-limit -1", "--percent-limit"},
        BadNumber{"report -i DEMO --callgraph --percent-limit 101", "--percent-limit"},
        BadNumber{"report -i DEMO --callgraph --max-stack 0", "--max-stack"},
        BadNumber{"report -i DEMO --callgraph --max-stack -1", "--max-stack"},
        BadNumber{"report -i DEMO --timeline 0ms", "--timeline"},
        // diff
        BadNumber{"diff DEMO DEMO --top -1", "--top"},
        // demo
        BadNumber{"demo --iterations 0", "--iterations"},
        BadNumber{"demo --iterations -1", "--iterations"},
        BadNumber{"demo --vcpus 0", "--vcpus"},
        BadNumber{"demo --vms -1", "--vms"},
        // top
        BadNumber{"top -n -1", "--iterations"},
        BadNumber{"top --top -1 -n 1", "--top"},
        BadNumber{"top -s 0 -n 1", "--interval"},
        BadNumber{"top -p -1 -n 1", "--pid"},
        // stat
        BadNumber{"stat -n -1", "--iterations"},
        BadNumber{"stat -s 0 -1", "--set-delay"},
        BadNumber{"stat -p -1 -1", "--pid"}),
    [](const auto& info) { return "case" + std::to_string(info.index); });

TEST(Usage, UnknownCommandIsNamedWithTheClosest) {
  auto r = RunCommand(Exitprof() + " reprot -i x.data");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "exitprof: unknown command 'reprot'; did you mean 'report'? (exitprof --help lists the commands)\n");
  r = RunCommand(Exitprof() + " frobnicate");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "exitprof: unknown command 'frobnicate' (exitprof --help lists the commands)\n");
  // No command at all is still the parser's own complaint.
  r = RunCommand(Exitprof());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("A subcommand is required"), std::string::npos) << r.err;
}

TEST(Usage, HelpListsEveryTableAndFormat) {
  auto r = RunCommand(Exitprof() + " report --help");
  for (const char* table : {"reason", "latency", "vm", "vcpu", "rip", "pio", "mmio", "msr", "userspace", "timeline",
                            "injected", "device", "sym"}) {
    EXPECT_NE(r.out.find(std::string(table) + ","), std::string::npos) << table;  // in the comma list
  }
  EXPECT_NE(r.out.find("text, json, csv, or folded"), std::string::npos) << r.out;
}

// Argument mistakes come before the host is examined: the same usage error with or without
// /dev/kvm (hidden here by a private /dev in a mount namespace).
TEST(Usage, StatChecksArgumentsBeforeTheHost) {
  if (::geteuid() != 0 || RunCommand("command -v unshare").status != 0) GTEST_SKIP() << "needs root and unshare";
  const std::string no_kvm = "unshare -m sh -c 'mount -t tmpfs none /dev && exec " + Exitprof() + " ";
  auto bpf = RunCommand(no_kvm + "stat --bpf -1'");
  EXPECT_EQ(bpf.status, 2) << bpf.err;
  EXPECT_NE(bpf.err.find("--bpf counts kvm tracepoints in the kernel: use it with -t"), std::string::npos) << bpf.err;
  auto regex = RunCommand(no_kvm + "stat -t -1 -f \"(\"'");
  EXPECT_EQ(regex.status, 2) << regex.err;
  EXPECT_NE(regex.err.find("-f '(': not a valid regular expression"), std::string::npos) << regex.err;
  // Good arguments on a host without KVM: the environment's error, exit 1.
  auto fine = RunCommand(no_kvm + "stat -1'");
  EXPECT_EQ(fine.status, 1) << fine.err;
  EXPECT_NE(fine.err.find("no /dev/kvm"), std::string::npos) << fine.err;
  // demo says what to run instead.
  auto demo = RunCommand(no_kvm + "demo'");
  EXPECT_EQ(demo.status, 1) << demo.err;
  EXPECT_NE(demo.err.find("exitprof report -i " + SourceDir() + "/data/demo-vmx.perf.data"), std::string::npos) << demo.err;
}

}  // namespace
}  // namespace exitprof::testing
