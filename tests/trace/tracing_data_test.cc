// TRACING_DATA: what we encode, we parse back; what perf wrote, libtraceevent understands.
#include <gtest/gtest.h>

#include <traceevent/event-parse.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "perfdata/reader.h"
#include "test_support.h"
#include "trace/trace_events.h"
#include "trace/tracing_data.h"

namespace exitprof::testing {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(TracingData, EncodeParseRoundTrip) {
  trace::TracingData td;
  td.header_page = ReadText(FormatsDir() + "/header_page");
  td.header_event = ReadText(FormatsDir() + "/header_event");
  td.formats.push_back({"kvm", ReadText(FormatsDir() + "/kvm/kvm_exit")});
  td.formats.push_back({"kvm", ReadText(FormatsDir() + "/kvm/kvm_pio")});
  td.saved_cmdlines = "1234 CPU 0/KVM\n";
  auto bytes = trace::EncodeTracingData(td);
  auto back = trace::ParseTracingData(bytes, "test");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->header_page, td.header_page);
  ASSERT_EQ(back->formats.size(), 2u);
  EXPECT_EQ(back->formats[1].text, td.formats[1].text);
  EXPECT_EQ(back->saved_cmdlines, td.saved_cmdlines);
  auto events = trace::TraceEvents::Create(*back, "test");
  ASSERT_TRUE(events);
  auto* exit = (*events)->FindByName("kvm", "kvm_exit");
  ASSERT_NE(exit, nullptr);
  EXPECT_EQ(trace::TraceEvents::FullName(exit), "kvm:kvm_exit");
  auto rip = trace::TraceEvents::Field(exit, "guest_rip");
  EXPECT_EQ(rip.offset, 16u);
  EXPECT_EQ(rip.size, 8u);
  EXPECT_FALSE(trace::TraceEvents::Field(exit, "no_such_field").valid());
}

TEST(TracingData, TruncationsAreRefusedWithAnOffset) {
  trace::TracingData td;
  td.header_page = ReadText(FormatsDir() + "/header_page");
  td.header_event = ReadText(FormatsDir() + "/header_event");
  td.formats.push_back({"kvm", ReadText(FormatsDir() + "/kvm/kvm_exit")});
  auto bytes = trace::EncodeTracingData(td);
  for (size_t cut : {size_t{0}, size_t{5}, size_t{12}, size_t{20}, size_t{100}, bytes.size() / 2}) {
    std::vector<uint8_t> part(bytes.begin(), bytes.begin() + static_cast<long>(cut));
    auto r = trace::ParseTracingData(part, "cut");
    EXPECT_FALSE(r) << cut;
    if (!r) {
      EXPECT_EQ(r.error().message.rfind("cut: ", 0), 0u) << r.error().message;
    }
  }
}

TEST(TracingData, ReasonNamesComeFromTheRecordingsOwnFormat) {
  // Old kernels printed "reason X rip ... info A B" with a table of their own: the name must
  // come out of that file's print fmt.
  trace::TracingData td;
  td.header_page = ReadText(FormatsDir() + "/header_page");
  td.header_event = ReadText(FormatsDir() + "/header_event");
  td.formats.push_back({"kvm", ReadText(FormatsDir() + "/linux-4.19/kvm_exit")});
  auto events = trace::TraceEvents::Create(td, "old");
  ASSERT_TRUE(events);
  auto* exit = (*events)->FindByName("kvm", "kvm_exit");
  ASSERT_NE(exit, nullptr);
  std::vector<uint8_t> raw(48, 0);
  uint16_t type = static_cast<uint16_t>(exit->id);
  std::memcpy(raw.data(), &type, 2);
  uint32_t reason = 30, isa = 1;
  uint64_t rip = 0xffffffff8176a3b6ULL;
  std::memcpy(raw.data() + 8, &reason, 4);
  std::memcpy(raw.data() + 16, &rip, 8);
  std::memcpy(raw.data() + 24, &isa, 4);
  std::string text;
  (*events)->FormatPayload(exit, raw, 0, 0, text);
  EXPECT_EQ(text, "reason IO_INSTRUCTION rip 0xffffffff8176a3b6 info 0 0");
}

}  // namespace
}  // namespace exitprof::testing
