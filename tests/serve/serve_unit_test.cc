// exitprof serve's pure parts: the exposition text (both formats, exactly), the bounded reason
// set, the --listen parser and how KVM's statistics are named and bucketed.
#include <gtest/gtest.h>

#include <cmath>

#include "serve/bounded_reasons.h"
#include "serve/exposition.h"
#include "serve/http_server.h"
#include "serve/stats_tier.h"

namespace exitprof::serve {
namespace {

TEST(ServeExposition, TextAndOpenMetrics) {
  std::vector<Family> families;
  families.emplace_back("kvm_exits_total", MetricType::kCounter, "Exits\nby \"reason\"");
  families.back().Add({{"vm", "a\"b\\c"}, {"reason", "hlt"}}, 12);
  families.emplace_back("empty", MetricType::kGauge, "left out");
  families.emplace_back("d_seconds", MetricType::kHistogram, "h");
  families.back().AddHistogram({{"reason", "io"}}, {256e-9, INFINITY}, {3, 5}, 0.5);
  EXPECT_EQ(Render(families, Format::kText004),
            "# HELP kvm_exits_total Exits\\nby \"reason\"\n"
            "# TYPE kvm_exits_total counter\n"
            "kvm_exits_total{vm=\"a\\\"b\\\\c\",reason=\"hlt\"} 12\n"
            "# HELP d_seconds h\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{reason=\"io\",le=\"2.56e-07\"} 3\n"
            "d_seconds_bucket{reason=\"io\",le=\"+Inf\"} 5\n"
            "d_seconds_sum{reason=\"io\"} 0.5\n"
            "d_seconds_count{reason=\"io\"} 5\n");
  const std::string om = Render(families, Format::kOpenMetrics);
  EXPECT_NE(om.find("# TYPE kvm_exits counter\nkvm_exits_total{"), std::string::npos) << om;
  EXPECT_TRUE(om.ends_with("# EOF\n"));
}

TEST(ServeExposition, Negotiation) {
  EXPECT_EQ(NegotiateFormat(""), Format::kText004);
  EXPECT_EQ(NegotiateFormat("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"), Format::kOpenMetrics);
  EXPECT_EQ(std::string(ContentType(Format::kText004)), "text/plain; version=0.0.4; charset=utf-8");
}

TEST(ServeReasons, BoundedSet) {
  EXPECT_EQ(BoundedExitReason(kvm::Isa::kSvm, "npf"), "npf");
  EXPECT_EQ(BoundedExitReason(kvm::Isa::kSvm, "HLT"), "other");  // VMX's name under SVM
  EXPECT_EQ(BoundedExitReason(kvm::Isa::kVmx, "EPT_VIOLATION"), "EPT_VIOLATION");
  EXPECT_EQ(BoundedExitReason(kvm::Isa::kVmx, "XSETBV"), "other");
  EXPECT_EQ(BoundedExitReason(kvm::Isa::kVmx, "reason 99"), "other");
  EXPECT_EQ(BoundedUserspaceReason("KVM_EXIT_IO"), "KVM_EXIT_IO");
  EXPECT_EQ(BoundedUserspaceReason("KVM_EXIT_4242"), "other");
}

TEST(ServeListen, Parse) {
  auto a = ParseListen("127.0.0.1:9464");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9464);
  a = ParseListen("[::1]:0");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(ParseListen(":80")->host, "0.0.0.0");
  EXPECT_FALSE(ParseListen("localhost"));
  EXPECT_FALSE(ParseListen("1.2.3.4:70000"));
  EXPECT_EQ(ParseListen("1.2.3.4:x").error().message,
            "--listen 1.2.3.4:x: the port is not a number from 0 to 65535 (expected HOST:PORT, e.g. 127.0.0.1:9464)");
}

TEST(ServeStats, NamesFromDescriptors) {
  kvmstat::StatMeta wait{"halt_wait_ns", kvmstat::StatType::kCumulative, "ns"};
  auto e = ExposureOf(wait);
  EXPECT_EQ(e.name, "kvm_stat_halt_wait_seconds_total");
  EXPECT_EQ(e.type, MetricType::kCounter);
  EXPECT_DOUBLE_EQ(e.Convert(1500), 1.5e-6);
  EXPECT_EQ(ExposureOf({"exits", kvmstat::StatType::kCumulative, ""}).name, "kvm_stat_exits_total");
  EXPECT_EQ(ExposureOf({"pages_4k", kvmstat::StatType::kInstant, "pages"}).name, "kvm_stat_pages_4k_bytes");
  EXPECT_EQ(ExposureOf({"max_mmu_rmap_size", kvmstat::StatType::kPeak, ""}).type, MetricType::kGauge);
}

TEST(ServeStats, Log2HistogramBuckets) {
  // KVM's log2 histogram: bucket 0 holds 0, bucket i holds [2^(i-1), 2^i) ns.
  kvmstat::StatMeta hist{"halt_wait_hist", kvmstat::StatType::kLogHist, "ns", 0, 0, 4};
  Family f("kvm_stat_halt_wait_hist_seconds", MetricType::kHistogram, "h");
  const uint64_t values[] = {1, 2, 0, 4};
  AddStatSamples(f, hist, ExposureOf(hist), values, {{"vm", "v"}});
  EXPECT_EQ(Render({f}, Format::kText004),
            "# HELP kvm_stat_halt_wait_hist_seconds h\n"
            "# TYPE kvm_stat_halt_wait_hist_seconds histogram\n"
            "kvm_stat_halt_wait_hist_seconds_bucket{vm=\"v\",le=\"0\"} 1\n"
            "kvm_stat_halt_wait_hist_seconds_bucket{vm=\"v\",le=\"1e-09\"} 3\n"
            "kvm_stat_halt_wait_hist_seconds_bucket{vm=\"v\",le=\"3e-09\"} 3\n"
            "kvm_stat_halt_wait_hist_seconds_bucket{vm=\"v\",le=\"+Inf\"} 7\n"
            "kvm_stat_halt_wait_hist_seconds_count{vm=\"v\"} 7\n");
}

}  // namespace
}  // namespace exitprof::serve
