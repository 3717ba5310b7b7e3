// probe --add of a function the kernel refuses (notrace, blacklisted): one line saying so, with
// the callers that can be probed instead, found in the binary's call instructions. The lists are
// tracefs' and debugfs' formats; the "vmlinux" is notrace_callers.c compiled here (x86-64), whose
// iowrite16 is called by vp_notify and tail-called by vm_tail_notify, as in the kernel.
#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

#include "probe/kprobe_refusal.h"
#include "test_support.h"

namespace exitprof::testing {
namespace {

class KprobeRefusal : public ::testing::Test {
 protected:
  void SetUp() override {
    prog_ = TempPath("notrace_callers");
    // Functions 512 bytes apart: the tail call becomes a rel32 jmp, as across a kernel's text.
    auto cc = RunCommand("cc -O2 -falign-functions=512 -o " + prog_ + " " + SourceDir() + "/tests/probe/notrace_callers.c");
    ASSERT_EQ(cc.status, 0) << cc.err;
    filter_ = TempPath("available_filter_functions");
    // What tracefs lists: iowrite16 is missing (notrace), a module's function carries [module].
    std::ofstream(filter_) << "vp_notify\nvm_tail_notify [virtio_pci]\nmain\nioread8\n";
    blacklist_ = TempPath("kprobes_blacklist");
    std::ofstream(blacklist_) << "0xffffffff81000000-0xffffffff81000010\tioread8\n";
  }
  std::string prog_, filter_, blacklist_;
};

TEST_F(KprobeRefusal, CallersFromCallAndTailJumpInstructions) {
  auto callers = probe::DirectCallers(prog_, "iowrite16");
  ASSERT_TRUE(callers) << callers.error().message;
  EXPECT_EQ(*callers, (std::vector<std::string>{"vm_tail_notify", "vp_notify"}));  // main's call is indirect
  auto none = probe::DirectCallers(prog_, "ioread8");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto missing = probe::DirectCallers(prog_, "no_such_function");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, prog_ + ": has no symbol no_such_function");
  auto not_elf = probe::DirectCallers(filter_, "iowrite16");
  ASSERT_FALSE(not_elf);
  EXPECT_EQ(not_elf.error().message, filter_ + ": expected an ELF file");
}

// A module (.ko) is relocatable: its calls into the kernel are relocations, found as such.
TEST_F(KprobeRefusal, CallersFromAModulesCallRelocations) {
  const std::string object = TempPath("notrace_callers.o");
  auto cc = RunCommand("cc -O2 -c -DAS_MODULE -o " + object + " " + SourceDir() + "/tests/probe/notrace_callers.c");
  ASSERT_EQ(cc.status, 0) << cc.err;
  auto callers = probe::DirectCallers(object, "iowrite16");
  ASSERT_TRUE(callers) << callers.error().message;
  EXPECT_EQ(*callers, (std::vector<std::string>{"vm_tail_notify", "vp_notify"}));
}

TEST_F(KprobeRefusal, OneLineNamingCallersThatCanBeProbed) {
  auto lists = probe::ReadKernelFunctionLists(filter_, blacklist_);
  ASSERT_TRUE(lists.traceable);
  EXPECT_TRUE(lists.Probeable("vp_notify"));
  EXPECT_TRUE(lists.Probeable("vm_tail_notify"));
  EXPECT_FALSE(lists.Probeable("iowrite16"));
  EXPECT_FALSE(lists.Probeable("ioread8"));
  EXPECT_EQ(probe::KprobeRefusal("vp_notify", lists, "", {}), "");

  auto callers = probe::DirectCallers(prog_, "iowrite16");
  ASSERT_TRUE(callers);
  EXPECT_EQ(probe::KprobeRefusal("iowrite16", lists, prog_, *callers),
            "iowrite16 is a notrace function (not in available_filter_functions): the kernel refuses kprobes on it; "
            "probe a caller instead: vm_tail_notify, vp_notify (direct callers in " + prog_ + ")");
  EXPECT_EQ(probe::KprobeRefusal("iowrite16", lists, "", {}),
            "iowrite16 is a notrace function (not in available_filter_functions): the kernel refuses kprobes on it; "
            "give --vmlinux FILE to list its callers that can be probed");
  // A caller that cannot be probed either is not offered.
  lists.traceable->erase("vm_tail_notify");
  EXPECT_EQ(probe::KprobeRefusal("iowrite16", lists, prog_, *callers),
            "iowrite16 is a notrace function (not in available_filter_functions): the kernel refuses kprobes on it; "
            "probe a caller instead: vp_notify (direct callers in " + prog_ + ")");
  EXPECT_EQ(probe::KprobeRefusal("ioread8", lists, prog_, {}),
            "ioread8 is on the kernel's kprobe blacklist (debugfs kprobes/blacklist); no direct caller of it that can "
            "be probed in " + prog_);
}

TEST_F(KprobeRefusal, UnreadableListsRefuseNothing) {
  // Without the lists (no tracefs, or lockdown's EPERM) nothing is refused on a guess.
  auto lists = probe::ReadKernelFunctionLists(TempPath("no-such-list"), TempPath("no-such-blacklist"));
  EXPECT_FALSE(lists.traceable);
  EXPECT_TRUE(lists.Probeable("iowrite16"));
  EXPECT_EQ(probe::KprobeRefusal("iowrite16", lists, prog_, {}), "");
}

// The command on this kernel: where tracefs lists the functions and iowrite16 is notrace (as on
// Debian's kernels), `probe --add iowrite16` refuses it in one line, status 2, before writing.
TEST_F(KprobeRefusal, ProbeCommandRefusesANotraceKernelFunction) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (tracefs)";
  auto lists = probe::ReadKernelFunctionLists("/sys/kernel/tracing/available_filter_functions");
  if (!lists.traceable) GTEST_SKIP() << "/sys/kernel/tracing/available_filter_functions cannot be read here";
  if (lists.Probeable("iowrite16")) GTEST_SKIP() << "iowrite16 can be probed on this kernel";
  auto callers = probe::DirectCallers(prog_, "iowrite16");
  ASSERT_TRUE(callers);
  auto r = RunCommand(Exitprof() + " probe --add iowrite16 -k " + prog_);
  EXPECT_EQ(r.status, 2);
  // Of the program's callers, those this kernel could probe (vp_notify where virtio_pci is there).
  EXPECT_EQ(r.err, "exitprof: probe iowrite16: " + probe::KprobeRefusal("iowrite16", lists, prog_, *callers) + "\n");
}

}  // namespace
}  // namespace exitprof::testing
