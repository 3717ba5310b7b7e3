// The exitprof binary as users run it: script output identical to perf script, report in
// text, JSON and CSV with the documented keys.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "analysis/timeline.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

using nlohmann::json;

std::string Fixture(const char* name) { return SharedDir() + "/fixtures/" + name; }

TEST(ScriptCommand, ByteIdenticalToPerfScriptOnFixtures) {
  if (!HavePerf()) GTEST_SKIP() << "needs perf (Debian linux-perf)";
  for (const char* name : {"small-vmx.data", "small-svm.data"}) {
    if (!FileExists(Fixture(name))) GTEST_SKIP() << "needs " << Fixture(name);
    auto perf = RunCommand("perf script -i " + Fixture(name));
    auto ours = RunCommand(Exitprof() + " script -i " + Fixture(name));
    ASSERT_EQ(ours.status, 0) << ours.err;
    EXPECT_TRUE(SameLines(perf.out, ours.out)) << name;
    // The seed's awk pipeline over our output finds the same RIPs as over perf's.
    EXPECT_EQ(std::count(ours.out.begin(), ours.out.end(), '\n'), 20000);
  }
}

TEST(ScriptCommand, NanosecondTimestamps) {
  if (!HavePerf()) GTEST_SKIP() << "needs perf";
  auto perf = RunCommand("perf script --ns -i " + Fixture("small-vmx.data") + " | head -50");
  auto ours = RunCommand(Exitprof() + " script --ns -i " + Fixture("small-vmx.data") + " | head -50");
  EXPECT_TRUE(SameLines(perf.out, ours.out));
}

TEST(ReportCommand, JsonHasTheDocumentedKeys) {
  auto r = RunCommand(Exitprof() + " report -i " + Fixture("small-vmx.data") + " --format json --top 0");
  ASSERT_EQ(r.status, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["events"]["kvm:kvm_exit"], 8806);
  EXPECT_EQ(j["exits"]["total"], 8806);
  EXPECT_EQ(j["exits"]["by_reason"][0]["reason"], "EXTERNAL_INTERRUPT");
  EXPECT_EQ(j["exits"]["by_reason"][0]["count"], 1820);
  EXPECT_TRUE(j["exits"]["by_rip"][0]["rip"].is_string());
  EXPECT_EQ(j["exits"]["by_rip"][0]["rip"].get<std::string>().rfind("0x", 0), 0u);
  EXPECT_EQ(j["exits"]["by_vcpu"].size(), 12u);
  EXPECT_TRUE(j["exits"]["by_vcpu"][0].contains("pid"));
  EXPECT_TRUE(j["exits"]["by_vcpu"][0].contains("vcpu"));
  EXPECT_EQ(j["exits"]["by_vm"].size(), 3u);
  EXPECT_EQ(j["exits"]["by_vm"][0]["comm"], "qemu-system-x86");
  uint64_t pio = 0;
  for (const auto& row : j["pio"]) {
    EXPECT_TRUE(row["port"].is_string());
    EXPECT_TRUE(row["direction"] == "read" || row["direction"] == "write");
    EXPECT_TRUE(row["count"].is_number_integer());
    pio += row["count"].get<uint64_t>();
  }
  EXPECT_EQ(pio, 1274u);
  uint64_t rips = 0;
  for (const auto& row : j["exits"]["by_rip"]) rips += row["count"].get<uint64_t>();
  EXPECT_EQ(rips, 8806u) << "--top 0 keeps every RIP";
}

TEST(ReportCommand, ReasonFilterAndTopOnTheCommandLine) {
  auto r = RunCommand(Exitprof() + " report -i " + Fixture("small-vmx.data") +
               " --reason io_instruction --top 3 --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["exits"]["total"], 1274);
  ASSERT_EQ(j["exits"]["by_rip"].size(), 3u);
  EXPECT_EQ(j["exits"]["by_rip"][0]["rip"], "0xffffffff8176a3b6");
  EXPECT_EQ(j["exits"]["by_rip"][0]["count"], 593);
}

TEST(ReportCommand, TimeWindow) {
  // Up to 45000.123470: the first three events; perf script --time agrees.
  auto r = RunCommand(Exitprof() + " report -i " + Fixture("small-vmx.data") + " --time ,45000.123470 --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["samples"], 3);
  auto perf = RunCommand("perf script -i " + Fixture("small-vmx.data") + " --time ,45000.123470");
  if (HavePerf()) {
    EXPECT_EQ(j["samples"].get<uint64_t>(), static_cast<uint64_t>(std::count(perf.out.begin(), perf.out.end(), '\n')));
  }
  EXPECT_GT(j["samples"].get<uint64_t>(), 0u);
}

TEST(ReportCommand, CsvTables) {
  auto r = RunCommand(Exitprof() + " report -i " + Fixture("small-svm.data") + " --format csv --by vcpu");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("pid,vcpu,tid,comm,count\n", 0), 0u);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 13);
  EXPECT_NE(r.out.find(",CPU 0/KVM,"), std::string::npos);
  r = RunCommand(Exitprof() + " report -i " + Fixture("small-svm.data") + " --format csv");
  EXPECT_EQ(r.out.rfind("reason,count,percent,rate_per_s\nmsr,1881,", 0), 0u) << r.out;
}

