// report's perf kvm stat habits on the fixtures: the cost per port and MMIO address (--event
// ioport|mmio) and the "( +- x% )" spread equal `perf kvm -i F stat report`; -k orders the
// latency tables; --by cpu counts exits per host CPU as perf script shows them; -g keeps one VM.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "test_support.h"

namespace exitprof::testing {
namespace {

using nlohmann::json;

std::string Fixture(const std::string& name) { return SharedDir() + "/fixtures/" + name; }

std::string Fmt2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

struct PerfRow {
  uint64_t samples = 0;
  std::string time_pct, min_us, max_us, avg_us, spread;
};

// `perf kvm -i F stat report --event=E [-k K]`, rows in perf's order (it prints on stderr).
std::vector<std::pair<std::string, PerfRow>> PerfKvmStat(const std::string& path, const std::string& args) {
  auto perf = RunCommand("perf kvm -i " + path + " stat report " + args);
  std::regex row(R"(^\s*(\S+)\s+(\d+)\s+[\d.]+%\s+([\d.]+)%\s+([\d.]+)us\s+([\d.]+)us\s+([\d.]+)us \( \+-\s*([\d.]+)% \))");
  std::vector<std::pair<std::string, PerfRow>> out;
  std::istringstream lines(perf.out + perf.err);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    out.push_back({m[1].str(), PerfRow{std::stoull(m[2].str()), m[3].str(), m[4].str(), m[5].str(), m[6].str(), m[7].str()}});
  }
  return out;
}

json Report(const std::string& args) {
  auto r = RunCommand(Exitprof() + " report " + args + " --format json");
  EXPECT_EQ(r.status, 0) << args << ": " << r.err;
  return json::parse(r.out.empty() ? "{}" : r.out);
}

void ExpectSameAsPerf(const json& rows, const char* label, const std::vector<std::pair<std::string, PerfRow>>& perf) {
  std::map<std::string, json> ours;
  for (const auto& r : rows) ours[r[label].get<std::string>()] = r;
  ASSERT_EQ(ours.size(), perf.size());
  for (const auto& [key, p] : perf) {
    const json& g = ours[key];
    ASSERT_FALSE(g.is_null()) << key;
    EXPECT_EQ(g["count"].get<uint64_t>(), p.samples) << key;
    EXPECT_EQ(Fmt2(g["time_percent"].get<double>()), p.time_pct) << key;
    EXPECT_EQ(Fmt2(g["min_ns"].get<double>() / 1e3), p.min_us) << key;
    EXPECT_EQ(Fmt2(g["max_ns"].get<double>() / 1e3), p.max_us) << key;
    EXPECT_EQ(Fmt2(g["mean_ns"].get<double>() / 1e3), p.avg_us) << key;
    EXPECT_EQ(Fmt2(g["rel_stderr_percent"].get<double>()), p.spread) << key;
  }
}

class KvmStatParity : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    path_ = Fixture(GetParam());
    if (!FileExists(path_)) GTEST_SKIP() << "needs " << path_;
    if (!HavePerf()) GTEST_SKIP() << "needs perf (Debian linux-perf)";
  }
  std::string path_;
};

TEST_P(KvmStatParity, ExitsPortsAndMmioCostAndSpreadEqualPerfKvmStat) {
  json j = Report("-i " + path_ + " --latency");
  ExpectSameAsPerf(j["exits"]["latency"], "reason", PerfKvmStat(path_, "--event=vmexit"));
  auto io = PerfKvmStat(path_, "--event=ioport");
  ASSERT_FALSE(io.empty());
  ExpectSameAsPerf(j["exits"]["latency_ioport"], "key", io);
  // perf kvm stat's mmio table needs VMX's EPT_MISCONFIG exits; on SVM it shows nothing.
  if (GetParam() == "small-vmx.data") {
    auto mmio = PerfKvmStat(path_, "--event=mmio");
    ASSERT_FALSE(mmio.empty());
    ExpectSameAsPerf(j["exits"]["latency_mmio"], "key", mmio);
  }
  // --event implies the pairing, and the text table names perf's keys.
  auto text = RunCommand(Exitprof() + " report -i " + path_ + " --event ioport --by latency");
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("# IO Port Access"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("  " + io[0].first + " "), std::string::npos) << text.out;
}

