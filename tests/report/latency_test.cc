// Exit cost: pairing, counts, min/max/mean equal perf kvm stat and the fixtures' truth;
// percentiles equal a plain sort; past the memory cap they stay within the sketch's error.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <regex>

#include "analysis/exit_latency.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

using nlohmann::json;

class LatencyFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(LatencyFixture, EqualsTruthAndPerfKvmStat) {
  const std::string path = SharedDir() + "/fixtures/" + GetParam();
  if (!FileExists(path)) GTEST_SKIP() << "needs " << path;
  std::ifstream in(path + ".truth.json");
  json truth = json::parse(in);
  auto r = RunCommand(Exitprof() + " report -i " + path + " --latency --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  json j = json::parse(r.out);
  std::map<std::string, json> got;
  for (const auto& row : j["latency"]) got[row["reason"]] = row;
  const json& want = truth["exit_latency_ns"]["by_reason"];
  ASSERT_EQ(got.size(), want.size());
  for (auto& [reason, w] : want.items()) {
    const json& g = got[reason];
    EXPECT_EQ(g["count"], w["count"]) << reason;
    EXPECT_EQ(g["min_ns"], w["min"]) << reason;
    EXPECT_EQ(g["max_ns"], w["max"]) << reason;
    EXPECT_EQ(g["total_ns"], w["sum"]) << reason;
    EXPECT_DOUBLE_EQ(g["mean_ns"].get<double>(), w["mean"].get<double>()) << reason;
    EXPECT_EQ(g["p50_ns"], w["p50"]) << reason;
    EXPECT_EQ(g["p90_ns"], w["p90"]) << reason;
    EXPECT_EQ(g["p99_ns"], w["p99"]) << reason;
    EXPECT_EQ(g["percentiles"], "exact");
  }
  EXPECT_EQ(j["exits"]["latency_summary"]["total_ns"], truth["exit_latency_ns"]["all"]["sum"]);
  EXPECT_EQ(j["exits"]["latency_summary"]["entries_without_exit"], truth["exit_latency_ns"]["entries_without_exit"]);

  if (!HavePerf()) GTEST_SKIP() << "perf not installed: perf kvm stat cross-check skipped";
  auto perf = PerfKvmStatVmexit(path);
  for (const auto& [reason, row] : perf) {
    const json& g = got[reason];
    ASSERT_FALSE(g.is_null()) << reason;
    EXPECT_EQ(g["count"].get<uint64_t>(), row.count) << reason;
    EXPECT_EQ(PerfUs(g["min_ns"].get<double>()), row.min_us) << reason;
    EXPECT_EQ(PerfUs(g["max_ns"].get<double>()), row.max_us) << reason;
    EXPECT_EQ(PerfUs(g["mean_ns"].get<double>()), row.mean_us) << reason;
    char time_pct[32];
    std::snprintf(time_pct, sizeof time_pct, "%.2f", g["time_percent"].get<double>());
    EXPECT_EQ(time_pct, row.time_percent) << reason;
  }
  EXPECT_EQ(perf.size(), got.size());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LatencyFixture, ::testing::Values("small-vmx.data", "small-svm.data"));

TEST(ExitLatency, PercentilesEqualASortAndPairingFollowsPerf) {
  analysis::ExitLatency lat;
  lat.OnExit(7, 100, 0);  // before thread 7's first entry: not counted, as in perf kvm stat
  lat.OnEntry(7, 150);
  std::mt19937_64 rng(5);
  std::vector<uint64_t> durations;
  uint64_t t = 1000;
  for (int i = 0; i < 1001; ++i) {
    uint64_t d = 100 + rng() % 100000;
    durations.push_back(d);
    lat.OnExit(7, t, 0);
    lat.OnEntry(7, t + d);
    t += d + 50;
  }
  auto s = lat.Summarize(0);
  std::sort(durations.begin(), durations.end());
  auto rank = [&](double p) { return durations[static_cast<size_t>(std::ceil(p / 100 * durations.size())) - 1]; };
  EXPECT_EQ(s.count, 1001u);
  EXPECT_EQ(s.p50_ns, rank(50));
  EXPECT_EQ(s.p90_ns, rank(90));
  EXPECT_EQ(s.p99_ns, rank(99));
  EXPECT_EQ(s.p999_ns, rank(99.9));
  EXPECT_EQ(s.min_ns, durations.front());
  EXPECT_EQ(s.max_ns, durations.back());
  EXPECT_TRUE(s.exact);
  EXPECT_EQ(lat.exits_before_first_entry(), 1u);
  EXPECT_EQ(lat.entries_without_exit(), 1u);
}

TEST(ExitLatency, PastTheCapPercentilesStayWithinTheSketchError) {
  analysis::ExitLatency lat(1000);  // room for 1000 exact values only
  std::mt19937_64 rng(9);
  std::vector<uint64_t> durations;
  uint64_t t = 0;
  lat.OnEntry(1, 0);
  for (int i = 0; i < 50000; ++i) {
    uint64_t d = 200 + rng() % 5000000;
    durations.push_back(d);
    lat.OnExit(1, t, 0);
    lat.OnEntry(1, t + d);
    t += d;
  }
  auto s = lat.Summarize(0);
  EXPECT_FALSE(s.exact);
  std::sort(durations.begin(), durations.end());
  for (auto [p, got] : {std::pair{50.0, s.p50_ns}, {90.0, s.p90_ns}, {99.0, s.p99_ns}}) {
    double want = static_cast<double>(durations[static_cast<size_t>(std::ceil(p / 100 * durations.size())) - 1]);
    EXPECT_LT(std::fabs(static_cast<double>(got) - want) / want, 0.016) << "p" << p;
  }
}

}  // namespace
}  // namespace exitprof::testing

