// Options that cannot apply together (issue 15): each is refused with one line that names both,
// exit status 2 and nothing on stdout, before anything is read or recorded; none is ignored.
// And the report's filters (-p, --time, --reason, --vcpu) apply to --callgraph too.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include <fmt/format.h>

#include "test_support.h"

namespace exitprof::testing {
namespace {

std::string Demo() { return SourceDir() + "/data/demo-vmx.perf.data"; }

struct Together {
  const char* args;                // after "exitprof "; DEMO is the bundled recording
  const char* first, * second;     // what the one line must name
};

class CannotApplyTogether : public ::testing::TestWithParam<Together> {};

TEST_P(CannotApplyTogether, IsOneLineUsageError) {
  const Together& t = GetParam();
  std::string args = t.args;
  for (size_t p; (p = args.find("DEMO")) != std::string::npos;) args.replace(p, 4, Demo());
  auto r = RunCommand("timeout 10 " + Exitprof() + " " + args + " </dev/null");
  EXPECT_EQ(r.status, 2) << args << "\n" << r.out.substr(0, 300) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(t.first), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(t.second), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out.substr(0, 200);
}

INSTANTIATE_TEST_SUITE_P(
    Report, CannotApplyTogether,
    ::testing::Values(
        // The four of issue 15.
        Together{"report -i DEMO --callgraph --latency --format json", "--format json", "--callgraph"},
        Together{"report -i DEMO --format csv --flamegraph /tmp/exitprof-never.svg", "--format csv", "--flamegraph"},
        Together{"report --text DEMO -i DEMO", "--text", "-i"},
        Together{"report -i DEMO --format folded --by vcpu", "--by", "--format folded"},
        // Exit-table options with call graphs, and call-graph options without them.
        Together{"report -i DEMO --callgraph --latency", "--latency", "--callgraph"},
        Together{"report -i DEMO --callgraph --top 3", "--top", "--callgraph"},
        Together{"report -i DEMO --callgraph --explain", "--explain", "--callgraph"},
        Together{"report -i DEMO --flamegraph /tmp/exitprof-never.svg --kallsyms /dev/null", "--kallsyms", "--flamegraph"},
        Together{"report -i DEMO --children", "--children", "--callgraph"},
        Together{"report -i DEMO --max-stack 8", "--max-stack", "--callgraph"},
        Together{"report -i DEMO --format folded --caller", "--caller", "--format folded"},
        // Exit tables.
        Together{"report -i DEMO --qmp /nonexistent.sock --device-map /nonexistent.json", "--qmp", "--device-map"},
        Together{"report -i DEMO --kaslr-offset 0x1000", "--kaslr-offset", "--kallsyms"},
        Together{"report -i DEMO --kallsyms /dev/null --inline", "--inline", "--vmlinux"},
        Together{"report -i DEMO --vmlinux /dev/null --inline --format csv", "--inline", "--format csv"},
        Together{"report -i DEMO -k max", "-k", "--latency"},
        Together{"report -i DEMO --explain --format csv", "--explain", "--format csv"},
        Together{"report -i DEMO --timeline --format csv", "--timeline", "--by timeline"},
        // Tables that need a flag to be filled.
        Together{"report -i DEMO --by reason,latency", "--by latency", "--latency"},
        Together{"report -i DEMO --format csv --by timeline", "--by timeline", "--timeline"},
        // A table computed but left out of --by.
        Together{"report -i DEMO --timeline --by vcpu,vm", "--timeline", "--by vcpu,vm"},
        Together{"report -i DEMO --latency --by reason", "--latency", "--by reason"}));

INSTANTIATE_TEST_SUITE_P(
    OtherCommands, CannotApplyTogether,
    ::testing::Values(Together{"diff DEMO DEMO --kaslr-offset 0x1000", "--kaslr-offset", "--kallsyms"},
                      Together{"diff DEMO DEMO --format json --top 3", "--top", "--format json"},
                      Together{"top --once -n 2", "--once", "-n"},
                      Together{"script -i DEMO --perf-layout", "--perf-layout", "trace.dat"},
                      Together{"record -p 1 -o /dev/null -- true", "-p", "command"},
                      Together{"record -x /bin/true -o /dev/null --duration 1", "-x", "--add-probe"},
                      Together{"record -g --call-graph dwarf -o /dev/null --duration 1", "-g", "--call-graph"},
                      Together{"record --aggregate -m 8 --duration 1", "-m", "--aggregate"},
                      Together{"stat --json -l", "--json", "-l"},
                      Together{"stat -c", "-c", "-l"},
                      Together{"stat --once -n 2", "--once", "-n"},
                      Together{"stat -d --source qmp", "-d", "--source qmp"},
                      Together{"stat -t --qmp /nonexistent.sock", "--qmp", "-t"}));

// "# Samples: N of event ..." of `report --callgraph`.
uint64_t CallgraphSamples(const std::string& args) {
  auto r = RunCommand(Exitprof() + " report -i " + Demo() + " --callgraph " + args);
  EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
  std::smatch m;
  static const std::regex samples("# Samples: ([0-9]+) ");
  if (!std::regex_search(r.out, m, samples)) {
    ADD_FAILURE() << "no sample count in: " << r.out.substr(0, 300);
    return 0;
  }
  return std::stoull(m[1]);
}

nlohmann::json ReportJson(const std::string& args) {
  auto r = RunCommand(Exitprof() + " report -i " + Demo() + " --format json " + args);
  EXPECT_EQ(r.status, 0) << args << "\n" << r.err;
  return nlohmann::json::parse(r.out, nullptr, false);
}

// Samples the exit report read after its filters, every event together.
uint64_t EventSamples(const nlohmann::json& j) { return j["samples"].get<uint64_t>(); }

TEST(CallgraphFilters, KeepWhatTheExitReportKeeps) {
  const nlohmann::json all = ReportJson("");
  ASSERT_FALSE(all.is_discarded());
  const uint64_t total = CallgraphSamples("");
  EXPECT_EQ(total, EventSamples(all));

  // --reason: the call graph of those exits only, as many as the exit report counts.
  const auto& reasons = all["exits"]["by_reason"];
  ASSERT_GE(reasons.size(), 2u);
  const std::string reason = reasons[1]["reason"];
  const uint64_t count = reasons[1]["count"];
  EXPECT_EQ(CallgraphSamples("--reason " + reason), count);
  EXPECT_EQ(CallgraphSamples("--reason " + reason + " --reason " + reasons[0]["reason"].get<std::string>()),
            count + reasons[0]["count"].get<uint64_t>());

  // -p: one VM's samples.
  const auto& vms = all["exits"]["by_vm"];
  ASSERT_GE(vms.size(), 2u);
  const std::string pid = std::to_string(vms[0]["pid"].get<uint32_t>());
  const uint64_t of_pid = EventSamples(ReportJson("-p " + pid));
  EXPECT_LT(of_pid, total);
  EXPECT_EQ(CallgraphSamples("-p " + pid), of_pid);

  // --time: the first half of the recording.
  const uint64_t mid = (all["time"]["first_ns"].get<uint64_t>() + all["time"]["last_ns"].get<uint64_t>()) / 2;
  const std::string half = "--time ," + std::to_string(mid / 1000000000) + "." + fmt::format("{:09}", mid % 1000000000);
  const uint64_t in_half = EventSamples(ReportJson(half));
  EXPECT_GT(in_half, 0u);
  EXPECT_LT(in_half, total);
  EXPECT_EQ(CallgraphSamples(half), in_half);

  // --vcpu: the exits of vCPU 0, from every VM.
  uint64_t vcpu0 = 0;
  for (const auto& v : all["exits"]["by_vcpu"]) {
    if (v["vcpu"] == 0) vcpu0 += v["count"].get<uint64_t>();
  }
  EXPECT_GT(vcpu0, 0u);
  EXPECT_EQ(CallgraphSamples("--vcpu 0"), vcpu0);
}

TEST(CallgraphFilters, NothingKeptSaysSo) {
  auto r = RunCommand(Exitprof() + " report -i " + Demo() + " --callgraph --reason NO_SUCH_REASON");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("has no samples that the filters keep"), std::string::npos) << r.err;
}

// An empty report says why: the filters kept nothing, in the text, the JSON and (CSV) on stderr.
TEST(EmptyReport, SaysTheFiltersKeptNothing) {
  auto text = RunCommand(Exitprof() + " report -i " + Demo() + " --reason NO_SUCH_REASON");
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("# no exit matches --reason NO_SUCH_REASON"), std::string::npos) << text.out.substr(0, 800);
  auto json = ReportJson("--vcpu 999");
  ASSERT_TRUE(json.contains("notes")) << json.dump().substr(0, 300);
  EXPECT_EQ(json["notes"].back(), "no exit matches --vcpu 999: the report without them lists the reasons and vCPUs there are");
  auto csv = RunCommand(Exitprof() + " report -i " + Demo() + " --format csv -p 1");
  EXPECT_EQ(csv.status, 0) << csv.err;
  EXPECT_EQ(csv.err, "exitprof: note: the filters (-p 1) kept no event of " + Demo() + "\n");
  EXPECT_EQ(csv.out, "reason,count,percent,rate_per_s\n");
  // Where something is kept, no such note.
  auto kept = RunCommand(Exitprof() + " report -i " + Demo() + " --reason HLT");
  EXPECT_EQ(kept.out.find("no exit matches"), std::string::npos);
}

}  // namespace
}  // namespace exitprof::testing