TEST_P(KvmStatParity, SortKeysOrderAsPerfKvmStat) {
  const std::map<std::string, std::string> field = {{"sample", "count"}, {"count", "count"}, {"time", "mean_ns"}, {"total", "total_ns"},
                                                    {"max", "max_ns"}, {"min", "min_ns"}, {"mean", "mean_ns"}};
  for (const auto& [key, f] : field) {
    json j = Report("-i " + path_ + " --latency -k " + key);
    for (const char* table : {"latency", "latency_ioport", "latency_mmio"}) {
      const json& rows = j["exits"][table];
      for (size_t i = 1; i < rows.size(); ++i) {
        EXPECT_GE(rows[i - 1][f].get<double>(), rows[i][f].get<double>()) << key << " " << table << " row " << i;
      }
    }
    // perf 6.1 knows sample and time (the mean): its first row is ours.
    if (key != "sample" && key != "time") continue;
    auto perf = PerfKvmStat(path_, "--event=ioport -k " + key);
    ASSERT_FALSE(perf.empty());
    EXPECT_EQ(j["exits"]["latency_ioport"][0]["key"], perf[0].first) << key;
  }
  auto bad = RunCommand(Exitprof() + " report -i " + path_ + " --latency -k fastest");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("-k fastest: expected sample"), std::string::npos) << bad.err;
}

TEST_P(KvmStatParity, ExitsPerHostCpuEqualPerfScript) {
  auto perf = RunCommand("perf script -i " + path_ + " 2>/dev/null | grep ' kvm:kvm_exit: ' | sed 's/.*\\[0*\\([0-9]\\+\\)\\].*/\\1/' | sort -n | uniq -c");
  std::map<uint32_t, uint64_t> want;
  std::istringstream lines(perf.out);
  for (uint64_t count, cpu; lines >> count >> cpu;) want[static_cast<uint32_t>(cpu)] = count;
  ASSERT_FALSE(want.empty());
  json j = Report("-i " + path_ + " --by cpu");
  std::map<uint32_t, uint64_t> got;
  for (const auto& r : j["exits"]["by_cpu"]) got[r["cpu"].get<uint32_t>()] = r["count"].get<uint64_t>();
  EXPECT_EQ(got, want);
  auto text = RunCommand(Exitprof() + " report -i " + path_ + " --by cpu");
  EXPECT_NE(text.out.find("# Exits by host CPU"), std::string::npos);
  auto csv = RunCommand(Exitprof() + " report -i " + path_ + " --by cpu --format csv");
  EXPECT_EQ(csv.out.substr(0, 10), "cpu,count\n");
  EXPECT_EQ(static_cast<size_t>(std::count(csv.out.begin(), csv.out.end(), '\n')), want.size() + 1);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, KvmStatParity, ::testing::Values("small-vmx.data", "small-svm.data"));

// -g NAME: the VM's process name, or QEMU's -name from the recording's device map.
TEST(ReportGuestFilter, KeepsTheNamedVmOnly) {
  const std::string fixture = Fixture("small-vmx.data");
  if (!FileExists(fixture)) GTEST_SKIP() << "needs " << fixture;
  json all = Report("-i " + fixture + " --by vm");
  ASSERT_GE(all["exits"]["by_vm"].size(), 2u);
  const json& vm = all["exits"]["by_vm"][1];
  // Every fixture VM is a "qemu-system-x86": the process name keeps them all.
  json by_comm = Report("-i " + fixture + " -g qemu-system-x86");
  EXPECT_EQ(by_comm["exits"]["total"], all["exits"]["total"]);

  // A recording whose device map names its VM "web" (QEMU -name web) with that VM's pid.
  std::string dir = TempPath("guest-filter");
  RunCommand("rm -rf " + dir + " && mkdir -p " + dir + " && cp " + fixture + " " + dir + "/vm.data");
  std::ifstream in(SourceDir() + "/tests/data/devices/qemu-guest.devices.json");
  json map = json::parse(in);
  map["pid"] = vm["pid"];
  map["vm_name"] = "web";
  std::ofstream(dir + "/vm.data.devices.json") << map.dump();
  json web = Report("-i " + dir + "/vm.data -g web --latency");
  EXPECT_EQ(web["exits"]["total"], vm["count"]);
  ASSERT_EQ(web["exits"]["by_vm"].size(), 1u);
  EXPECT_EQ(web["exits"]["by_vm"][0]["pid"], vm["pid"]);

  auto none = RunCommand(Exitprof() + " report -i " + dir + "/vm.data -g nosuch");
  EXPECT_EQ(none.status, 2);
  EXPECT_EQ(std::count(none.err.begin(), none.err.end(), '\n'), 1) << none.err;
  EXPECT_NE(none.err.find("-g nosuch: no VM of that name"), std::string::npos) << none.err;
  RunCommand("rm -rf " + dir);
}

}  // namespace
}  // namespace exitprof::testing