namespace exitprof::testing {
namespace {

// perf kvm stat --event=ioport|mmio: counts per "0x3f8:POUT" / "0xfed000f0:R" key. exitprof's
// pio and mmio tables must give the same counts (perf's MMIO read is one access; its
// unsatisfied-read half is not counted twice).
std::map<std::string, uint64_t> PerfKvmKeys(const std::string& path, const std::string& event) {
  auto perf = RunCommand("perf kvm -i " + path + " stat report --event=" + event);
  std::map<std::string, uint64_t> out;
  std::regex row(R"(^\s*(0x[0-9a-f]+:(?:POUT|PIN|R|W))\s+(\d+)\s)");
  std::istringstream lines(perf.out + perf.err);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) out[m[1].str()] = std::stoull(m[2].str());
  }
  return out;
}

TEST_P(LatencyFixture, PortAndMmioCountsEqualPerfKvmStat) {
  const std::string path = SharedDir() + "/fixtures/" + GetParam();
  if (!FileExists(path)) GTEST_SKIP() << "needs " << path;
  json j = json::parse(RunCommand(Exitprof() + " report -i " + path + " --format json").out);
  std::map<std::string, uint64_t> pio, mmio;
  for (const auto& r : j["pio"]) pio[r["port"].get<std::string>() + (r["direction"] == "write" ? ":POUT" : ":PIN")] += r["count"].get<uint64_t>();
  for (const auto& r : j["mmio"]) {
    if (r["type"] == "unsatisfied-read") continue;
    mmio[r["gpa"].get<std::string>() + (r["type"] == "write" ? ":W" : ":R")] += r["count"].get<uint64_t>();
  }
  std::ifstream in(path + ".truth.json");
  json truth = json::parse(in);
  std::map<std::string, uint64_t> want_pio, want_mmio;
  for (auto& [k, v] : truth["perf_kvm_stat"]["ioport"]["events"].items()) want_pio[k] = v["samples"];
  for (auto& [k, v] : truth["perf_kvm_stat"]["mmio"]["events"].items()) want_mmio[k] = v["samples"];
  EXPECT_EQ(pio, want_pio);
  EXPECT_EQ(mmio, want_mmio);
  if (!HavePerf()) GTEST_SKIP() << "perf not installed: perf kvm stat cross-check skipped";
  EXPECT_EQ(pio, PerfKvmKeys(path, "ioport"));
  // perf kvm stat's mmio table needs VMX's EPT_MISCONFIG exits; on SVM it shows nothing.
  if (GetParam() == "small-vmx.data") {
    EXPECT_EQ(mmio, PerfKvmKeys(path, "mmio"));
  }
}

}  // namespace
}  // namespace exitprof::testing
