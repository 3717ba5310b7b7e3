// Text users have that older readers refused (issue 16): text from pipes, old kernels' and
// tools' reason names, reduced perf script -F columns, quoted-printable mail, trace-cmd text
// without its line prefix and with wrapped payloads. Each input is built from what real tools
// print for the fixtures and must count as the binary recording does.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <regex>
#include <sstream>

#include "textcapture/line_source.h"
#include "textcapture_support.h"

namespace exitprof::testing {
namespace {

std::string Dir() {
  static const std::string dir = [] {
    std::string d = TempPath("textinputs");
    RunCommand("mkdir -p " + d);
    return d;
  }();
  return dir;
}
std::string Fixture(const std::string& name) { return SharedDir() + "/fixtures/" + name; }

// `perf script [-F FIELDS]` of a fixture into a file; empty without perf.
std::string PerfScriptText(const std::string& fixture, const std::string& fields = "") {
  const std::string out = Dir() + "/" + fixture + (fields.empty() ? "" : "." + fields) + ".txt";
  auto r = RunCommand("perf script " + (fields.empty() ? std::string() : "-F " + fields + " ") + "-i " +
                      Fixture(fixture) + " > " + out + " 2>/dev/null");
  return r.status == 0 ? out : std::string();
}

// Every line of a file through `edit`, into a new file.
std::string Rewrite(const std::string& from, const std::string& name, const std::function<std::string(const std::string&)>& edit) {
  std::istringstream in(ReadText(from));
  std::string line, out;
  while (std::getline(in, line)) out += edit(line);
  const std::string path = Dir() + "/" + name;
  WriteText(path, out);
  return path;
}

std::map<std::string, uint64_t> Reasons(const nlohmann::json& report) {
  std::map<std::string, uint64_t> out;
  for (const auto& r : report["exits"]["by_reason"]) out[r["reason"]] = r["count"];
  return out;
}

#define NEED_PERF() \
  if (!HavePerf()) GTEST_SKIP() << "needs perf (perf script prints the capture)"

// PENDING_INTERRUPT is INTERRUPT_WINDOW's name before Linux 5.6 (and trace-cmd's kvm plugin's).
// The fixture has no interrupt-window exits: its PAUSE_INSTRUCTION lines are renamed.
TEST(TextInputs, PendingInterruptIsInterruptWindow) {
  NEED_PERF();
  const std::string text = PerfScriptText("small-vmx.data");
  ASSERT_FALSE(text.empty());
  int renamed = 0;
  auto old = Rewrite(text, "pending.txt", [&](const std::string& l) {
    auto at = l.find(" reason PAUSE_INSTRUCTION ");
    if (at == std::string::npos) return l + "\n";
    ++renamed;
    return l.substr(0, at) + " reason PENDING_INTERRUPT " + l.substr(at + 26) + "\n";
  });
  ASSERT_GT(renamed, 0);
  auto want = Reasons(ReportJson("-i " + Fixture("small-vmx.data")));
  want["INTERRUPT_WINDOW"] = want["PAUSE_INSTRUCTION"];
  want.erase("PAUSE_INSTRUCTION");
  auto fromtext = ReportJson("-i " + old);
  EXPECT_EQ(fromtext["text_capture"]["unparsed_lines"], 0);
  EXPECT_EQ(Reasons(fromtext), want);
  EXPECT_EQ(Reasons(fromtext)["INTERRUPT_WINDOW"], static_cast<uint64_t>(renamed));
}

// The oldest kvm_exit: "reason io_instruction rip 0x..", lower case, no vcpu, no info fields,
// with the 2.6.3x names that are not the upper-case ones lowered ("halt", "wrmsr").
TEST(TextInputs, OldestKvmExitFormatWithLowerCaseNames) {
  NEED_PERF();
  const std::string text = PerfScriptText("small-vmx.data");
  ASSERT_FALSE(text.empty());
  const std::map<std::string, std::string> old_names = {
      {"HLT", "halt"},         {"MSR_READ", "rdmsr"},       {"MSR_WRITE", "wrmsr"},
      {"EXTERNAL_INTERRUPT", "ext_irq"}, {"EXCEPTION_NMI", "exception"}, {"VMCALL", "hypercall"},
      {"TPR_BELOW_THRESHOLD", "tpr_below_thres"}};
  const std::regex exit_re(R"(kvm:kvm_exit: vcpu \d+ reason (\S+) rip (0x[0-9a-f]+) .*)");
  auto old = Rewrite(text, "oldest.txt", [&](const std::string& l) {
    std::smatch m;
    if (!std::regex_search(l, m, exit_re)) return l + "\n";
    std::string name = m[1];
    if (auto it = old_names.find(name); it != old_names.end()) name = it->second;
    else for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return l.substr(0, static_cast<size_t>(m.position(0))) + "kvm:kvm_exit: reason " + name + " rip " + m[2].str() + "\n";
  });
  auto binary = ReportJson("-i " + Fixture("small-vmx.data")), fromtext = ReportJson("-i " + old);
  ASSERT_FALSE(fromtext.contains("error")) << fromtext.dump();
  EXPECT_EQ(fromtext["text_capture"]["unparsed_lines"], 0);
  EXPECT_EQ(Reasons(fromtext), Reasons(binary));
  EXPECT_EQ(fromtext["exits"]["isa"], "VMX");  // "cpuid" is SVM's name too: the others settle it
  // script prints the old lines back as they were.
  auto script = RunCommand(Exitprof() + " script -i " + old);
  EXPECT_TRUE(SameLines(ReadText(old), script.out));
}

// trace-cmd's kvm plugin prints SVM reasons as the SVM_EXIT_* macros: "EXIT_NPF", "EXIT_IOIO",
// "EXIT_EXCP_PF", and kvm_exit as "reason X rip 0x.. info A B".
TEST(TextInputs, TraceCmdPluginSvmNames) {
  NEED_PERF();
  const std::string text = PerfScriptText("small-svm.data");
  ASSERT_FALSE(text.empty());
  const std::map<std::string, std::string> plugin = {{"io", "EXIT_IOIO"}, {"interrupt", "EXIT_INTR"},
                                                     {"hypercall", "EXIT_VMMCALL"}};
  const std::regex exit_re(R"(kvm:kvm_exit: vcpu \d+ reason (.+) rip (0x[0-9a-f]+) info1 0x([0-9a-f]+) info2 0x([0-9a-f]+) .*)");
  std::set<std::string> seen;
  auto converted = Rewrite(text, "svm-plugin.txt", [&](const std::string& l) {
    std::smatch m;
    if (!std::regex_search(l, m, exit_re)) return l + "\n";
    std::string name = m[1], out;
    if (auto it = plugin.find(name); it != plugin.end()) out = it->second;
    else if (name.size() == 7 && name.substr(2) == " excp") out = "EXIT_EXCP_" + name.substr(0, 2);
    else {
      out = "EXIT_" + name;
      for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    seen.insert(out);
    return l.substr(0, static_cast<size_t>(m.position(0))) + "kvm:kvm_exit: reason " + out + " rip " + m[2].str() +
           " info " + m[3].str() + " " + m[4].str() + "\n";
  });
  ASSERT_TRUE(seen.count("EXIT_NPF")) << "the fixture has npf exits";
  auto binary = ReportJson("-i " + Fixture("small-svm.data")), fromtext = ReportJson("-i " + converted);
  ASSERT_FALSE(fromtext.contains("error")) << fromtext.dump();
  EXPECT_EQ(fromtext["text_capture"]["unparsed_lines"], 0);
  EXPECT_EQ(Reasons(fromtext), Reasons(binary));
  EXPECT_EQ(fromtext["exits"]["isa"], "SVM");
}

// A name no table has is counted under its own name; the plugin's "UNKNOWN (12)" is reason 12.
TEST(TextInputs, UnknownReasonNamesAreCountedNotDropped) {
  NEED_PERF();
  const std::string text = PerfScriptText("small-vmx.data");
  ASSERT_FALSE(text.empty());
  auto edited = Rewrite(text, "unknown.txt", [&](const std::string& l) {
    std::string s = l;
    if (auto at = s.find(" reason CPUID "); at != std::string::npos) s.replace(at, 14, " reason CPUID_FROM_2031 ");
    if (auto at = s.find(" reason HLT "); at != std::string::npos) s.replace(at, 12, " reason UNKNOWN (12) ");
    return s + "\n";
  });
  auto binary = Reasons(ReportJson("-i " + Fixture("small-vmx.data")));
  auto j = ReportJson("-i " + edited);
  ASSERT_FALSE(j.contains("error")) << j.dump();
  EXPECT_EQ(j["text_capture"]["unparsed_lines"], 0);
  ASSERT_GT(binary["CPUID"], 0u);
  binary["CPUID_FROM_2031"] = binary["CPUID"];
  binary.erase("CPUID");
  EXPECT_EQ(Reasons(j), binary);
  bool noted = false;
  for (const auto& n : j["notes"]) noted |= n.get<std::string>().find("counted under their own name: CPUID_FROM_2031") != std::string::npos;
  EXPECT_TRUE(noted) << j["notes"].dump();
}

// perf script -F with fewer columns: counts as the binary, and script prints the text back
// byte for byte (no column it did not have).
TEST(TextInputs, ReducedPerfScriptFields) {
  NEED_PERF();
  auto binary = ReportJson("-i " + Fixture("small-vmx.data"));
  for (const char* fields : {"comm,time,event,trace", "time,event,trace", "comm,tid,time,event,trace",
                             "comm,cpu,time,event,trace", "tid,time,event,trace", "comm,pid,tid,time,event,trace"}) {
    const std::string text = PerfScriptText("small-vmx.data", fields);
    ASSERT_FALSE(text.empty()) << fields;
    auto j = ReportJson("-i " + text);
    ASSERT_FALSE(j.contains("error")) << fields << ": " << j.dump();
    EXPECT_EQ(j["text_capture"]["unparsed_lines"], 0) << fields;
    EXPECT_EQ(j["samples"], 20000) << fields;
    EXPECT_EQ(Reasons(j), Reasons(binary)) << fields;
    if (std::string(fields).find("pid") == std::string::npos) {
      auto script = RunCommand(Exitprof() + " script -i " + text);
      EXPECT_TRUE(SameLines(ReadText(text), script.out)) << fields;
    }
  }
}

// RFC 2045 quoted-printable, as mail clients send long lines: '=' as "=3D", lines broken at
// 76 columns with a soft break '=' (quoted replies carry "> " on every physical line).
TEST(TextInputs, QuotedPrintableMail) {
  NEED_PERF();
  const std::string text = PerfScriptText("small-vmx.data", "comm,tid,cpu,time,event,trace");
  ASSERT_FALSE(text.empty());
  std::istringstream in(ReadText(text));
  std::string line, plain, mail = "Content-Transfer-Encoding: quoted-printable\n\nHi,=20\nhere it is:\n";
  int n = 0;
  while (std::getline(in, line) && n++ < 2000) {
    plain += line + "\n";
    std::string enc;
    for (char c : line) enc += c == '=' ? std::string("=3D") : std::string(1, c);
    const char* quote = n % 2 ? "> " : "";
    for (size_t at = 0; at < enc.size();) {
      size_t len = std::min<size_t>(73, enc.size() - at);
      while (len > 3 && at + len < enc.size() && (enc[at + len - 1] == '=' || enc[at + len - 2] == '=')) --len;  // not inside =XX
      mail += quote + enc.substr(at, len) + (at + len < enc.size() ? "=\n" : "\n");
      at += len;
    }
  }
  WriteText(Dir() + "/qp-plain.txt", plain);
  WriteText(Dir() + "/qp-mail.txt", mail);
  auto a = ReportJson("-i " + Dir() + "/qp-plain.txt"), b = ReportJson("-i " + Dir() + "/qp-mail.txt");
  ASSERT_FALSE(b.contains("error")) << b.dump();
  EXPECT_EQ(Counts(a), Counts(b));
  EXPECT_EQ(b["samples"], 2000);
  EXPECT_EQ(b["text_capture"]["unparsed_lines"], 3);  // the header and greeting lines
  EXPECT_EQ(textcapture::DecodeQuotedPrintable("msr_write 6e0 =3D 0x1=20"), "msr_write 6e0 = 0x1 ");
  EXPECT_EQ(textcapture::DecodeQuotedPrintable("a=3d=ZZ="), "a==ZZ=");
}

// trace-cmd report text pasted without the "comm-pid [cpu] time:" prefix, the payload wrapped
// onto an indented line ("    info 0 0"): reasons still count.
TEST(TextInputs, TraceCmdWithoutPrefixAndWrappedPayloads) {
  const std::string dat = SharedDir() + "/realdata/trace-cmd/host-a0496a7c.dat";
  const std::string text = Dir() + "/a0496a7c.txt";
  ASSERT_EQ(RunCommand(Exitprof() + " script -i " + dat + " > " + text).status, 0);
  int wrapped = 0;
  auto bare = Rewrite(text, "bare.txt", [&](const std::string& l) {
    auto at = l.find(" kvm_e");
    if (at == std::string::npos) return l + "\n";
    std::string s = l.substr(at + 1);
    auto info = s.find(" info ");
    if (info != std::string::npos && wrapped++ % 2 == 0) s = s.substr(0, info) + "\n        " + s.substr(info + 1);
    return s + "\n";
  });
  ASSERT_GT(wrapped, 1000);
  auto j = ReportJson("-i " + bare);
  ASSERT_FALSE(j.contains("error")) << j.dump();
  EXPECT_EQ(j["text_capture"]["unparsed_lines"], 0);
  EXPECT_EQ(Reasons(j), (std::map<std::string, uint64_t>{{"APIC_WRITE", 3206}, {"HLT", 1665}, {"EPT_MISCONFIG", 431},
                                                        {"MSR_WRITE", 313}, {"PREEMPTION_TIMER", 145}, {"EPT_VIOLATION", 40},
                                                        {"EXTERNAL_INTERRUPT", 18}, {"EOI_INDUCED", 16}, {"CPUID", 10},
                                                        {"PAUSE_INSTRUCTION", 9}, {"MSR_READ", 7}}));
  EXPECT_EQ(j["events"]["kvm:kvm_exit"], 5860);
  EXPECT_EQ(j["events"]["kvm:kvm_entry"], 5861);
  bool joined = false;
  for (const auto& n : j["notes"]) joined |= n.get<std::string>().find(std::to_string((wrapped + 1) / 2) + " wrapped lines joined") == 0;
  EXPECT_TRUE(joined) << j["notes"].dump();
}

// script of a text capture prints the payloads as the text had them: trace-cmd's kvm_exit has
// no vcpu and no intr_info/error_code, and they must not appear.
TEST(TextInputs, ScriptPrintsOnlyWhatTheTextHad) {
  const std::string dat = SharedDir() + "/realdata/trace-cmd/host-a0496a7c.dat";
  const std::string text = Dir() + "/a0496a7c-script.txt";
  ASSERT_EQ(RunCommand(Exitprof() + " script -i " + dat + " > " + text).status, 0);
  auto r = RunCommand(Exitprof() + " script -i " + text);
  ASSERT_EQ(r.status, 0) << r.err;
  auto payloads = [](const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string l;
    while (std::getline(in, l)) {
      auto at = l.find("kvm_e");
      if (at == std::string::npos) continue;
      auto colon = l.find(": ", at);
      out.push_back(l.substr(l.find_first_not_of(' ', colon + 1)));
    }
    return out;
  };
  auto want = payloads(ReadText(text)), got = payloads(r.out);
  ASSERT_EQ(want.size(), 5860u + 5861u);
  EXPECT_EQ(got, want);
  EXPECT_EQ(r.out.find("intr_info"), std::string::npos);
  EXPECT_EQ(r.out.find("kvm_exit: vcpu"), std::string::npos);
}

// perf script prints microseconds: the report says so, and exit costs under a microsecond
// read "<1 us", never "0 ns".
TEST(TextInputs, MicrosecondTimestampsAreSaid) {
  NEED_PERF();
  const std::string text = PerfScriptText("small-vmx.data");
  ASSERT_FALSE(text.empty());
  auto j = RunCommand(Exitprof() + " report -i " + text + " --latency --format json");
  ASSERT_EQ(j.status, 0) << j.err;
  auto report = nlohmann::json::parse(j.out);
  EXPECT_EQ(report["time"]["resolution_ns"], 1000);
  EXPECT_EQ(report["exits"]["latency_summary"]["resolution_ns"], 1000);
  auto bin = nlohmann::json::parse(RunCommand(Exitprof() + " report -i " + Fixture("small-vmx.data") + " --format json").out);
  EXPECT_EQ(bin["time"]["resolution_ns"], 1);
  bool zero = false;
  for (const auto& row : report["latency"]) zero |= row["min_ns"] == 0;
  ASSERT_TRUE(zero) << "some exit and its entry share a microsecond in the fixture";
  auto t = RunCommand(Exitprof() + " report -i " + text + " --latency");
  EXPECT_NE(t.out.find("timestamps to 1 us"), std::string::npos) << t.out.substr(0, 400);
  EXPECT_NE(t.out.find("<1 us"), std::string::npos);
  EXPECT_EQ(t.out.find(" 0 ns"), std::string::npos);
}

// Text from pipes: stdin, /dev/stdin, <(...), a FIFO; counts equal the file's.
TEST(TextInputs, TextFromPipesCountsAsTheFile) {
  NEED_PERF();
  const std::string text = PerfScriptText("small-vmx.data");
  ASSERT_FALSE(text.empty());
  auto file = Counts(ReportJson("-i " + text));
  const std::string args = " --format json --top 0 --by reason,rip,vcpu,vm,pio,mmio,msr,userspace";
  const std::string perf = "perf script -i " + Fixture("small-vmx.data") + " 2>/dev/null";
  for (const std::string& cmd :
       {perf + " | " + Exitprof() + " report -i -" + args, perf + " | " + Exitprof() + " report --text -" + args,
        perf + " | " + Exitprof() + " report -i /dev/stdin" + args,
        "bash -c '" + Exitprof() + " report -i <(" + perf + ")" + args + "'"}) {
    auto r = RunCommand(cmd);
    ASSERT_EQ(r.status, 0) << cmd << ": " << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_EQ(Counts(j), file) << cmd;
  }
  const std::string fifo = Dir() + "/fifo";
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto r = RunCommand("(" + perf + " > " + fifo + " &) ; " + Exitprof() + " report -i " + fifo + args);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(Counts(nlohmann::json::parse(r.out, nullptr, false)), file);
  // script from a pipe prints the text back.
  auto s = RunCommand(perf + " | " + Exitprof() + " script -i -");
  EXPECT_TRUE(SameLines(ReadText(text), s.out));
  // A trace.dat needs seeking: said in one line.
  auto dat = RunCommand("cat " + SharedDir() + "/realdata/trace-cmd/host-a0496a7c.dat | " + Exitprof() + " report -i -");
  EXPECT_EQ(dat.status, 2);
  EXPECT_NE(dat.err.find("cannot be read from a pipe"), std::string::npos) << dat.err;
}

// trace_pipe (a tracefs file of size 0 that never ends): read as a stream until Ctrl-C, then
// reported. A private instance with sched_switch on gives it lines without disturbing others.
TEST(TextInputs, TracePipeUntilInterrupted) {
  const std::string inst = "/sys/kernel/tracing/instances/exitprof_textinputs";
  if (::geteuid() != 0 || ::access("/sys/kernel/tracing/instances", W_OK) != 0) GTEST_SKIP() << "needs root and tracefs";
  ::rmdir(inst.c_str());
  ASSERT_EQ(::mkdir(inst.c_str(), 0755), 0);
  ASSERT_TRUE(WriteText(inst + "/events/sched/sched_switch/enable", "1"));
  auto r = RunCommand(Exitprof() + " report -i " + inst + "/trace_pipe --format json & P=$!; sleep 1; kill -INT $P; wait $P");
  WriteText(inst + "/events/sched/sched_switch/enable", "0");
  ::rmdir(inst.c_str());
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out.substr(0, 300);
  EXPECT_EQ(j["text_capture"]["layout"], "ftrace");
  bool switches = false;
  for (const auto& n : j["notes"]) switches |= n.get<std::string>().find("not analysed: sched_switch") != std::string::npos;
  EXPECT_TRUE(switches) << j["notes"].dump();
}

}  // namespace
}  // namespace exitprof::testing
