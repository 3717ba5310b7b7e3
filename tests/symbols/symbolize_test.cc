// exitprof symbolize against GNU addr2line on programs compiled here with g++ -g -O2 (inline
// functions, several compile units, a C unit), with compressed debug sections, and stripped
// with the debug info found through .gnu_debuglink or build-id. Every address of .text is
// asked; the outputs must be byte-identical to addr2line's once it is warm (see
// docs/SYMBOLIZE.md: addr2line names a function differently the first time it meets it).
#include <fstream>
#include <sstream>

#include "test_support.h"

namespace exitprof::testing {
namespace {

const char* kMain = R"(#include <cstdio>
#include "util.h"
namespace ns {
struct Acc { int v; int add(int x) { return v += x * 3; } };
}
static inline int square(int x) { return x * x; }
static int helper(int n) {
  int s = 0;
  for (int i = 0; i < n; ++i) s += square(i) + twice(i);
  return s;
}
extern "C" int c_sum(const int* v, int n);
int main(int argc, char** argv) {
  ns::Acc acc{argc};
  for (int i = 0; i < argc * 100; ++i) acc.add(helper(i));
  int v[4] = {argc, 2, 3, 4};
  std::printf("%d %d %d\n", acc.v, other(argc), c_sum(v, argc));
  return 0;
}
)";
const char* kUtil = R"(#pragma once
inline int twice(int x) { return x * 2 + (x & 1); }
int other(int x);
)";
const char* kOther = R"(#include "util.h"
#include <cstring>
static __attribute__((noinline)) int deep(const char* s) { return (int)strlen(s) + twice((int)s[0]); }
int other(int x) {
  char buf[32];
  for (int i = 0; i < 31; ++i) buf[i] = 'a' + (i * x) % 26;
  buf[31] = 0;
  return deep(buf) + twice(x);
}
)";
const char* kC = R"(static inline int clamp(int v) { return v > 100 ? 100 : v < 0 ? 0 : v; }
static __attribute__((noinline)) int scale(int v, int k) { return clamp(v * k) + (k & 3); }
int c_sum(const int* v, int n) {
  int s = 0;
  for (int i = 0; i < n; ++i) s += scale(v[i], i + 1);
  return s;
}
)";

void Write(const std::string& path, const char* text) { std::ofstream(path) << text; }

bool Have(const char* tool) { return RunCommand(std::string("command -v ") + tool + " >/dev/null").status == 0; }

class SymbolizeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = TempPath("symbolize");
    RunCommand("rm -rf " + dir_ + " && mkdir -p " + dir_);
    Write(dir_ + "/main.cc", kMain);
    Write(dir_ + "/util.h", kUtil);
    Write(dir_ + "/other.cc", kOther);
    Write(dir_ + "/c_part.c", kC);
  }
  static void TearDownTestSuite() { RunCommand("rm -rf " + dir_); }
  void SetUp() override {
    if (!Have("g++") || !Have("gcc") || !Have("addr2line") || !Have("objcopy") || !Have("nm"))
      GTEST_SKIP() << "needs g++, gcc and binutils (addr2line, objcopy, nm) to build and check test programs";
  }

  // Builds the program with extra flags; returns its path.
  static std::string Build(const std::string& name, const std::string& flags) {
    std::string out = dir_ + "/" + name;
    auto r = RunCommand("cd " + dir_ + " && gcc -g -O2 " + flags + " -c c_part.c -o " + name + "_c.o && g++ -g -O2 " +
                        flags + " main.cc other.cc " + name + "_c.o -o " + name + " 2>&1");
    EXPECT_EQ(r.status, 0) << r.out;
    return out;
  }

  // Every address from the first to past the last text symbol, one a line.
  static std::string AddressFile(const std::string& elf) {
    auto r = RunCommand("nm -n " + elf + " | awk '$2 ~ /^[tT]$/ {print $1}'");
    std::istringstream in(r.out);
    std::string line, first, last;
    while (std::getline(in, line)) {
      if (first.empty()) first = line;
      last = line;
    }
    uint64_t lo = std::stoull(first, nullptr, 16), hi = std::stoull(last, nullptr, 16) + 64;
    std::string path = elf + ".addrs";
    std::ofstream out(path);
    for (uint64_t a = lo; a < hi; ++a) out << std::hex << "0x" << a << "\n";
    return path;
  }

  // addr2line's answers, warm: the list is asked twice and the second half kept.
  static std::string Addr2Line(const std::string& elf, const std::string& addrs, const std::string& flags, size_t lines) {
    auto r = RunCommand("cat " + addrs + " " + addrs + " | addr2line -e " + elf + " " + flags + " | tail -n " + std::to_string(lines));
    return r.out;
  }

  static void ExpectSameAsAddr2Line(const std::string& reference_elf, const std::string& our_args) {
    std::string addrs = AddressFile(reference_elf);
    for (std::string flags : {"", "-f", "-f -i", "-a -f -i -p -C -s", "-i -C -a"}) {
      auto ours = RunCommand(Exitprof() + " symbolize " + our_args + " " + flags + " < " + addrs);
      ASSERT_EQ(ours.status, 0) << ours.err;
      size_t lines = static_cast<size_t>(std::count(ours.out.begin(), ours.out.end(), '\n'));
      ASSERT_GT(lines, 100u);
      EXPECT_TRUE(SameLines(Addr2Line(reference_elf, addrs, flags, lines), ours.out)) << "flags: " << flags;
    }
  }

  static std::string dir_;
};
std::string SymbolizeTest::dir_;

TEST_F(SymbolizeTest, SameAsAddr2LineOnProgramWithInlines) {
  std::string prog = Build("prog", "");
  ExpectSameAsAddr2Line(prog, "-e " + prog);
  // The inline chain is really there: twice() inlined into helper() inlined into main().
  auto r = RunCommand(Exitprof() + " symbolize -e " + prog + " -f -i -C < " + prog + ".addrs | grep -c '^twice(int)$'");
  EXPECT_NE(r.out, "0\n");
}

TEST_F(SymbolizeTest, Dwarf4AndDwarf3) {
  // Line tables before DWARF 5 number files and directories from 1.
  for (std::string version : {"4", "3"}) {
    std::string prog = Build("prog_dwarf" + version, "-gdwarf-" + version);
    ExpectSameAsAddr2Line(prog, "-e " + prog);
  }
}

TEST_F(SymbolizeTest, CompressedDebugSections) {
  std::string prog = Build("prog_gz", "-gz");
  auto sections = RunCommand("readelf -SW " + prog + " | grep -c ' .debug_info.* C '");
  ASSERT_NE(sections.out, "0\n") << "expected a compressed .debug_info";
  ExpectSameAsAddr2Line(prog, "-e " + prog);
}

TEST_F(SymbolizeTest, SeparateDebugFileByDebuglink) {
  std::string prog = Build("prog_dl", "");
  std::string dbg = dir_ + "/dl-debug";
  auto r = RunCommand("mkdir -p " + dbg + " && cd " + dir_ + " && objcopy --only-keep-debug prog_dl prog_dl.debug && "
                      "objcopy --strip-debug --keep-file-symbols --add-gnu-debuglink=prog_dl.debug prog_dl prog_dl.stripped && mv prog_dl.debug " + dbg + "/");
  ASSERT_EQ(r.status, 0) << r.err;
  ExpectSameAsAddr2Line(prog, "-e " + prog + ".stripped --debug-dir " + dbg);
}

