// Records reach ordered sinks in time order across CPUs, as perf's ordered-events queue
// delivers them, even though the file holds them per CPU per round.
#include <gtest/gtest.h>

#include "perfdata/abi.h"
#include "recording_gen.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

class TimeChecker : public recording::EventSink {
 public:
  Result<void> OnSessionReady(const recording::SessionInfo&) override { return {}; }
  void OnEvent(const perfdata::Event& e) override {
    if (e.type != perfdata::kRecordSample) return;
    ++samples;
    if (e.time < last) ++backwards;
    last = e.time;
  }
  uint64_t samples = 0, backwards = 0, last = 0;
};

TEST(Ordering, FixtureIsDeliveredInTimeOrder) {
  const std::string path = SharedDir() + "/fixtures/small-vmx.data";
  if (!FileExists(path)) GTEST_SKIP() << "needs " << path;
  // The file itself is not sorted: read in file order, time goes backwards.
  {
    auto reader = perfdata::Reader::Open(path);
    ASSERT_TRUE(reader);
    (*reader)->SetOrdered(false);
    TimeChecker unordered;
    ASSERT_TRUE((*reader)->Run(unordered));
    EXPECT_GT(unordered.backwards, 0u);
  }
  auto reader = perfdata::Reader::Open(path);
  ASSERT_TRUE(reader);
  TimeChecker ordered;
  auto stats = (*reader)->Run(ordered);
  ASSERT_TRUE(stats);
  EXPECT_EQ(ordered.samples, 20000u);
  EXPECT_EQ(ordered.backwards, 0u);
  EXPECT_EQ(stats->out_of_order, 0u);
}

TEST(Ordering, PipeStreamIsDeliveredInTimeOrder) {
  gen::GenOptions o;
  o.formats_dir = FormatsDir();
  o.exits = 20000;
  o.pipe = true;
  const std::string path = TempPath("order-pipe.data");
  ASSERT_TRUE(gen::GenerateRecording(o, path));
  FILE* f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  auto reader = perfdata::Reader::OpenStream(fileno(f), path);
  ASSERT_TRUE(reader) << reader.error().message;
  TimeChecker checker;
  auto stats = (*reader)->Run(checker);
  std::fclose(f);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_GT(checker.samples, 40000u);
  EXPECT_EQ(checker.backwards, 0u);
}

}  // namespace
}  // namespace exitprof::testing
