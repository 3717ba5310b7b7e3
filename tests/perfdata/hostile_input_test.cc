// Bad input never crashes or hangs: truncated, corrupted and non-perf files get one clear line
// naming the file and what was expected, and exit status 2.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "cli/script_printer.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Runs both analyses over a file in-process; returns whether reading succeeded.
bool Analyse(const std::string& path) {
  auto report = ReadReport(path);
  auto reader = perfdata::Reader::Open(path);
  if (reader) {
    FILE* null = std::fopen("/dev/null", "w");
    cli::ScriptPrinter printer(null, false);
    (void)(*reader)->Run(printer);
    std::fclose(null);
  }
  return report.has_value();
}

TEST(HostileInput, OneClearLineAndStatus2) {
  const std::string dir = TempPath("hostile");
  struct Case {
    std::string name, bytes, expect;
  } cases[] = {
      {"empty", "", "empty file"},
      {"short", "PERF", "too short"},
      {"text", "this is not a perf.data file at all\n", "not a perf.data file"},
      {"bigendian", std::string("2ELIFREP", 8) + std::string(8, '\0'), "big-endian"},
      {"badsize", std::string("PERFILE2", 8) + std::string("\x50\0\0\0\0\0\0\0", 8), "header size 80"},
  };
  for (const auto& c : cases) {
    const std::string path = dir + "-" + c.name;
    WriteAll(path, c.bytes);
    auto r = RunCommand(Exitprof() + " report -i " + path);
    EXPECT_EQ(r.status, 2) << c.name;
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.name << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  auto missing = RunCommand(Exitprof() + " report -i /nonexistent/perf.data");
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos);
  auto directory = RunCommand(Exitprof() + " script -i /tmp");
  EXPECT_EQ(directory.status, 2);
  auto flag = RunCommand(Exitprof() + " report --top nine");
  EXPECT_EQ(flag.status, 2);
  auto time = RunCommand(Exitprof() + " report --time 5,4 -i " + SharedDir() + "/fixtures/small-vmx.data");
  EXPECT_EQ(time.status, 2);
  EXPECT_NE(time.err.find("START is after STOP"), std::string::npos);
}

TEST(HostileInput, EveryTruncationIsRefusedOrReadWithoutCrashing) {
  const std::string src = SharedDir() + "/fixtures/small-vmx.data";
  if (!FileExists(src)) GTEST_SKIP() << "needs " << src;
  const std::string bytes = ReadAll(src);
  const std::string path = TempPath("truncated.data");
  std::mt19937_64 rng(3);
  std::vector<size_t> cuts = {0, 8, 16, 103, 104, 200, 1464, 1465, 1472, bytes.size() / 2, bytes.size() - 1};
  for (int i = 0; i < 40; ++i) cuts.push_back(rng() % bytes.size());
  for (size_t cut : cuts) {
    WriteAll(path, bytes.substr(0, cut));
    EXPECT_FALSE(Analyse(path)) << "cut at " << cut << " should be refused (sections past the end)";
  }
  auto r = RunCommand(Exitprof() + " report -i " + path);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
}

TEST(HostileInput, CorruptedBytesNeverCrash) {
  const std::string src = SharedDir() + "/fixtures/small-svm.data";
  if (!FileExists(src)) GTEST_SKIP() << "needs " << src;
  const std::string bytes = ReadAll(src);
  const std::string path = TempPath("corrupt.data");
  std::mt19937_64 rng(11);
  for (int round = 0; round < 60; ++round) {
    std::string copy = bytes;
    for (int k = 0; k < 8; ++k) copy[rng() % copy.size()] = static_cast<char>(rng());
    // Also hit the header and the tracing data, where damage matters most.
    copy[rng() % 1500] = static_cast<char>(rng());
    WriteAll(path, copy);
    Analyse(path);  // either result is fine; crashing or hanging is not
  }
  SUCCEED();
}

TEST(HostileInput, TruncatedPipeStreamSaysTruncated) {
  const std::string src = SharedDir() + "/realdata/perf/quipper-perf.data.piped.target-3.4";
  if (!FileExists(src)) GTEST_SKIP() << "needs " << src;
  const std::string bytes = ReadAll(src);
  const std::string path = TempPath("truncated-pipe.data");
  WriteAll(path, bytes.substr(0, bytes.size() - 13));
  auto r = RunCommand(Exitprof() + " report -i - < " + path);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace exitprof::testing

namespace exitprof::testing {
namespace {

TEST(HostileInput, FuzzerFindingsStayFixed) {
  // Inputs the fuzzers once crashed on (late ATTR records, a tracepoint without RAW, a 4 GB
  // pipe TRACING_DATA claim, formats that crash libtraceevent's parser, printk lines without
  // a newline): each is now read or refused with status 2, never a signal.
  const std::string dir = SourceDir() + "/fuzz/corpus/perfdata";
  for (const char* name : {"crash-perfdata-late-attr.data", "crash-perfdata-parse-event-null.data",
                           "crash-perfdata-parse-event-null2.data", "crash-perfdata-pipe-tracing-data-4g.data",
                           "crash-perfdata-printk-no-newline.data", "crash-perfdata-tracepoint-without-raw.data"}) {
    const std::string path = dir + "/" + name;
    for (const std::string& cmd : {" report -i " + path, " script -i " + path, " report -i - < " + path}) {
      auto r = RunCommand(Exitprof() + cmd);
      EXPECT_TRUE(r.status == 0 || r.status == 2) << name << ": status " << r.status << " " << r.err;
      if (r.status == 2) {
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
      }
    }
  }
}

}  // namespace
}  // namespace exitprof::testing