TEST_F(SymbolizeTest, SeparateDebugFileByBuildId) {
  std::string prog = Build("prog_bid", "-Wl,--build-id");
  auto id = RunCommand("readelf -n " + prog + " | awk '/Build ID/ {print $3}'");
  std::string build_id = id.out.substr(0, id.out.find('\n'));
  ASSERT_GT(build_id.size(), 8u);
  std::string dbg = dir_ + "/bid-debug/.build-id/" + build_id.substr(0, 2);
  auto r = RunCommand("mkdir -p " + dbg + " && objcopy --only-keep-debug " + prog + " " + dbg + "/" + build_id.substr(2) +
                      ".debug && objcopy --strip-debug --keep-file-symbols " + prog + " " + prog + ".stripped");
  ASSERT_EQ(r.status, 0) << r.err;
  ExpectSameAsAddr2Line(prog, "-e " + prog + ".stripped --debug-dir " + dir_ + "/bid-debug");
}

TEST_F(SymbolizeTest, StrippedOfDebugInfoFallsBackToSymbols) {
  std::string prog = Build("prog_nodebug", "");
  ASSERT_EQ(RunCommand("objcopy --strip-debug " + prog + " " + prog + ".nodebug").status, 0);
  std::string addrs = AddressFile(prog);
  auto ours = RunCommand(Exitprof() + " symbolize -e " + prog + ".nodebug -f < " + addrs);
  EXPECT_EQ(ours.status, 0);
  EXPECT_NE(ours.err.find("no DWARF debug info"), std::string::npos) << ours.err;
  size_t lines = static_cast<size_t>(std::count(ours.out.begin(), ours.out.end(), '\n'));
  EXPECT_TRUE(SameLines(Addr2Line(prog + ".nodebug", addrs, "-f", lines), ours.out));
}

TEST_F(SymbolizeTest, AddressesFromArgumentsAndUnknownOnes) {
  std::string prog = Build("prog_args", "");
  auto ours = RunCommand(Exitprof() + " symbolize -e " + prog + " -f -a 0 deadbeef 0x10");
  auto ref = RunCommand("addr2line -e " + prog + " -f -a 0 deadbeef 0x10");
  EXPECT_EQ(ours.status, 0);
  EXPECT_EQ(ours.out, ref.out);
  EXPECT_EQ(ours.out, "0x0000000000000000\n??\n??:0\n0x00000000deadbeef\n??\n??:0\n0x0000000000000010\n??\n??:0\n");
}

TEST_F(SymbolizeTest, PipeAnswersLineByLineAsTheBatchDoes) {
  std::string prog = Build("prog_pipe", "");
  std::string addrs = AddressFile(prog);
  auto batch = RunCommand(Exitprof() + " symbolize -e " + prog + " -f -i -a < " + addrs);
  auto piped = RunCommand("cat " + addrs + " | " + Exitprof() + " symbolize -e " + prog + " -f -i -a");
  EXPECT_EQ(piped.status, 0);
  EXPECT_TRUE(SameLines(batch.out, piped.out));
}

TEST_F(SymbolizeTest, ReportRefusesAVmlinuxOfAnotherArchitecture) {
  std::string prog = Build("prog_arch", "");
  // The same file claiming to be AArch64 (e_machine 183 at offset 18).
  ASSERT_EQ(RunCommand("cp " + prog + " " + prog + ".arm64 && printf '\\267\\000' | dd of=" + prog +
                       ".arm64 bs=1 seek=18 conv=notrunc status=none").status, 0);
  auto r = RunCommand(Exitprof() + " report -i " + SourceDir() + "/data/demo-vmx.perf.data --vmlinux " + prog + ".arm64");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("ELF machine 183, expected x86-64 (62)"), std::string::npos) << r.err;
}

