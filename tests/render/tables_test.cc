// The report's tables as declared once (render/report_tables.h): each output derives from the one
// declaration, so the bugs of three hand-written copies (issue 15) stay fixed.
#include <gtest/gtest.h>

#include "render/report_render.h"
#include "render/report_tables.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

using analysis::ReportModel;

ReportModel WithAccesses() {
  ReportModel m;
  m.has_kvm_exit = true;
  for (uint16_t port : {0x3f8, 0x3fd, 0x70, 0x71}) {
    m.pio_from_exits.push_back({port, port == 0x3f8 || port == 0x70, 1, uint64_t{0x400u - port}, "port", {}});
  }
  for (uint64_t gpa : {0xfee000b0ull, 0xfed000f0ull, 0xfec00000ull}) m.mmio.push_back({gpa, "write", 4, gpa & 0xff, "", {}});
  m.injected.push_back({0xec, false, 7});
  m.injected.push_back({0x80, true, 2});
  for (const char* reason : {"HLT", "IO_INSTRUCTION"}) {
    for (int i = 0; i < 3; ++i) m.by_sym.push_back({reason, "f" + std::to_string(i), "", uint64_t(30 - i), 10.0, 1});
  }
  m.guest_symbols = "kallsyms";
  return m;
}

// The injected table had text and JSON but no CSV.
TEST(ReportTables, InjectedHasCsv) {
  EXPECT_EQ(render::RenderCsv(WithAccesses(), "injected"), "vector,soft,count\n236,0,7\n128,1,2\n");
}

// Without kvm_pio, text showed the ports decoded from IO exits while CSV printed no row.
TEST(ReportTables, PioCsvFallsBackToPortsFromExits) {
  const std::string csv = render::RenderCsv(WithAccesses(), "pio");
  EXPECT_EQ(csv, "port,direction,size,count\n0x3f8,write,1,8\n0x3fd,read,1,3\n0x70,write,1,912\n0x71,read,1,911\n");
}

// --top reached the RIP table only: the function, port and MMIO tables printed every row.
TEST(ReportTables, TopLimitsFunctionPortAndMmioTables) {
  const ReportModel m = WithAccesses();
  render::TextOptions o{{"sym", "pio", "mmio"}, 2};
  const std::string text = render::RenderText(m, o);
  EXPECT_NE(text.find("f1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("f2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("0x3fd"), std::string::npos) << text;
  EXPECT_EQ(text.find("0x70"), std::string::npos) << text;
  EXPECT_NE(text.find("0xfed000f0"), std::string::npos) << text;
  EXPECT_EQ(text.find("0xfec00000"), std::string::npos) << text;
  EXPECT_EQ(render::RenderCsv(m, "pio", 2), "port,direction,size,count\n0x3f8,write,1,8\n0x3fd,read,1,3\n");
  o.top = 0;
  EXPECT_NE(render::RenderText(m, o).find("f2\n"), std::string::npos);
}

// --by accepts exactly the registry's tables, and --help names each of them.
TEST(ReportTables, ByListAndHelpComeFromTheRegistry) {
  auto help = RunCommand(Exitprof() + " report --help");
  std::string joined;
  for (const auto& name : render::ReportTableNames()) {
    joined += (joined.empty() ? "" : ",") + name;
    render::Table t;
    EXPECT_TRUE(render::BuildReportTable(WithAccesses(), name, {}, &t)) << name;
    EXPECT_EQ(t.name, name);
    EXPECT_NE(help.out.find("\n  " + name + " "), std::string::npos) << name << " has no line in --help";
  }
  EXPECT_NE(help.out.find(joined), std::string::npos) << help.out;
  auto bad = RunCommand(Exitprof() + " report -i " + SourceDir() + "/data/demo-vmx.perf.data --by nonsense");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find(joined), std::string::npos) << bad.err;
}

// A table asked for by name that has no row says why: not recorded, not asked for, filtered out.
TEST(ReportTables, EmptyTableSaysWhy) {
  ReportModel m = WithAccesses();
  m.events = {{"kvm:kvm_exit", 0}, {"kvm:kvm_msr", 0}};
  const std::string text = render::RenderText(m, {{"reason", "latency", "msr", "injected", "timeline"}, 10});
  EXPECT_NE(text.find("# Exits by reason: 0 exits\n#   no rows: no exit passed the filters"), std::string::npos) << text;
  EXPECT_NE(text.find("#   no rows: needs --latency\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# MSR accesses (kvm_msr)\n#   no rows: kvm:kvm_msr was recorded, but none fired"), std::string::npos) << text;
  EXPECT_NE(text.find("#   no rows: needs --timeline"), std::string::npos) << text;
  EXPECT_NE(text.find("# Injected interrupts (kvm_inj_virq)\n"), std::string::npos) << text;  // it has rows
  // Not asked for by name: an empty table is left out, as before.
  EXPECT_EQ(render::RenderText(m, {{}, 10}).find("no rows"), std::string::npos);
}

}  // namespace
}  // namespace exitprof::testing
