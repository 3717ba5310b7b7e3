// Text captures read as recordings: the text real tools print for real recordings (perf script
// of the fixtures, trace-cmd report's layout of the realdata trace.dat files) must give the
// same counts as the binary recording; quoting, wrapping and garbage must not change them.
#include <gtest/gtest.h>

#include <sstream>

#include "textcapture/line_parser.h"
#include "textcapture/reader.h"
#include "textcapture_support.h"

namespace exitprof::testing {
namespace {

using textcapture::Layout;
using textcapture::ParseLine;
using textcapture::StripQuoting;

class TextCaptureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = TempPath("textcapture");
    RunCommand("mkdir -p " + dir_);
  }
  static inline std::string dir_;

  // `perf script` of a fixture into a file (skips without perf).
  std::string PerfScript(const std::string& fixture, const std::string& fields = "") {
    const std::string out = dir_ + "/" + fixture + (fields.empty() ? "" : ".F") + ".txt";
    auto r = RunCommand("perf script " + (fields.empty() ? std::string() : "-F " + fields + " ") + "-i " + SharedDir() +
                        "/fixtures/" + fixture + " > " + out + " 2>/dev/null");
    return r.status == 0 ? out : std::string();
  }
};

TEST(TextLineParser, LayoutsAndThreadNames) {
  auto perf = ParseLine(StripQuoting("       CPU 0/KVM 13681 [001]  1538.726576:            kvm:kvm_pio: pio_write at 0x3f8 size 1 count 1 val 0x5a "));
  ASSERT_TRUE(perf);
  EXPECT_EQ(perf->layout, Layout::kPerfScript);
  EXPECT_EQ(perf->comm, "CPU 0/KVM");
  EXPECT_EQ(perf->tid, 13681u);
  EXPECT_FALSE(perf->pid);
  EXPECT_EQ(perf->cpu, 1u);
  EXPECT_EQ(perf->time_ns, 1538726576000ull);
  EXPECT_EQ(perf->system, "kvm");
  EXPECT_EQ(perf->event, "kvm_pio");
  EXPECT_EQ(perf->payload, "pio_write at 0x3f8 size 1 count 1 val 0x5a");

  auto pidtid = ParseLine("qemu-system-x86 41095/41103 [008] 45000.123458123: kvm:kvm_entry: vcpu 5");
  ASSERT_TRUE(pidtid);
  EXPECT_EQ(pidtid->layout, Layout::kPerfScript);
  EXPECT_EQ(*pidtid->pid, 41095u);
  EXPECT_EQ(pidtid->tid, 41103u);
  EXPECT_EQ(pidtid->time_ns, 45000123458123ull);

  auto tc = ParseLine(StripQuoting("> > CPU 1/KVM-503844 [002] 22149.949610: kvm_exit:             reason HLT rip 0xffffffffa0632f49 info 0 0"));
  ASSERT_TRUE(tc);
  EXPECT_EQ(tc->layout, Layout::kTraceCmd);
  EXPECT_EQ(tc->comm, "CPU 1/KVM");
  EXPECT_EQ(tc->tid, 503844u);
  EXPECT_EQ(tc->cpu, 2u);
  EXPECT_TRUE(tc->system.empty());
  EXPECT_EQ(tc->event, "kvm_exit");

  auto ft = ParseLine("  kworker-to-exit-12-77 (     70) [003] d..1.  100.000001: kvm_userspace_exit: reason KVM_EXIT_IO (2)");
  ASSERT_TRUE(ft);
  EXPECT_EQ(ft->layout, Layout::kFtrace);
  EXPECT_EQ(ft->comm, "kworker-to-exit-12");
  EXPECT_EQ(ft->tid, 77u);
  EXPECT_EQ(*ft->pid, 70u);
  EXPECT_EQ(ft->cpu, 3u);

  auto idle = ParseLine("<idle>-0     [000] dNh2.   5.5: kvm_msr: msr_write 6e0 = 0x1");
  ASSERT_TRUE(idle);
  EXPECT_EQ(idle->comm, "<idle>");
  EXPECT_EQ(idle->tid, 0u);
  EXPECT_EQ(idle->time_ns, 5500000000ull);

  EXPECT_FALSE(ParseLine("Hi all, here is what I see after 1.5: seconds"));
  EXPECT_FALSE(ParseLine("CPU 0/KVM-12 [001] 12.5 kvm_exit: no colon after the time"));
  EXPECT_TRUE(textcapture::IsHeaderLine("# tracer: nop"));
  EXPECT_TRUE(textcapture::IsHeaderLine("cpus=4"));
}