// Runtime addresses of a relocated image (a KASLR'd guest kernel): --kaslr-offset, or the
// offset worked out from _text in a kallsyms dump, gives addr2line's answers for the link-time
// addresses; kallsyms alone names the functions.
TEST_F(SymbolizeTest, KallsymsAndKaslrOffset) {
  std::string prog = Build("prog_kaslr", "");
  ASSERT_EQ(RunCommand("objcopy --add-symbol _text=.text:0,global " + prog + " " + prog + ".t").status, 0);
  prog += ".t";
  const uint64_t shift = 0x1e000000;
  // The kallsyms dump of the "running" image: every text symbol (and _text) shifted.
  std::string kallsyms = prog + ".kallsyms";
  ASSERT_EQ(RunCommand("nm -n " + prog + " | awk '$2 ~ /^[tT]$/' | while read a t n; do printf '%016x %s %s\\n' "
                       "$((0x$a + " + std::to_string(shift) + ")) $t $n; done > " + kallsyms).status, 0);
  std::string addrs = AddressFile(prog), shifted = addrs + ".shifted";
  ASSERT_EQ(RunCommand("while read a; do printf '0x%x\\n' $((a + " + std::to_string(shift) + ")); done < " + addrs + " > " + shifted).status, 0);
  size_t lines = 0;
  for (std::string flags : {"-f -i", "-f -p -C -s"}) {
    auto given = RunCommand(Exitprof() + " symbolize -e " + prog + " --kaslr-offset " + std::to_string(shift) + " " + flags + " < " + shifted);
    ASSERT_EQ(given.status, 0) << given.err;
    lines = static_cast<size_t>(std::count(given.out.begin(), given.out.end(), '\n'));
    ASSERT_GT(lines, 100u);
    EXPECT_TRUE(SameLines(Addr2Line(prog, addrs, flags, lines), given.out)) << flags;
    auto from_kallsyms = RunCommand(Exitprof() + " symbolize -e " + prog + " --kallsyms " + kallsyms + " " + flags + " < " + shifted);
    ASSERT_EQ(from_kallsyms.status, 0) << from_kallsyms.err;
    EXPECT_EQ(from_kallsyms.err, "");
    EXPECT_TRUE(SameLines(given.out, from_kallsyms.out)) << flags;
  }
  // kallsyms alone: the function the address is in, no line; outside every symbol, ??.
  auto other = RunCommand("nm " + prog + " | awk '$3 == \"_Z5otheri\" {print $1}'").out;
  ASSERT_FALSE(other.empty());
  char arg[32];
  std::snprintf(arg, sizeof arg, "%llx", static_cast<unsigned long long>(std::stoull(other, nullptr, 16) + shift + 4));
  auto alone = RunCommand(Exitprof() + " symbolize --kallsyms " + kallsyms + " -f -C " + arg + " 0x10");
  EXPECT_EQ(alone.status, 0) << alone.err;
  EXPECT_EQ(alone.out, "other(int)\n??:?\n??\n??:0\n");
  auto bad = RunCommand(Exitprof() + " symbolize -e " + prog + " --kaslr-offset 0xzz 0x10");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--kaslr-offset 0xzz"), std::string::npos) << bad.err;
}

TEST_F(SymbolizeTest, BadInputIsOneLineAndStatus2) {
  std::string text = dir_ + "/not-elf.txt";
  Write(text, "hello, not an ELF file\n");
  auto r = RunCommand(Exitprof() + " symbolize -e " + text + " 0x10");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("not an ELF file"), std::string::npos) << r.err;

  auto missing = RunCommand(Exitprof() + " symbolize -e " + dir_ + "/no-such-file 0x10");
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos) << missing.err;

  // Truncations of a real program at many lengths: never a crash, never a hang.
  std::string prog = Build("prog_trunc", "");
  std::ifstream in(prog, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t len : {size_t{3}, size_t{16}, size_t{63}, size_t{64}, size_t{200}, bytes.size() / 4, bytes.size() / 2, bytes.size() - 100}) {
    std::string cut = dir_ + "/trunc.elf";
    std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(len));
    auto t = RunCommand("timeout 20 " + Exitprof() + " symbolize -e " + cut + " -f -i 0x1139 0x1060");
    EXPECT_TRUE(t.status == 0 || t.status == 2) << "length " << len << ": status " << t.status << " " << t.err;
    if (t.status == 2) {
      EXPECT_EQ(std::count(t.err.begin(), t.err.end(), '\n'), 1) << t.err;
    }
  }
}

}  // namespace
}  // namespace exitprof::testing
