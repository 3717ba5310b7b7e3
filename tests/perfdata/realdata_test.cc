// shared/realdata/perf: recordings by real perf 3.2-6.12. Per-event sample counts must equal
// what perf 6.1 reports (`perf script -F event | sort | uniq -c`), and the two broken files
// must be refused with one clear line, as perf refuses them.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>
#include <sstream>

#include "test_support.h"

namespace exitprof::testing {
namespace {

struct RealFile {
  const char* name;
  std::map<std::string, uint64_t> samples_by_event;
  uint64_t lost_samples;
};

class RealDataTest : public ::testing::TestWithParam<RealFile> {};

TEST_P(RealDataTest, SampleCountsEqualPerf) {
  const RealFile& f = GetParam();
  const std::string path = SharedDir() + "/realdata/perf/" + f.name;
  if (!FileExists(path)) GTEST_SKIP() << "needs " << path;
  auto report = ReadReport(path);
  ASSERT_TRUE(report) << report.error().message;
  std::map<std::string, uint64_t> got;
  for (const auto& e : report->model.events) {
    if (e.count) got[e.name] = e.count;
  }
  EXPECT_EQ(got, f.samples_by_event);
  EXPECT_EQ(report->stats.lost_samples, f.lost_samples);
  EXPECT_EQ(report->stats.damaged_records, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Perf, RealDataTest,
    ::testing::Values(
        RealFile{"perf-4.13-timechart-tracepoints.data",
                 {{"power:cpu_idle", 22}, {"sched:sched_switch", 16}, {"sched:sched_wakeup", 7}}, 0},
        RealFile{"perf-4.4-kvm-record-taiwan.data", {{"cycles:pp", 12685}}, 0},
        RealFile{"quipper-perf.data.callgraph-3.8", {{"cycles", 1768}}, 0},
        RealFile{"quipper-perf.data.lost_samples-4.4",
                 {{"branch-instructions:pp", 14}, {"cycles:pp", 97}, {"instructions:pp", 80}}, 2},
        RealFile{"quipper-perf.data.piped.header_features_aligned-6.12", {{"cycles:u", 9}}, 0},
        RealFile{"quipper-perf.data.piped.target-3.4", {{"cycles", 1414}}, 0},
        RealFile{"quipper-perf.data.raw-3.4", {{"cycles", 441}}, 0}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (auto& c : n) if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

TEST(RealDataBroken, InterruptedRecordingIsRefusedClearly) {
  const std::string path = SharedDir() + "/realdata/perf/perf-4.13-kvm-record-interrupted.data";
  if (!FileExists(path)) GTEST_SKIP() << "needs " << path;
  auto r = RunCommand(Exitprof() + " report -i " + path);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("data size is 0"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST(RealDataBroken, ZeroSizeRecordIsRefusedWithItsOffset) {
  const std::string path = SharedDir() + "/realdata/perf/quipper-perf.data.piped.corrupted.zero_size_sample-3.2";
  if (!FileExists(path)) GTEST_SKIP() << "needs " << path;
  auto r = RunCommand(Exitprof() + " script -i " + path);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("offset 0xbfd0: bad record header size 0"), std::string::npos) << r.err;
  // The same stream through a pipe fails the same way.
  r = RunCommand(Exitprof() + " report -i - < " + path);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("bad record header size 0"), std::string::npos) << r.err;
}

// perf 3.14 on armv7 wrote a CPUDESC feature shorter than its own length field. perf reads the
// file without that feature; so do we, saying so once on stderr and in the report.
TEST(RealDataDamagedFeature, IsSkippedWithAWarning) {
  const std::string path = SourceDir() + "/tests/data/perf/quipper-perf.data.armv7.perf_3.14-3.8";
  auto report = ReadReport(path);
  ASSERT_TRUE(report) << report.error().message;
  std::map<std::string, uint64_t> got;
  for (const auto& e : report->model.events) got[e.name] = e.count;
  EXPECT_EQ(got, (std::map<std::string, uint64_t>{{"cycles", 700}}));
  EXPECT_EQ(report->info.arch, "armv7l");
  EXPECT_EQ(report->info.os_release, "3.8.11");
  const std::string warning = path + ": offset 0x30d5c: feature section 8 (CPUDESC) is shorter than its contents claim: "
                              "skipped (the samples are read without it, as perf reads them)";
  EXPECT_EQ(report->info.warnings, std::vector<std::string>{warning});
  auto text = RunCommand(Exitprof() + " report -i " + path);
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_EQ(text.err, "exitprof: warning: " + warning + "\n");
  EXPECT_NE(text.out.find("# warning: " + warning + "\n"), std::string::npos) << text.out;
  auto json = nlohmann::json::parse(RunCommand(Exitprof() + " report -i " + path + " --format json").out);
  EXPECT_EQ(json["warnings"], nlohmann::json::array({warning}));
  EXPECT_EQ(json["samples"], 700);
  if (HavePerf()) {
    EXPECT_EQ(RunCommand("perf script -i " + path + " -F event 2>/dev/null | grep -c 'cycles:'").out, "700\n");
  }
}

TEST(RealDataScript, TracepointLinesEqualPerfScript) {
  const std::string path = SharedDir() + "/realdata/perf/perf-4.13-timechart-tracepoints.data";
  if (!FileExists(path) || !HavePerf()) GTEST_SKIP() << "needs perf and " << path;
  auto ours = RunCommand(Exitprof() + " script -i " + path);
  auto perf = RunCommand("perf script -i " + path);
  ASSERT_EQ(ours.status, 0) << ours.err;
  EXPECT_TRUE(SameLines(perf.out, ours.out));
}

// Thread names: perf names a sample's thread from the COMM and FORK records' own pid/tid, never
// from their sample_id trailers (all zeros in perf 3.x/4.x's synthesized records, which once
// made us print ":3772" where perf prints "Web Content"). Every sample, in order, must carry
// the name and tid `perf script -F comm,tid` gives it.
using CommTid = std::pair<std::string, std::string>;

std::vector<CommTid> Threads(const std::string& text, const std::regex& line) {
  std::vector<CommTid> out;
  std::istringstream in(text);
  std::string l;
  std::smatch m;
  while (std::getline(in, l)) {
    if (std::regex_search(l, m, line)) out.emplace_back(m[1].str(), m[2].str());
  }
  return out;
}

class RealDataThreadNames : public ::testing::TestWithParam<std::pair<const char*, size_t>> {};

TEST_P(RealDataThreadNames, EqualPerfScript) {
  const std::string path = SharedDir() + "/realdata/perf/" + GetParam().first;
  if (!FileExists(path) || !HavePerf()) GTEST_SKIP() << "needs perf and " << path;
  auto perf = RunCommand("perf script -F comm,tid -i " + path);
  ASSERT_EQ(perf.status, 0) << perf.err;
  auto ours = RunCommand(Exitprof() + " script -i " + path);
  ASSERT_EQ(ours.status, 0) << ours.err;
  // "  Web Content  3772 " from perf; "     Web Content  3772 [001]  8419.123456: ..." from us
  // (callchain lines, indented by a tab, match neither).
  auto want = Threads(perf.out, std::regex(R"(^ *(\S.*?) +(-?\d+) *$)"));
  auto got = Threads(ours.out, std::regex(R"(^ *(\S.*?) +(-?\d+) \[\d+\] )"));
  ASSERT_EQ(want.size(), GetParam().second);
  ASSERT_EQ(got.size(), want.size());
  size_t differ = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (got[i] != want[i] && differ++ < 3) ADD_FAILURE() << "sample " << i << ": perf " << want[i].first << "/" << want[i].second
                                                         << ", exitprof " << got[i].first << "/" << got[i].second;
  }
  EXPECT_EQ(differ, 0u);
}

INSTANTIATE_TEST_SUITE_P(Perf3And4, RealDataThreadNames,
                         ::testing::Values(std::pair<const char*, size_t>{"perf-4.4-kvm-record-taiwan.data", 12685},
                                           std::pair<const char*, size_t>{"perf-4.13-timechart-tracepoints.data", 45},
                                           std::pair<const char*, size_t>{"quipper-perf.data.callgraph-3.8", 1768},
                                           std::pair<const char*, size_t>{"quipper-perf.data.lost_samples-4.4", 191},
                                           std::pair<const char*, size_t>{"quipper-perf.data.piped.target-3.4", 1414},
                                           std::pair<const char*, size_t>{"quipper-perf.data.raw-3.4", 441}),
                         [](const auto& info) {
                           std::string n = info.param.first;
                           for (auto& c : n) if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace exitprof::testing