TEST_F(TextCaptureTest, PerfScriptOfTheFixturesCountsAsTheBinary) {
  if (!HavePerf()) GTEST_SKIP() << "needs perf (perf script prints the capture)";
  for (const char* fixture : {"small-vmx.data", "small-svm.data"}) {
    const std::string text = PerfScript(fixture);
    ASSERT_FALSE(text.empty()) << fixture;
    auto binary = ReportJson("-i " + SharedDir() + "/fixtures/" + fixture);
    auto fromtext = ReportJson("-i " + text);
    ASSERT_FALSE(fromtext.contains("error")) << fromtext.dump();
    EXPECT_EQ(Counts(binary), Counts(fromtext)) << fixture;
    EXPECT_EQ(fromtext["text_capture"]["layout"], "perf script");
    EXPECT_EQ(fromtext["text_capture"]["unparsed_lines"], 0);
    EXPECT_EQ(fromtext["text_capture"]["lines"], 20000);
    // exitprof script of the capture prints perf script's lines back, byte for byte.
    auto script = RunCommand(Exitprof() + " script -i " + text);
    EXPECT_TRUE(SameLines(ReadText(text), script.out)) << fixture;
  }
  // Exit cost pairs (kvm_exit -> next kvm_entry of the thread) are the same pairs; only the
  // durations lose their nanoseconds (perf script prints microseconds).
  auto latency_counts = [](const std::string& input) {
    auto r = RunCommand(Exitprof() + " report -i " + input + " --latency --format json --by latency");
    std::map<std::string, uint64_t> out;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    for (const auto& row : j["latency"]) out[row["reason"].get<std::string>()] = row["count"].get<uint64_t>();
    return out;
  };
  auto lat = latency_counts(SharedDir() + "/fixtures/small-vmx.data");
  EXPECT_EQ(lat.size(), 12u);
  EXPECT_EQ(lat, latency_counts(dir_ + "/small-vmx.data.txt"));
  EXPECT_EQ(ReportJson("-i " + dir_ + "/small-vmx.data.txt")["exits"]["total"], 8806);
  EXPECT_EQ(ReportJson("-i " + dir_ + "/small-svm.data.txt")["exits"]["total"], 8776);
}

TEST_F(TextCaptureTest, PerfScriptPidTidKeepsProcesses) {
  if (!HavePerf()) GTEST_SKIP() << "needs perf (perf script prints the capture)";
  const std::string text = PerfScript("small-vmx.data", "comm,pid,tid,cpu,time,event,trace");
  ASSERT_FALSE(text.empty());
  auto binary = ReportJson("-i " + SharedDir() + "/fixtures/small-vmx.data");
  auto fromtext = ReportJson("--text " + text);
  // A process's name comes from its main thread, which never exits to the guest: not in the text.
  for (auto* j : {&binary, &fromtext})
    for (auto& vm : (*j)["exits"]["by_vm"]) vm.erase("comm");
  EXPECT_EQ(Counts(binary, true), Counts(fromtext, true));
  EXPECT_EQ(fromtext["exits"]["by_vm"].size(), 3u);
  EXPECT_FALSE(fromtext.contains("notes")) << fromtext["notes"].dump();
}

