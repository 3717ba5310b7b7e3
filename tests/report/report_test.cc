// The report model over a generated recording: shares, rates and ordering of rows.
#include <gtest/gtest.h>

#include "recording_gen.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

TEST(ReportModel, SharesRatesAndOrder) {
  gen::GenOptions o;
  o.formats_dir = FormatsDir();
  o.exits = 4000;
  const std::string path = TempPath("model.data");
  auto truth = gen::GenerateRecording(o, path);
  ASSERT_TRUE(truth);
  auto report = ReadReport(path, {}, 1);
  ASSERT_TRUE(report);
  const auto& m = report->model;
  double share = 0;
  for (size_t i = 0; i < m.by_reason.size(); ++i) {
    share += m.by_reason[i].percent;
    if (i) {
      EXPECT_GE(m.by_reason[i - 1].count, m.by_reason[i].count);
    }
    EXPECT_NEAR(m.by_reason[i].rate_per_s, m.by_reason[i].count / m.span_s, 1e-6);
  }
  EXPECT_NEAR(share, 100.0, 1e-9);
  EXPECT_EQ(m.by_rip.size(), m.by_reason.size()) << "--top 1 keeps one RIP per reason";
  EXPECT_DOUBLE_EQ(m.span_s, (truth->last_ns - truth->first_ns) / 1e9);
}

}  // namespace
}  // namespace exitprof::testing
