// Parallel reading (report -j): the output at 2 threads is byte for byte the output at 1, on
// every fixture and every real recording in ../shared/realdata, and on generated recordings;
// and the parallel path really runs (the chunks are counted), with cuts forced every few KB.
#include <dirent.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "perfdata/parallel_scan.h"
#include "render/report_render.h"
#include "report/pipeline.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name.ends_with(".json") || name.ends_with(".md")) continue;
    out.push_back(dir + "/" + name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Every recording the suite has: fixtures, real perf and trace-cmd files, generated ones.
std::vector<std::string> Recordings() {
  std::vector<std::string> files = FilesIn(SharedDir() + "/fixtures");
  for (const char* sub : {"/realdata/perf", "/realdata/trace-cmd"}) {
    auto more = FilesIn(SharedDir() + sub);
    files.insert(files.end(), more.begin(), more.end());
  }
  struct Gen {
    const char* name;
    const char* args;
  };
  for (const Gen& g : {Gen{"parallel-vmx.data", "--exits 60000 --vms 3"},
                       Gen{"parallel-svm-lost.data", "--exits 40000 --svm --lost-every 5000"},
                       Gen{"parallel-pipe.data", "--exits 20000 --pipe"}}) {
    const std::string path = TempPath(g.name);
    if (!FileExists(path)) {
      auto r = RunCommand(BinaryDir() + "/exitprof-gen --formats " + FormatsDir() + " -o " + path + " " + g.args);
      EXPECT_EQ(r.status, 0) << r.err;
    }
    files.push_back(path);
  }
  // A file cut in the middle of a record: both read it to the same error.
  const std::string cut = TempPath("parallel-cut.data");
  if (!FileExists(cut) && FileExists(files.front())) {
    std::ifstream in(SharedDir() + "/fixtures/small-vmx.data", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!bytes.empty()) std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<long>(bytes.size() * 2 / 3 + 5));
  }
  files.push_back(cut);
  return files;
}

TEST(ParallelReport, TwoThreadsPrintExactlyWhatOnePrints) {
  const std::vector<std::string> files = Recordings();
  ASSERT_GE(files.size(), 10u) << "fixtures and realdata expected under " << SharedDir();
  const char* variants[] = {
      "",
      " --format json --top 0",
      " --by reason,vm,vcpu,rip,pio,mmio,msr,userspace,injected --top 0",
      " --timeline --format json",
      " --reason HLT --reason io --format json --top 0",
      " --format csv --by vcpu",
      " --latency --format json",
  };
  for (const auto& file : files) {
    for (const char* args : variants) {
      auto one = RunCommand(Exitprof() + " report -j 1 -i " + file + args);
      auto two = RunCommand(Exitprof() + " report -j 2 -i " + file + args);
      EXPECT_EQ(one.status, two.status) << file << args;
      EXPECT_EQ(one.err, two.err) << file << args;
      EXPECT_TRUE(SameLines(one.out, two.out)) << file << args;
    }
  }
}

struct Rendered {
  std::string text, json, error;
  uint64_t chunks = 0;
};

Rendered ReadWith(const std::string& path, unsigned threads, uint64_t chunk_bytes, analysis::ExitFilter filter = {}) {
  Rendered out;
  report::Options run;  // the pipeline of `exitprof report`
  run.input.path = path;
  run.filter = std::move(filter);
  run.top = 0;
  run.threads = threads;
  run.chunk_bytes = chunk_bytes;
  auto built = report::Run(run);
  if (!built) {
    out.error = built.error().message;
    return out;
  }
  const analysis::ReportModel& model = built->model;
  out.text = render::RenderText(model, {{}, 0});
  out.json = render::RenderJson(model);
  out.chunks = built->stats.parallel_chunks;
  return out;
}

