// The binary stats parser on layouts built byte by byte as the kernel lays them out, including
// every histogram kind and damaged headers (one clear error, never a crash).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kvmstat/binary_stats.h"
#include "kvmstat/event_counters.h"
#include "kvmstat/qmp_stats.h"

namespace exitprof::testing {
namespace {

struct Desc {
  uint32_t flags;
  int16_t exponent;
  uint16_t size;
  uint32_t offset;
  uint32_t bucket_size;
  std::string name;
};

template <typename T>
void Put(std::vector<uint8_t>& b, size_t at, T v) {
  if (b.size() < at + sizeof v) b.resize(at + sizeof v);
  std::memcpy(b.data() + at, &v, sizeof v);
}

// header (24 bytes), id, descriptors, data: the kernel's order.
std::vector<uint8_t> Layout(const std::string& id, const std::vector<Desc>& descs, uint32_t name_size = 48) {
  std::vector<uint8_t> b;
  const uint32_t id_offset = 24, desc_offset = id_offset + name_size;
  const uint32_t data_offset = desc_offset + static_cast<uint32_t>(descs.size()) * (16 + name_size);
  Put<uint32_t>(b, 0, 0);
  Put<uint32_t>(b, 4, name_size);
  Put<uint32_t>(b, 8, static_cast<uint32_t>(descs.size()));
  Put<uint32_t>(b, 12, id_offset);
  Put<uint32_t>(b, 16, desc_offset);
  Put<uint32_t>(b, 20, data_offset);
  b.resize(data_offset);
  std::memcpy(b.data() + id_offset, id.data(), id.size());
  for (size_t i = 0; i < descs.size(); ++i) {
    size_t at = desc_offset + i * (16 + name_size);
    Put(b, at, descs[i].flags);
    Put(b, at + 4, descs[i].exponent);
    Put(b, at + 6, descs[i].size);
    Put(b, at + 8, descs[i].offset);
    Put(b, at + 12, descs[i].bucket_size);
    std::memcpy(b.data() + at + 16, descs[i].name.data(), descs[i].name.size());
  }
  return b;
}

TEST(BinaryStatsLayout, EveryTypeUnitAndBase) {
  auto bytes = Layout("kvm-42/vcpu-1", {
                                           {0x000, 0, 1, 0, 0, "exits"},                  // cumulative
                                           {0x111, 12, 1, 8, 0, "pages_4k"},              // instant, bytes, base 2: pages
                                           {0x002, 0, 1, 16, 0, "max_mmu_rmap_size"},     // peak
                                           {0x023, -9, 4, 24, 100, "lin_hist"},           // linear, ns
                                           {0x024, -9, 32, 56, 0, "halt_wait_hist"},      // log2, ns
                                           {0x120, 3, 1, 312, 0, "pow2_seconds"},         // seconds, base 2
                                       });
  auto layout = kvmstat::ParseStatsLayout(bytes, "test");
  ASSERT_TRUE(layout) << layout.error().message;
  EXPECT_EQ(layout->id, "kvm-42/vcpu-1");
  ASSERT_EQ(layout->descriptors.size(), 6u);
  EXPECT_EQ(layout->data_size, 320u);
  const auto& d = layout->descriptors;
  EXPECT_EQ(d[0].type, kvmstat::StatType::kCumulative);
  EXPECT_EQ(kvmstat::UnitLabel(d[0]), "");
  EXPECT_EQ(d[1].type, kvmstat::StatType::kInstant);
  EXPECT_EQ(kvmstat::UnitLabel(d[1]), "pages");
  EXPECT_EQ(d[2].type, kvmstat::StatType::kPeak);
  EXPECT_EQ(d[3].type, kvmstat::StatType::kLinearHist);
  EXPECT_EQ(d[3].bucket_size, 100u);
  EXPECT_EQ(kvmstat::UnitLabel(d[3]), "ns");
  EXPECT_EQ(d[4].type, kvmstat::StatType::kLogHist);
  EXPECT_EQ(d[4].size, 32);
  EXPECT_EQ(kvmstat::UnitLabel(d[5]), "2^3 s");
}

TEST(BinaryStatsLayout, DamagedHeadersAreRefusedWithAReason) {
  auto good = Layout("kvm-1", {{0, 0, 1, 0, 0, "exits"}});
  for (size_t cut = 0; cut < good.size(); ++cut) {
    auto layout = kvmstat::ParseStatsLayout(std::span(good.data(), cut), "fd 7");
    ASSERT_FALSE(layout) << "cut at " << cut;
    EXPECT_EQ(layout.error().message.rfind("fd 7: ", 0), 0u) << layout.error().message;
  }
  auto bad_type = Layout("kvm-1", {{0x7, 0, 1, 0, 0, "x"}});
  auto r = kvmstat::ParseStatsLayout(bad_type, "fd 7");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("type 7, expected 0..4"), std::string::npos) << r.error().message;
  auto misaligned = Layout("kvm-1", {{0, 0, 1, 4, 0, "x"}});
  EXPECT_FALSE(kvmstat::ParseStatsLayout(misaligned, "fd 7"));
  auto scalar_of_two = Layout("kvm-1", {{0, 0, 2, 0, 0, "x"}});
  EXPECT_FALSE(kvmstat::ParseStatsLayout(scalar_of_two, "fd 7"));
  auto huge = Layout("kvm-1", {{0, 0, 1, 0, 0, "x"}});
  Put<uint32_t>(huge, 8, 1u << 30);  // num_desc
  EXPECT_FALSE(kvmstat::ParseStatsLayout(huge, "fd 7"));
}

TEST(QmpStats, ParsesValuesHistogramsAndUnits) {
  auto schemas = kvmstat::ParseQmpSchemas(nlohmann::json::parse(R"([
    {"provider":"kvm","target":"vcpu","stats":[
      {"name":"halt_wait_ns","type":"cumulative","unit":"seconds","base":10,"exponent":-9},
      {"name":"halt_wait_hist","type":"log2-histogram","unit":"seconds","base":10,"exponent":-9},
      {"name":"exits","type":"cumulative","base":10,"exponent":0}]},
    {"provider":"kvm","target":"vm","stats":[
      {"name":"pages_4k","type":"instant","unit":"bytes","base":2,"exponent":12}]}])"));
  ASSERT_TRUE(schemas) << schemas.error().message;
  auto table = kvmstat::ParseQmpStats(nlohmann::json::parse(R"([
    {"name":"exits","value":7},{"name":"halt_wait_ns","value":1000},{"name":"halt_wait_hist","value":[1,0,2]}])"),
                                  schemas->vcpu);
  ASSERT_TRUE(table) << table.error().message;
  ASSERT_EQ(table->meta->size(), 3u);
  EXPECT_EQ((*table->meta)[1].unit, "ns");
  EXPECT_EQ((*table->meta)[2].type, kvmstat::StatType::kLogHist);
  EXPECT_EQ((*table->meta)[2].size, 3u);
  EXPECT_EQ(table->values, (std::vector<uint64_t>{7, 1000, 1, 0, 2}));
  EXPECT_EQ(schemas->vm.at("pages_4k").unit, "pages");
  EXPECT_FALSE(kvmstat::ParseQmpStats(nlohmann::json::parse(R"([{"name":"x","value":"text"}])"), {}));
  EXPECT_FALSE(kvmstat::ParseQmpStats(nlohmann::json::parse(R"({"name":"x"})"), {}));
}

}  // namespace
}  // namespace exitprof::testing
