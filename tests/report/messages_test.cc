// What report and diff say about their input, read as a perf user reads it: no made-up stacks,
// no "PVM" when nothing fired, a header that reads for stdin, one RIP string in every format,
// advice for HPET reads, synthetic recordings marked, and diffs of recordings of unequal spans
// that compare rates and say so.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <fstream>

#include "test_support.h"

namespace exitprof::testing {
namespace {

using nlohmann::json;

std::string Demo() { return SourceDir() + "/data/demo-vmx.perf.data"; }

// A recording written by exitprof-gen (tests/data/formats are a 6.1 kernel's kvm formats).
std::string Generate(const std::string& name, const std::string& args) {
  std::string path = TempPath(name);
  auto r = RunCommand(BinaryDir() + "/exitprof-gen --formats " + FormatsDir() + " -o " + path + " " + args);
  EXPECT_EQ(r.status, 0) << r.err;
  return path;
}

TEST(Messages, FoldedAndFlameGraphRefuseARecordingWithoutStacks) {
  auto folded = RunCommand(Exitprof() + " report -i " + Demo() + " --format folded");
  EXPECT_EQ(folded.status, 2);
  EXPECT_TRUE(folded.out.empty()) << folded.out.substr(0, 300);
  EXPECT_EQ(folded.err, "exitprof: " + Demo() +
                            ": no stacks in this recording: --format folded needs them (record with -g or --call-graph dwarf)\n");
  const std::string svg = TempPath("nostacks.svg");
  std::remove(svg.c_str());
  auto flame = RunCommand(Exitprof() + " report -i " + Demo() + " --flamegraph " + svg);
  EXPECT_EQ(flame.status, 2);
  EXPECT_NE(flame.err.find("no stacks in this recording: --flamegraph needs them"), std::string::npos) << flame.err;
  EXPECT_FALSE(FileExists(svg));
  // --callgraph keeps its header note.
  auto cg = RunCommand(Exitprof() + " report -i " + Demo() + " --callgraph");
  EXPECT_EQ(cg.status, 0) << cg.err;
  EXPECT_NE(cg.out.find("# no stacks in this recording"), std::string::npos);
}

TEST(Messages, NoKvmEventsIsNotCalledAPvmHost) {
  const std::string empty = Generate("no-events.data", "--exits 0");
  auto r = RunCommand(Exitprof() + " report -i " + empty);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("PVM"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("# No kvm events were recorded: the kvm tracepoints were enabled but none fired"), std::string::npos)
      << r.out;
}

TEST(Messages, StdinHeaderReads) {
  const std::string pipe = Generate("pipe.data", "--exits 100 --pipe");
  auto r = RunCommand(Exitprof() + " report -i - < " + pipe);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("# exitprof report: <stdin> (pipe mode, written by exitprof-gen, host kvm-host-01", 0), 0u)
      << r.out.substr(0, 200);
}

// One RIP string everywhere, as perf script prints kvm_exit's rip (0x%lx): a user RIP is not
// zero-padded in the text table and bare in CSV and JSON.
TEST(Messages, RipIsTheSameStringInTextCsvAndJson) {
  const std::string user_rip = "0x7f4c1e9b3c40";
  auto text = RunCommand(Exitprof() + " report -i " + Demo() + " --by rip --top 0");
  auto csv = RunCommand(Exitprof() + " report -i " + Demo() + " --by rip --top 0 --format csv");
  auto j = json::parse(RunCommand(Exitprof() + " report -i " + Demo() + " --top 0 --format json").out);
  EXPECT_NE(text.out.find("      " + user_rip + "\n"), std::string::npos) << text.out;  // right-aligned, unpadded
  EXPECT_EQ(text.out.find("0x00007f4c1e9b3c40"), std::string::npos);
  EXPECT_NE(csv.out.find("EXTERNAL_INTERRUPT," + user_rip + ","), std::string::npos) << csv.out;
  bool in_json = false;
  for (const auto& row : j["exits"]["by_rip"]) in_json |= row["rip"] == user_rip;
  EXPECT_TRUE(in_json);
  auto script = RunCommand(Exitprof() + " script -i " + Demo() + " | grep -c 'rip " + user_rip + " '");
  EXPECT_NE(script.out, "0\n");
}

// A guest reading the HPET counter for the time: the MMIO exits' advice names the clocksource
// to switch to. (The model as report builds it for a recording where EPT_MISCONFIG exits read
// 0xfed000f0, the HPET's main counter; our real-mode guest cannot reach that address.)
TEST(Messages, HpetReadsAdviseKvmClockOrTsc) {
  for (const char* reason : {"EPT_MISCONFIG", "npf", "KVM_EXIT_MMIO"}) {
    SCOPED_TRACE(reason);
    analysis::ReportModel m;
    m.has_kvm_exit = true;
    m.by_reason = {{reason, 900, 90.0, 0}, {"HLT", 100, 10.0, 0}};
    m.mmio = {{0xfed000f0, "read", 4, 900, "HPET", {}}};
    analysis::AddExplanations(m, 5);
    ASSERT_FALSE(m.explain.empty());
    EXPECT_EQ(m.explain[0].source, reason);
    EXPECT_NE(m.explain[0].remedy.find("Here: 0xfed000f0 (HPET) is the busiest address (900 accesses); the HPET: the guest "
                                       "reads it as its clocksource; switch the guest to kvm-clock or tsc"),
              std::string::npos)
        << m.explain[0].remedy;
  }
  // Another address: no clocksource advice.
  analysis::ReportModel other;
  other.by_reason = {{"EPT_MISCONFIG", 10, 100.0, 0}};
  other.mmio = {{0xfebc3818, "write", 4, 10, "", {}}};
  analysis::AddExplanations(other, 5);
  ASSERT_FALSE(other.explain.empty());
  EXPECT_EQ(other.explain[0].remedy.find("clocksource"), std::string::npos) << other.explain[0].remedy;
}

TEST(Messages, SyntheticRecordingsAreMarked) {
  for (std::string path : {Demo(), Generate("synthetic.data", "--exits 50")}) {
    SCOPED_TRACE(path);
    auto text = RunCommand(Exitprof() + " report -i " + path);
    EXPECT_NE(text.out.find("\n# synthetic: written by exitprof-gen"), std::string::npos) << text.out.substr(0, 400);
    auto j = json::parse(RunCommand(Exitprof() + " report -i " + path + " --format json").out);
    EXPECT_EQ(j["file"]["synthetic"], true);
    EXPECT_EQ(j["file"]["perf_version"], "exitprof-gen");
  }
  if (HavePerf()) {
    auto header = RunCommand("perf report -i " + Demo() + " --header-only");
    EXPECT_NE(header.out.find("# perf version : exitprof-gen"), std::string::npos) << header.out;
  }
}

// Two recordings of one workload, one six times longer: the counts differ sixfold, the rates do
// not. The diff compares the rates and says the spans differ.
TEST(Messages, DiffComparesRatesWhenSpansDiffer) {
  const std::string a = Generate("short.data", "--exits 5000 --seed 7"), b = Generate("long.data", "--exits 30000 --seed 7");
  auto d = json::parse(RunCommand(Exitprof() + " diff " + a + " " + b + " --format json").out);
  auto ra = json::parse(RunCommand(Exitprof() + " report -i " + a + " --format json").out);
  auto rb = json::parse(RunCommand(Exitprof() + " report -i " + b + " --format json").out);
  EXPECT_EQ(d["change_of"], "rate");
  const double ratio = rb["time"]["span_s"].get<double>() / ra["time"]["span_s"].get<double>();
  EXPECT_GT(ratio, 4.0);
  EXPECT_DOUBLE_EQ(d["span_ratio"].get<double>(), ratio);
  std::map<std::string, std::pair<double, double>> rates;
  for (const auto& row : ra["exits"]["by_reason"]) rates[row["reason"]].first = row["rate_per_s"];
  for (const auto& row : rb["exits"]["by_reason"]) rates[row["reason"]].second = row["rate_per_s"];
  size_t seen = 0;
  for (const auto& row : d["rows"]) {
    if (row["kind"] != "reason") continue;
    ++seen;
    const auto& [ar, br] = rates[row["key"]];
    EXPECT_DOUBLE_EQ(row["change"].get<double>(), br - ar) << row;
    EXPECT_DOUBLE_EQ(row["change_percent"].get<double>(), 100.0 * (br - ar) / ar) << row;
  }
  EXPECT_EQ(seen, rates.size());
  auto text = RunCommand(Exitprof() + " diff " + a + " " + b);
  EXPECT_NE(text.out.find(fmt::format("#   the spans differ {:.1f}x: counts are not comparable, changes are of the rates per second\n", ratio)),
            std::string::npos)
      << text.out.substr(0, 600);
  // Equal spans: no such line.
  auto same = RunCommand(Exitprof() + " diff " + a + " " + a);
  EXPECT_EQ(same.out.find("the spans differ"), std::string::npos);
}

}  // namespace
}  // namespace exitprof::testing