TEST(ParallelReport, CutsEveryFewKilobytesChangeNothing) {
  uint64_t split = 0, split_ordered = 0;
  for (const auto& file : Recordings()) {
    if (file.find("trace-cmd") != std::string::npos) continue;  // perf.data only
    const Rendered one = ReadWith(file, 1, 0);
    for (uint64_t chunk : {4096u, 65536u}) {
      analysis::ExitFilter timeline;
      timeline.timeline = true;
      const Rendered many = ReadWith(file, 3, chunk);
      EXPECT_EQ(one.error, many.error) << file;
      EXPECT_TRUE(SameLines(one.text, many.text)) << file << " chunks of " << chunk;
      EXPECT_TRUE(SameLines(one.json, many.json)) << file << " chunks of " << chunk;
      EXPECT_TRUE(SameLines(ReadWith(file, 1, 0, timeline).json, ReadWith(file, 3, chunk, timeline).json)) << file;
      if (many.chunks > 1) ++split;
      // Time order (latency pairing) stays one ordered pass, whatever the threads and chunks.
      analysis::ExitFilter latency;
      latency.latency = true;
      const Rendered ordered_one = ReadWith(file, 1, chunk, latency), ordered_many = ReadWith(file, 3, chunk, latency);
      EXPECT_EQ(ordered_one.error, ordered_many.error) << file;
      EXPECT_TRUE(SameLines(ordered_one.text, ordered_many.text)) << file << " --latency, chunks of " << chunk;
      EXPECT_TRUE(SameLines(ordered_one.json, ordered_many.json)) << file << " --latency, chunks of " << chunk;
      if (ordered_many.chunks > 1) ++split_ordered;
    }
  }
  // The fixtures and the generated file-mode recordings at least were read in parallel.
  EXPECT_GE(split, 6u);
  EXPECT_EQ(split_ordered, 0u);
}

TEST(ParallelReport, SmallFixtureIsSplitAtTwoThreadsByDefault) {
  const Rendered two = ReadWith(SharedDir() + "/fixtures/small-vmx.data", 2, 0);
  ASSERT_TRUE(two.error.empty()) << two.error;
  EXPECT_GT(two.chunks, 1u);
  EXPECT_EQ(ReadWith(SharedDir() + "/fixtures/small-vmx.data", 1, 0).chunks, 0u);
}

TEST(ParallelReport, LatencyIsOneOrderedPassOnTheFixtures) {
  // perf flushes each round only up to the previous round's last time, so a cut at a round
  // boundary could reorder records that straddle it: --latency reads in one ordered pass.
  analysis::ExitFilter latency;
  latency.latency = true;
  for (const char* name : {"small-vmx.data", "small-svm.data"}) {
    const std::string path = SharedDir() + "/fixtures/" + name;
    const Rendered one = ReadWith(path, 1, 0, latency), asked = ReadWith(path, 2, 65536, latency);
    EXPECT_EQ(one.chunks, 0u);
    EXPECT_EQ(asked.chunks, 0u);
    EXPECT_TRUE(SameLines(one.text, asked.text)) << name;
  }
}

TEST(ParallelReport, BoundarySearchSkipsToARecordStart) {
  // Records of 24 and 16 bytes (SAMPLE, FINISHED_ROUND); a search from inside the first finds
  // the second, and one inside the last record finds nothing.
  std::vector<uint8_t> data;
  auto record = [&](uint32_t type, uint16_t size) {
    size_t at = data.size();
    data.resize(at + size, 0xee);
    std::memcpy(&data[at], &type, 4);
    std::memset(&data[at + 4], 0, 2);
    std::memcpy(&data[at + 6], &size, 2);
  };
  for (int i = 0; i < 20; ++i) {
    record(9, 24);
    record(68, 8);
  }
  EXPECT_EQ(perfdata::FindRecordBoundary(data, 0, 1024), 0u);
  EXPECT_EQ(perfdata::FindRecordBoundary(data, 8, 1024), 24u);  // 0xeeee... is no header
  EXPECT_EQ(perfdata::FindRecordBoundary(data, data.size() - 16, 1024), data.size() - 8);
  EXPECT_EQ(perfdata::FindRecordBoundary(data, data.size() - 24, 8), UINT64_MAX);
}

}  // namespace
}  // namespace exitprof::testing