// trace-cmd report's layout (kvm_exit as its plugin prints it: "reason X rip 0x.. info A B",
// no vcpu): `exitprof script` of the zlib v7 files prints it byte for byte (tracedat tests).
TEST_F(TextCaptureTest, TraceCmdReportOfTheRealDataCountsAsTheBinary) {
  for (const char* name : {"host-e11ad396.dat", "host-a0496a7c.dat"}) {
    const std::string dat = SharedDir() + "/realdata/trace-cmd/" + name;
    const std::string text = dir_ + "/" + name + ".txt";
    ASSERT_EQ(RunCommand(Exitprof() + " script -i " + dat + " > " + text).status, 0);
    ASSERT_NE(ReadText(text).find("info 0 0"), std::string::npos) << "the old kvm_exit layout";
    auto binary = ReportJson("-i " + dat), fromtext = ReportJson("-i " + text);
    ASSERT_FALSE(fromtext.contains("error")) << fromtext.dump();
    EXPECT_EQ(Counts(binary), Counts(fromtext)) << name;
    EXPECT_EQ(fromtext["text_capture"]["layout"], "trace-cmd report");
  }
  // The realdata README's truth for host-a0496a7c.dat.
  auto j = ReportJson("-i " + dir_ + "/host-a0496a7c.dat.txt");
  std::map<std::string, uint64_t> reasons;
  for (const auto& r : j["exits"]["by_reason"]) reasons[r["reason"]] = r["count"];
  EXPECT_EQ(reasons, (std::map<std::string, uint64_t>{{"APIC_WRITE", 3206}, {"HLT", 1665}, {"EPT_MISCONFIG", 431},
                                                      {"MSR_WRITE", 313}, {"PREEMPTION_TIMER", 145}, {"EPT_VIOLATION", 40},
                                                      {"EXTERNAL_INTERRUPT", 18}, {"EOI_INDUCED", 16}, {"CPUID", 10},
                                                      {"PAUSE_INSTRUCTION", 9}, {"MSR_READ", 7}}));
  EXPECT_EQ(j["events"]["kvm:kvm_exit"], 5860);
  EXPECT_EQ(j["events"]["kvm:kvm_entry"], 5861);
  std::map<uint64_t, uint64_t> by_vcpu_id;
  uint64_t tid_483882 = 0;
  for (const auto& r : j["exits"]["by_vcpu"]) {
    by_vcpu_id[r["vcpu"].get<uint64_t>()] += r["count"].get<uint64_t>();
    if (r["tid"] == 483882) tid_483882 = r["count"];
  }
  EXPECT_EQ(by_vcpu_id, (std::map<uint64_t, uint64_t>{{0, 5621}, {1, 239}}));
  EXPECT_EQ(tid_483882, 5356u);
}

// Quoted in mail ("> ", "> > "), indented, and with long lines wrapped at 72 columns.
TEST_F(TextCaptureTest, QuotedAndWrappedInMail) {
  if (!HavePerf()) GTEST_SKIP() << "needs perf (perf script prints the capture)";
  const std::string text = PerfScript("small-vmx.data");
  ASSERT_FALSE(text.empty());
  std::istringstream in(ReadText(text));
  std::string line, plain, mail;
  int n = 0, wrapped = 0;
  while (std::getline(in, line) && n < 3000) {
    plain += line + "\n";
    const char* quote = n % 3 == 0 ? "> > " : n % 3 == 1 ? ">  " : "  > ";
    if (n % 7 == 0 && line.size() > 100) {
      // A mail client breaks the line at the last space before column 72.
      size_t cut = line.rfind(' ', 72);
      mail += std::string(quote) + line.substr(0, cut) + "\n" + quote + line.substr(cut + 1) + "\n";
      ++wrapped;
    } else if (n % 11 == 5) {
      // Or before the event: the thread and CPU on one line, the time and event on the next.
      size_t cut = line.find("] ") + 1;
      mail += std::string(quote) + line.substr(0, cut) + "\n" + quote + line.substr(cut + 1) + "\n";
      ++wrapped;
    } else {
      mail += std::string(quote) + line + "\n";
    }
    ++n;
  }
  ASSERT_GT(wrapped, 100);
  WriteText(dir_ + "/plain.txt", plain);
  WriteText(dir_ + "/mail.txt", "Hi,\n\nOn Monday someone wrote:\n" + mail);
  auto a = ReportJson("-i " + dir_ + "/plain.txt"), b = ReportJson("--text " + dir_ + "/mail.txt");
  ASSERT_FALSE(b.contains("error")) << b.dump();
  EXPECT_EQ(Counts(a), Counts(b));
  EXPECT_EQ(b["samples"], 3000);
  // The greeting lines are not events: counted, the first one shown.
  EXPECT_EQ(b["text_capture"]["unparsed_lines"], 2);
  EXPECT_EQ(b["text_capture"]["first_unparsed_line"], 1);
  EXPECT_EQ(b["text_capture"]["first_unparsed_text"], "Hi,");
  bool joined = false;
  for (const auto& note : b["notes"]) joined |= note.get<std::string>().find(std::to_string(wrapped) + " wrapped lines joined") == 0;
  EXPECT_TRUE(joined) << b["notes"].dump();
}