TEST(ReportCommand, TextSaysWhatWasRead) {
  auto r = RunCommand(Exitprof() + " report -i " + Fixture("small-vmx.data"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("# events: kvm:kvm_entry 8818, kvm:kvm_exit 8806, kvm:kvm_mmio 1102, kvm:kvm_pio 1274"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("VMs: 3  vCPUs: 12  lost events: 0"), std::string::npos);
  EXPECT_NE(r.out.find("# Exits by reason (VMX): 8806 exits"), std::string::npos);
}

TEST(ReportCommand, RecordingWithoutKvmExitSaysSo) {
  auto r = RunCommand(Exitprof() + " report -i " + SharedDir() + "/realdata/perf/perf-4.13-timechart-tracepoints.data");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("no kvm events"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace exitprof::testing

namespace exitprof::testing {
namespace {

TEST(DemoRecording, ReportAgreesWithPerfScript) {
  const std::string demo = SourceDir() + "/data/demo-vmx.perf.data";
  auto r = RunCommand(Exitprof() + " report -i " + demo + " --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["exits"]["total"], 5000);
  EXPECT_EQ(j["exits"]["by_reason"][0]["reason"], "MSR_WRITE");
  EXPECT_EQ(j["exits"]["by_reason"][0]["count"], 1009);
  if (!HavePerf()) GTEST_SKIP() << "needs perf";
  auto perf = RunCommand("perf script -i " + demo);
  ASSERT_EQ(perf.status, 0) << perf.err;
  auto counts = PerfScriptEventCounts(perf.out);
  for (auto& [name, n] : j["events"].items()) EXPECT_EQ(n.get<uint64_t>(), counts[name]) << name;
  // The seed's pipeline on perf's output finds the same IO_INSTRUCTION RIPs as exitprof.
  auto pipeline = RunCommand("perf script -i " + demo +
                             " | grep 'reason IO_INSTRUCTION' | awk '{print $12}' | sort | uniq -c | sort -rn");
  EXPECT_NE(pipeline.out.find("380 0xffffffff8176a3b6"), std::string::npos) << pipeline.out;
  EXPECT_NE(pipeline.out.find("357 0xffffffff8172c5c8"), std::string::npos) << pipeline.out;
}

}  // namespace
}  // namespace exitprof::testing

namespace exitprof::testing {
namespace {

TEST(Drilldowns, PortsDecodedFromExitQualificationsEqualKvmPio) {
  // VMX exit qualification and SVM EXITINFO1 carry port, size and direction: decoding them
  // must give exactly what kvm_pio recorded for the same exits.
  for (const char* name : {"small-vmx.data", "small-svm.data"}) {
    auto r = RunCommand(Exitprof() + " report -i " + SharedDir() + "/fixtures/" + name + " --format json");
    ASSERT_EQ(r.status, 0) << r.err;
    json j = json::parse(r.out);
    std::map<std::string, uint64_t> pio, decoded;
    for (const auto& row : j["pio"]) pio[row["port"].get<std::string>() + row["direction"].get<std::string>() + std::to_string(row["size"].get<int>())] = row["count"];
    for (const auto& row : j["pio_from_exits"]) decoded[row["port"].get<std::string>() + row["direction"].get<std::string>() + std::to_string(row["size"].get<int>())] = row["count"];
    EXPECT_EQ(decoded, pio) << name;
    EXPECT_EQ(pio.size(), 11u);
  }
}

TEST(Drilldowns, KnownNamesAndExplanations) {
  auto r = RunCommand(Exitprof() + " report -i " + SharedDir() + "/fixtures/small-vmx.data --format json --explain --latency");
  ASSERT_EQ(r.status, 0) << r.err;
  json j = json::parse(r.out);
  std::map<std::string, std::string> port_names, mmio_names;
  for (const auto& row : j["pio"]) port_names[row["port"]] = row["name"];
  for (const auto& row : j["mmio"]) mmio_names[row["gpa"]] = row["name"];
  EXPECT_EQ(port_names["0x3f8"], "COM1 (serial)");
  EXPECT_EQ(port_names["0xcfc"], "PCI config data");
  EXPECT_EQ(port_names["0x608"], "ACPI PM timer (q35)");
  EXPECT_EQ(mmio_names["0xfed000f0"], "HPET");
  // Pages add up to the accesses (a read's unsatisfied-read half is not a second access).
  uint64_t accesses = 0, paged = 0;
  for (const auto& row : j["mmio"])
    if (row["type"] != "unsatisfied-read") accesses += row["count"].get<uint64_t>();
  for (const auto& row : j["mmio_pages"]) paged += row["reads"].get<uint64_t>() + row["writes"].get<uint64_t>();
  EXPECT_EQ(paged, accesses);
  EXPECT_EQ(j["mmio_pages"][0]["page"], "0xfed00000");
  EXPECT_EQ(j["mmio_pages"][0]["reads"], 299);
  ASSERT_GE(j["explain"].size(), 3u);
  EXPECT_EQ(j["explain"][0]["source"], "HLT");  // by exit time with --latency
  EXPECT_NE(j["explain"][0]["remedy"].get<std::string>().find("halt_poll_ns"), std::string::npos);
  EXPECT_EQ(j["explain"][1]["source"], "IO_INSTRUCTION");
  EXPECT_NE(j["explain"][1]["remedy"].get<std::string>().find("port 0xc050"), std::string::npos) << j["explain"][1];
}

}  // namespace
}  // namespace exitprof::testing

namespace exitprof::testing {
namespace {

TEST(DiffCommand, ARecordingAgainstItselfChangesNothing) {
  const std::string f = SharedDir() + "/fixtures/small-svm.data";
  auto r = RunCommand(Exitprof() + " diff " + f + " " + f + " --format json");
  ASSERT_EQ(r.status, 0) << r.err;
  json j = json::parse(r.out);
  ASSERT_GT(j["rows"].size(), 20u);
  for (const auto& row : j["rows"]) EXPECT_EQ(row["change"], 0) << row;
  auto bad = RunCommand(Exitprof() + " diff " + f + " /nonexistent.data");
  EXPECT_EQ(bad.status, 2);
}

TEST(DiffCommand, CountsAreThoseOfEachReport) {
  const std::string a = SharedDir() + "/fixtures/small-vmx.data", b = SourceDir() + "/data/demo-vmx.perf.data";
  json d = json::parse(RunCommand(Exitprof() + " diff " + a + " " + b + " --format json").out);
  json ra = json::parse(RunCommand(Exitprof() + " report -i " + a + " --format json").out);
  json rb = json::parse(RunCommand(Exitprof() + " report -i " + b + " --format json").out);
  std::map<std::string, std::pair<double, double>> want;
  for (const auto& row : ra["exits"]["by_reason"]) want[row["reason"]].first = row["count"];
  for (const auto& row : rb["exits"]["by_reason"]) want[row["reason"]].second = row["count"];
  size_t seen = 0;
  for (const auto& row : d["rows"]) {
    if (row["kind"] != "reason") continue;
    ++seen;
    EXPECT_EQ(row["a"].get<double>(), want[row["key"]].first) << row;
    EXPECT_EQ(row["b"].get<double>(), want[row["key"]].second) << row;
  }
  EXPECT_EQ(seen, want.size());
}

}  // namespace
}  // namespace exitprof::testing

namespace exitprof::testing {
namespace {

TEST(Timeline, BucketsAddUpAndMatchTheEventTimes) {
  const std::string f = SharedDir() + "/fixtures/small-vmx.data";
  json j = json::parse(RunCommand(Exitprof() + " report -i " + f + " --timeline 5ms --format json").out);
  ASSERT_EQ(j["timeline"]["bucket_ns"], 5000000);
  std::map<std::string, uint64_t> totals;
  for (auto& [name, counts] : j["timeline"]["series"].items())
    for (const auto& c : counts) totals[name] += c.get<uint64_t>();
  for (const auto& row : j["exits"]["by_reason"]) EXPECT_EQ(totals[row["reason"]], row["count"].get<uint64_t>());
  // The same buckets counted from exitprof script's nanosecond timestamps.
  auto script = RunCommand(Exitprof() + " script --ns -i " + f + " | grep 'reason HLT '");
  std::map<uint64_t, uint64_t> hlt;
  std::istringstream lines(script.out);
  for (std::string line; std::getline(lines, line);) {
    auto colon = line.find(": ");
    auto start = line.rfind(' ', colon - 1) + 1;
    std::string ts = line.substr(start, colon - start);  // SECS.NNNNNNNNN
    uint64_t ns = std::stoull(ts.substr(0, ts.find('.'))) * 1000000000ULL + std::stoull(ts.substr(ts.find('.') + 1));
    ++hlt[ns / 5000000];
  }
  const uint64_t first = j["timeline"]["first_ns"].get<uint64_t>() / 5000000;
  const auto& series = j["timeline"]["series"]["HLT"];
  for (size_t i = 0; i < series.size(); ++i) EXPECT_EQ(series[i].get<uint64_t>(), hlt[first + i]) << "bucket " << i;
}

TEST(Timeline, AutomaticWidthStaysBounded) {
  analysis::Timeline t;
  for (uint64_t i = 0; i < 100000; ++i) t.Add(i * 1000000, static_cast<uint32_t>(i % 3));  // 100 s of 1 ms steps
  auto d = t.Build();
  EXPECT_LE(d.counts[0].size(), 512u);
  uint64_t total = 0;
  for (const auto& s : d.counts)
    for (uint64_t c : s) total += c;
  EXPECT_EQ(total, 100000u);
  auto bad = RunCommand(Exitprof() + " report -i " + SharedDir() + "/fixtures/small-vmx.data --timeline 5 parsecs");
  EXPECT_EQ(bad.status, 2);
}

}  // namespace
}  // namespace exitprof::testing
