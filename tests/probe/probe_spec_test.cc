// perf probe definitions parse into the parts perf sees, and resolved probes print as the exact
// tracefs lines perf writes (the expected lines are what `perf probe -D` (perf 6.1) printed for
// the same definitions). Bad definitions are refused naming the wrong part.
#include <gtest/gtest.h>

#include "probe/probe_command.h"
#include "probe/probe_spec.h"

namespace exitprof::probe {
namespace {

struct ParseCase {
  const char* text;
  const char* group;
  const char* event;
  const char* function;
  const char* source;
  int line;      // -1 = none
  int64_t offset;  // -1 = none
  bool is_return;
  const char* lazy;
  size_t args;
  const char* default_event;
};

TEST(ParseProbeSpec, PerfProbeDocumentationForms) {
  const ParseCase cases[] = {
      {"iowrite16", "", "", "iowrite16", "", -1, -1, false, "", 0, "iowrite16"},
      {"vfs_read%return $retval", "", "", "vfs_read", "", -1, -1, true, "", 1, "vfs_read__return"},
      {"g:e=vfs_read%return $retval:u32", "g", "e", "vfs_read", "", -1, -1, true, "", 1, "e__return"},
      {"myev=f+4 %di:u64", "", "myev", "f", "", -1, 4, false, "", 1, "myev"},
      {"f+0x10", "", "", "f", "", -1, 16, false, "", 0, "f"},
      {"f:1", "", "", "f", "", 1, -1, false, "", 0, "f_L1"},
      {"f@pt.c", "", "", "f", "pt.c", -1, -1, false, "", 0, "f"},
      {"f@src/pt.c:3", "", "", "f", "src/pt.c", 3, -1, false, "", 0, "f_L3"},
      {"pt.c:3", "", "", "", "pt.c", 3, -1, false, "", 0, ""},
      {"fs/read_write.c:512 count", "", "", "", "fs/read_write.c", 512, -1, false, "", 1, ""},
      {"schedule;update_rq_clock*", "", "", "schedule", "", -1, -1, false, "update_rq_clock*", 0, "schedule"},
      {"kernel/sched/core.c;update*", "", "", "", "kernel/sched/core.c", -1, -1, false, "update*", 0, ""},
      {"grp:ev=f +8(%sp):x32 v=%ax", "grp", "ev", "f", "", -1, -1, false, "", 2, "ev"},
      {"f ab=+0(+8(%sp)):s8 %ax:x16 %di:string", "", "", "f", "", -1, -1, false, "", 3, "f"},
      {"do_sys_open dfd filename:string flags mode", "", "", "do_sys_open", "", -1, -1, false, "", 4, "do_sys_open"},
      {"vp_notify.isra.0", "", "", "vp_notify.isra.0", "", -1, -1, false, "", 0, "vp_notify_isra_0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto spec = ParseProbeSpec(c.text);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->group, c.group);
    EXPECT_EQ(spec->event, c.event);
    EXPECT_EQ(spec->function, c.function);
    EXPECT_EQ(spec->source, c.source);
    EXPECT_EQ(spec->line ? static_cast<int>(*spec->line) : -1, c.line);
    EXPECT_EQ(spec->offset ? static_cast<int64_t>(*spec->offset) : -1, c.offset);
    EXPECT_EQ(spec->is_return, c.is_return);
    EXPECT_EQ(spec->lazy_pattern, c.lazy);
    EXPECT_EQ(spec->args.size(), c.args);
    EXPECT_EQ(DefaultEventName(*spec), c.default_event);
  }
}

TEST(ParseProbeArg, KindsNamesAndTypes) {
  struct Case {
    const char* text;
    ProbeArg::Kind kind;
    const char* name;
    const char* expr;
    const char* type;
  } cases[] = {
      {"%di", ProbeArg::Kind::kFetch, "", "%di", ""},
      {"v=%ax", ProbeArg::Kind::kFetch, "v", "%ax", ""},
      {"+8(%sp):x32", ProbeArg::Kind::kFetch, "", "+8(%sp)", "x32"},
      {"ab=+0(+8(%sp)):s8", ProbeArg::Kind::kFetch, "ab", "+0(+8(%sp))", "s8"},
      {"$retval", ProbeArg::Kind::kFetch, "", "$retval", ""},
      {"$stack3:u64", ProbeArg::Kind::kFetch, "", "$stack3", "u64"},
      {"@jiffies:u64", ProbeArg::Kind::kFetch, "", "@jiffies", "u64"},
      {"x", ProbeArg::Kind::kVariable, "", "x", ""},
      {"s:string", ProbeArg::Kind::kVariable, "", "s", "string"},
      {"n=dev->name:string", ProbeArg::Kind::kVariable, "n", "dev->name", "string"},
      {"vq->vdev.index", ProbeArg::Kind::kVariable, "", "vq->vdev.index", ""},
      {"buf[2]:x8", ProbeArg::Kind::kVariable, "", "buf[2]", "x8"},
      {"x:b4@2/32", ProbeArg::Kind::kVariable, "", "x", "b4@2/32"},
      {"$params", ProbeArg::Kind::kAllParams, "", "$params", ""},
      {"$vars", ProbeArg::Kind::kAllVars, "", "$vars", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto arg = ParseProbeArg(c.text);
    ASSERT_TRUE(arg) << arg.error().message;
    EXPECT_EQ(arg->kind, c.kind);
    EXPECT_EQ(arg->name, c.name);
    EXPECT_EQ(arg->expr, c.expr);
    EXPECT_EQ(arg->type, c.type);
  }
}

TEST(ParseProbeSpec, BadSpecsNameTheWrongPart) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"", "empty"},
      {"1ev=f", "\"1ev\" is bad for an event name"},
      {"my-grp:ev=f", "\"my-grp\" is bad for a group name"},
      {"f+4%return", "can't be used with a return probe"},
      {"f:3%return", "can't be used with a return probe"},
      {"f%retrun", "\"%retrun\" is not a probe suffix"},
      {"f+x", "\"+x\": expected a byte offset"},
      {"f:abc", "\":abc\": expected a line number"},
      {"pt.c", "needs :LINE or ;PATTERN"},
      {"pt.c+4", "+OFFSET needs a function"},
      {"f;", "empty lazy pattern"},
      {"f@", "empty source file"},
      {"ev=", "no function"},
      {"f 1x=%di", "\"1x\" is not a valid argument name"},
      {"f x:", "empty type"},
      {"f a+b", "\"a+b\" is neither a variable"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto spec = ParseProbeSpec(c.text);
    ASSERT_FALSE(spec);
    EXPECT_NE(spec.error().message.find(c.says), std::string::npos) << spec.error().message;
    EXPECT_EQ(spec.error().exit_code, 2);
  }
}

TEST(ProbeDefinition, MatchesWhatPerfWrites) {
  // Uprobes: `perf probe -x /tmp/pt -D ...` on a test binary whose f is at file offset 0x1190.
  ResolvedProbe u;
  u.is_uprobe = true;
  u.binary = "/tmp/pt";
  u.group = UprobeGroupFor(u.binary);
  u.event = "f";
  u.file_offset = 0x1190;
  EXPECT_EQ(ProbeDefinition(u), "p:probe_pt/f /tmp/pt:0x1190");
  u.args = {{"x", "%di", "s32"}, {"s_string", "+0(%si)", "string"}};
  EXPECT_EQ(ProbeDefinition(u), "p:probe_pt/f /tmp/pt:0x1190 x=%di:s32 s_string=+0(%si):string");
  u.args = {{"", "+8(%sp)", "x32"}, {"v", "%ax", ""}};
  u.group = "grp";
  u.event = "ev";
  EXPECT_EQ(ProbeDefinition(u), "p:grp/ev /tmp/pt:0x1190 +8(%sp):x32 v=%ax");
  u.group = "probe_pt";
  u.event = "f__return";
  u.is_return = true;
  u.args = {{"", "$retval", ""}};
  EXPECT_EQ(ProbeDefinition(u), "r:probe_pt/f__return /tmp/pt:0x1190 $retval");

  // Kprobes: entry probes as _text+DECIMAL, return probes as SYMBOL+0 (perf probe -D vfs_read...).
  ResolvedProbe k;
  k.group = "probe";
  k.event = "vfs_read";
  k.symbol = "vfs_read";
  k.text_offset = 7045684;
  k.args = {{"", "%di", ""}};
  EXPECT_EQ(ProbeDefinition(k), "p:probe/vfs_read _text+7045684 %di");
  k.is_return = true;
  k.group = "g";
  k.event = "e__return";
  k.args = {{"", "$retval", "u32"}};
  EXPECT_EQ(ProbeDefinition(k), "r:g/e__return vfs_read+0 $retval:u32");
  EXPECT_EQ(ProbeRemoval("probe_pt", "f"), "-:probe_pt/f");
}

TEST(UprobeGroupFor, TakesTheLeadingIdentifierOfTheBasename) {
  EXPECT_EQ(UprobeGroupFor("/tmp/pt"), "probe_pt");
  EXPECT_EQ(UprobeGroupFor("/tmp/my-prog.v2"), "probe_my");
  EXPECT_EQ(UprobeGroupFor("/usr/lib/x86_64-linux-gnu/libc.so.6"), "probe_libc");
  EXPECT_EQ(UprobeGroupFor("9lives"), "probe_9lives");
}

TEST(CheckFetch, AcceptsWhatTheKernelTakesAndExplainsTheRest) {
  for (const char* ok : {"%di", "%r15", "+8(%sp)", "-16(%bp)", "+0(+8(%sp))", "$stack", "$stack2", "$comm", "\\42",
                         "\\0x10", "@jiffies"}) {
    EXPECT_TRUE(CheckFetch(ok, false, false)) << ok;
  }
  EXPECT_TRUE(CheckFetch("$retval", true, true));
  EXPECT_TRUE(CheckFetch("@+0x4010", false, true));
  struct Case {
    const char* fetch;
    bool is_return, is_uprobe;
    const char* says;
  } bad[] = {
      {"%zz", false, true, "not an x86-64 register"},
      {"$retval", false, true, "only available in a return probe"},
      {"$foo", false, false, "not a special variable"},
      {"+8%sp", false, false, "expected +|-OFFSET(FETCH)"},
      {"+z(%sp)", false, false, "expected a decimal or 0x offset"},
      {"+0(+0(+0(+0(%sp))))", false, false, "nest at most 3 deep"},
      {"@jiffies", false, true, "uprobe fetches memory as @ADDR"},
  };
  for (const auto& c : bad) {
    auto r = CheckFetch(c.fetch, c.is_return, c.is_uprobe);
    ASSERT_FALSE(r) << c.fetch;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
  }
  for (const char* ok : {"u8", "s64", "x32", "string", "ustring", "symbol", "b4@2/32", "u32[4]"}) {
    EXPECT_TRUE(CheckType(ok)) << ok;
  }
  for (const char* no : {"u7", "bogus", "b4@2", "b4/32@2", "x128", "u8[x]"}) EXPECT_FALSE(CheckType(no)) << no;
}

}  // namespace
}  // namespace exitprof::probe