TEST_F(TextCaptureTest, GarbageLinesAreCountedAndShown) {
  if (!HavePerf()) GTEST_SKIP() << "needs perf (perf script prints the capture)";
  const std::string text = PerfScript("small-svm.data");
  ASSERT_FALSE(text.empty());
  std::istringstream in(ReadText(text));
  std::string line, out;
  int n = 0, garbage = 0;
  const char* junk[] = {"[ 1234.5678] kvm: zapping shadow pages", "kvm_exit: reason io rip 0x1 (no thread, no time)",
                        "--", "       CPU 0/KVM 1 [000] 1.0: kvm:kvm_exit: vcpu 0 reason HLT rip"};
  while (std::getline(in, line)) {
    if (++n % 1000 == 500) {
      out += std::string(junk[garbage % 4]) + "\n";
      ++garbage;
    }
    out += line + "\n";
  }
  WriteText(dir_ + "/garbage.txt", out);
  auto clean = ReportJson("-i " + text), dirty = ReportJson("-i " + dir_ + "/garbage.txt");
  EXPECT_EQ(Counts(clean), Counts(dirty));
  EXPECT_EQ(dirty["text_capture"]["unparsed_lines"], garbage);
  EXPECT_EQ(dirty["text_capture"]["first_unparsed_line"], 500);
  auto r = RunCommand(Exitprof() + " report -i " + dir_ + "/garbage.txt");
  EXPECT_NE(r.out.find("# " + std::to_string(garbage) + " lines not understood, first at line 500: [ 1234.5678] kvm: zapping"),
            std::string::npos)
      << r.out.substr(0, 600);
}

