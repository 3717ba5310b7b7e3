// Bad trace.dat input never crashes or hangs: truncated and corrupted files get one clear line
// (file, offset, what was expected) and exit status 2; damaged pages are counted, not trusted.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "cli/script_printer.h"
#include "tracedat_support.h"

namespace exitprof::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// Reads bytes in-process through both sinks report and script use; true when it read.
bool Analyse(const std::string& bytes) {
  std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  auto reader = tracedat::Reader::FromBytes(span, "<test>");
  if (!reader) {
    EXPECT_FALSE(reader.error().message.empty());
    EXPECT_EQ(reader.error().message.find('\n'), std::string::npos) << reader.error().message;
    return false;
  }
  analysis::ExitStats stats(analysis::ExitFilter{});
  bool ok = (*reader)->Run(stats).has_value();
  FILE* null = std::fopen("/dev/null", "w");
  cli::ScriptPrinter printer(null, false);
  (void)(*reader)->Run(printer);
  std::fclose(null);
  return ok;
}

const std::string kHost = SharedDir() + "/realdata/trace-cmd/host-e11ad396.dat";
const std::string kV6 = SharedDir() + "/realdata/trace-cmd/v6-no-event-data-cbe6e513.dat";

TEST(TraceDatHostile, TruncatedFilesGetOneLineAndStatus2) {
  if (!FileExists(kHost)) GTEST_SKIP() << "needs " << kHost;
  const std::string bytes = ReadAll(kHost);
  const std::string path = TempPath("truncated.dat");
  // In the header, in a compressed metadata section, in the event data (the options that say
  // where everything is are at the end of a v7 file), in the last options section.
  for (size_t size : {size_t{12}, size_t{30}, size_t{0x40}, size_t{0x1000}, bytes.size() / 2, bytes.size() - 0x80}) {
    WriteAll(path, bytes.substr(0, size));
    auto r = RunCommand(Exitprof() + " report -i " + path);
    EXPECT_EQ(r.status, 2) << size << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << size << ": " << r.err;
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
  }
}

TEST(TraceDatHostile, SpecificDamageIsNamed) {
  if (!FileExists(kHost) || !FileExists(kV6)) GTEST_SKIP() << "needs shared/realdata/trace-cmd";
  const std::string host = ReadAll(kHost), v6 = ReadAll(kV6);
  const std::string path = TempPath("damaged.dat");
  struct Case {
    std::string name, bytes, expect;
  };
  std::string version = host;
  version[10] = '9';
  std::string page = host;
  page[14] = 3;  // page size 0x1003
  std::string algo = host;
  algo.replace(0x12, 4, "lz4x");
  std::string options = host;
  options[0x1e] = 0x40;  // the first options section offset points into nowhere useful
  std::string v6tag = v6;
  auto at = v6tag.find(std::string("options  \0", 10));
  ASSERT_NE(at, std::string::npos);
  v6tag.replace(at, 9, "optionZZZ");
  Case cases[] = {
      {"version", version, "version \"9\" is not supported"},
      {"page size", page, "not a power of two"},
      {"compression", algo, "compression \"lz4x\" is not supported"},
      {"options offset", options, "expected section 0"},
      {"v6 tag", v6tag, "expected \"options\", \"latency\" or \"flyrecord\""},
      {"text", "hello, I am not a trace\n", ""},
  };
  for (const auto& c : cases) {
    WriteAll(path, c.bytes);
    auto r = RunCommand(Exitprof() + " report -i " + path);
    EXPECT_EQ(r.status, 2) << c.name << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": " << r.err;
    if (!c.expect.empty()) {
      EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.name << ": " << r.err;
    }
  }
}

// A compressed block that claims gigabytes is refused before anything is allocated (the
// fuzzer's out-of-memory reproducers, kept in the corpus).
TEST(TraceDatHostile, InflatedSizeClaimsAreCheckedFirst) {
  for (int i = 1; i <= 5; ++i) {
    const std::string path = SourceDir() + "/fuzz/corpus/tracedat/oom-inflate-claim-" + std::to_string(i) + ".dat";
    auto r = RunCommand(Exitprof() + " report -i " + path);
    EXPECT_EQ(r.status, 2) << path << ": " << r.err;
    EXPECT_NE(r.err.find("bytes inflated (at most"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

// Random truncations and byte flips over a real file: never a crash, a hang or an
// out-of-bounds read (the sanitizer build and the fuzzer check the last).
TEST(TraceDatHostile, RandomDamageNeverCrashes) {
  if (!FileExists(kHost)) GTEST_SKIP() << "needs " << kHost;
  const std::string bytes = ReadAll(kHost);
  std::mt19937_64 rng(20261129);
  for (int i = 0; i < 60; ++i) {
    std::string damaged = bytes;
    if (i % 3 == 0) damaged.resize(rng() % bytes.size());
    const int flips = 1 + static_cast<int>(rng() % 16);
    for (int f = 0; f < flips && !damaged.empty(); ++f) damaged[rng() % damaged.size()] = static_cast<char>(rng());
    Analyse(damaged);  // a flip inside a compressed block fails the read with one line; never a crash
  }
}

}  // namespace
}  // namespace exitprof::testing