TEST_F(TextCaptureTest, NothingParsesIsOneLineAndStatus2) {
  WriteText(dir_ + "/prose.txt", "Hello,\nmy VM is slow. Any idea?\n\nThanks\n");
  for (const std::string& args : std::vector<std::string>{"report --text " + dir_ + "/prose.txt", "script -i " + dir_ + "/prose.txt"}) {
    auto r = RunCommand(Exitprof() + " " + args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  auto r = RunCommand(Exitprof() + " report --text " + dir_ + "/prose.txt");
  EXPECT_NE(r.err.find("no line reads as an event line"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 1: \"Hello,\""), std::string::npos) << r.err;
}

// Bytes that are not text (a binary file given with --text, a damaged paste) are shown as '?':
// JSON stays valid UTF-8 and the terminal gets no control characters.
TEST_F(TextCaptureTest, NonTextBytesAreShownAsQuestionMarks) {
  WriteText(dir_ + "/bytes.txt", std::string("\x01\xff\x1b[2J junk\n") +
                                     "CPU \xc3\x28/KVM-7 [000] 1.000001: kvm_userspace_exit: reason KVM_EXIT_HLT (5)\n");
  auto r = RunCommand(Exitprof() + " report --text " + dir_ + "/bytes.txt --format json --by userspace");
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["text_capture"]["first_unparsed_text"], "???[2J junk");
  EXPECT_EQ(j["userspace_exits_by_thread"][0]["comm"], "CPU ?(/KVM");  // \xc3 alone is not UTF-8
  auto bin = RunCommand(Exitprof() + " report --text " + SharedDir() + "/fixtures/small-vmx.data");
  EXPECT_EQ(bin.status, 2);
  EXPECT_EQ(std::count(bin.err.begin(), bin.err.end(), '\n'), 1) << bin.err;
  for (char c : bin.err) EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << static_cast<int>(c);
}

TEST(TextCaptureReader, EveryPayloadLayout) {
  const std::string text =
      "# tracer: nop\n"
      "#\n"
      "  CPU 0/KVM-100     (     99) [000] d..1.    10.000001: kvm_exit: vcpu 0 reason IO_INSTRUCTION rip 0xfff0 info1 0x00000000003f8000 info2 0x0 intr_info 0x0 error_code 0x0\n"
      "  CPU 0/KVM-100     (     99) [000] d..1.    10.000002: kvm_pio: pio_write at 0x3f8 size 1 count 1 val 0x5a \n"
      "  CPU 0/KVM-100     (     99) [000] ...1.    10.000003: kvm_userspace_exit: reason KVM_EXIT_IO (2)\n"
      "  CPU 0/KVM-100     (     99) [000] d..1.    10.000004: kvm_entry: vcpu 0, rip 0xfff1\n"
      "  CPU 0/KVM-100     (     99) [000] d..1.    10.000005: kvm_exit: vcpu 0 reason EPT_MISCONFIG rip 0xfff2 info1 0x0 info2 0x0 intr_info 0x0 error_code 0x0\n"
      "  CPU 0/KVM-100     (     99) [000] d..1.    10.000006: kvm_mmio: mmio write len 4 gpa 0xd0000 val 0x12345678\n"
      "  CPU 0/KVM-100     (     99) [000] ...1.    10.000007: kvm_userspace_exit: reason KVM_EXIT_MMIO (6)\n"
      "  CPU 0/KVM-100     (     99) [000] d..1.    10.000008: kvm_entry: vcpu 0\n"
      "  CPU 0/KVM-100     (     99) [000] d..1.    10.000009: kvm_exit: vcpu 0 reason MSR_WRITE rip 0xfff3 info1 0x0 info2 0x0 intr_info 0x0 error_code 0x0\n"
      "  CPU 0/KVM-100     (     99) [000] d..1.    10.000010: kvm_msr: msr_write 6e0 = 0x1234\n"
      "  CPU 0/KVM-100     (     99) [000] ...1.    10.000011: kvm_userspace_exit: reason restart (4)\n"
      "  CPU 0/KVM-100     (     99) [000] d..1.    10.000012: sched_switch: prev_comm=x\n";
  auto reader = textcapture::Reader::FromText(text, "inline");
  ASSERT_TRUE(reader) << reader.error().message;
  analysis::ExitStats stats({});
  auto read = (*reader)->Run(stats);
  ASSERT_TRUE(read);
  auto m = analysis::BuildReportModel((*reader)->info(), *read, stats, 0);
  EXPECT_EQ((*reader)->summary().layout, Layout::kFtrace);
  EXPECT_EQ((*reader)->summary().events, 11u);
  EXPECT_EQ((*reader)->summary().other_events.at("sched_switch"), 1u);
  EXPECT_EQ((*reader)->summary().unparsed_lines, 0u);
  EXPECT_EQ(m.exits_total, 3u);
  ASSERT_EQ(m.by_vm.size(), 1u);
  EXPECT_EQ(m.by_vm[0].pid, 99u);  // the tgid column
  ASSERT_EQ(m.pio.size(), 1u);
  EXPECT_EQ(m.pio[0].port, 0x3f8);
  ASSERT_EQ(m.mmio.size(), 1u);
  EXPECT_EQ(m.mmio[0].gpa, 0xd0000u);
  ASSERT_EQ(m.msr.size(), 1u);
  EXPECT_EQ(m.msr[0].index, 0x6e0u);
  std::map<std::string, uint64_t> us;
  for (const auto& r : m.userspace_exits) us[r.name] = r.count;
  // "restart (4)" prints errno, not the stale reason the record also holds: reason 0 here.
  EXPECT_EQ(us, (std::map<std::string, uint64_t>{{"KVM_EXIT_IO", 1}, {"KVM_EXIT_MMIO", 1}, {"KVM_EXIT_UNKNOWN", 1}}));
}

}  // namespace
}  // namespace exitprof::testing
