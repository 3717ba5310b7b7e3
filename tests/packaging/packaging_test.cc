// Packaging: --version from git describe, a man page per subcommand made from its --help,
// bash and zsh completion, and the .deb CPack builds: its files (dpkg -x into a scratch root,
// the binary run from there) and its dependencies (dpkg-deb --info).
#include <gtest/gtest.h>

#include <sstream>

#include "test_support.h"

namespace exitprof::testing {
namespace {

const char* const kSubcommands[] = {"report", "script", "record", "demo", "top", "diff", "symbolize", "probe", "stat"};

bool Have(const std::string& tool) { return RunCommand("command -v " + tool + " >/dev/null").status == 0; }

TEST(Packaging, VersionComesFromGitDescribe) {
  auto version = RunCommand(Exitprof() + " --version");
  EXPECT_EQ(version.status, 0);
  auto described = RunCommand("git -C " + SourceDir() + " describe --tags --always --dirty 2>/dev/null");
  if (described.status != 0) GTEST_SKIP() << "not a git checkout";
  // The commit, whether or not the tree was edited since the build ("-dirty").
  std::string d = described.out.substr(0, described.out.find('\n'));
  if (d.size() > 6 && d.compare(d.size() - 6, 6, "-dirty") == 0) d.resize(d.size() - 6);
  EXPECT_NE(version.out.find("(git " + d), std::string::npos) << version.out << " vs " << d;
  EXPECT_EQ(version.out.rfind("exitprof 0.", 0), 0u) << version.out;
}

TEST(Packaging, AManPagePerSubcommandFromItsHelp) {
  if (!Have("help2man")) GTEST_SKIP() << "needs help2man (scripts/install-deps.sh)";
  for (const char* sub : kSubcommands) {
    std::string page = BinaryDir() + "/man/exitprof-" + sub + ".1";
    ASSERT_TRUE(FileExists(page + ".gz")) << page;
    // Every option of the subcommand's --help is in its page.
    auto help = RunCommand(Exitprof() + " " + sub + " --help | grep -o -- '--[a-z][a-z-]*' | sort -u");
    auto man = RunCommand("MANWIDTH=250 man -l " + page + " 2>/dev/null");
    EXPECT_NE(man.out.find("exitprof " + std::string(sub)), std::string::npos) << sub;
    std::istringstream flags(help.out);
    for (std::string flag; std::getline(flags, flag);) {
      EXPECT_NE(man.out.find(flag), std::string::npos) << sub << ": " << flag << " not in " << page;
    }
    EXPECT_EQ(man.out.find(BinaryDir()), std::string::npos) << sub << ": the build path leaked into the page";
  }
  EXPECT_TRUE(FileExists(BinaryDir() + "/man/exitprof.1.gz"));
}

TEST(Packaging, BashAndZshCompletion) {
  std::string bash = BinaryDir() + "/completion/exitprof";
  ASSERT_TRUE(FileExists(bash));
  auto complete = [&](const std::string& words, int cword) {
    return RunCommand("bash -c 'source " + bash + "; COMP_WORDS=(" + words + "); COMP_CWORD=" + std::to_string(cword) +
                      "; _exitprof; echo \"${COMPREPLY[*]}\"'").out;
  };
  EXPECT_EQ(complete("exitprof sy", 1), "symbolize\n");
  EXPECT_EQ(complete("exitprof script --he", 2), "--help --header\n");
  EXPECT_EQ(complete("exitprof report -i perf.data --lat", 4), "--latency\n");
  std::string zsh = BinaryDir() + "/completion/_exitprof";
  ASSERT_TRUE(FileExists(zsh));
  if (!Have("zsh")) GTEST_SKIP() << "needs zsh to check the zsh completion's syntax";
  auto syntax = RunCommand("zsh -n " + zsh);
  EXPECT_EQ(syntax.status, 0) << syntax.err;
  EXPECT_NE(RunCommand("grep -c -- --reltime " + zsh).out, "0\n");
}

TEST(Packaging, DebianPackageFromCPack) {
  if (!Have("cpack") || !Have("dpkg-deb") || !Have("dpkg-shlibdeps")) GTEST_SKIP() << "needs cpack and dpkg-dev";
  std::string dir = TempPath("deb");
  RunCommand("rm -rf " + dir + " && mkdir -p " + dir);
  auto built = RunCommand("cd " + dir + " && cpack -G DEB --config " + BinaryDir() + "/CPackConfig.cmake -B " + dir + " 2>&1");
  ASSERT_EQ(built.status, 0) << built.out;
  auto deb = RunCommand("ls " + dir + "/exitprof_*.deb").out;
  deb = deb.substr(0, deb.find('\n'));
  ASSERT_FALSE(deb.empty()) << built.out;

  auto info = RunCommand("dpkg-deb --info " + deb);
  EXPECT_NE(info.out.find("Package: exitprof"), std::string::npos) << info.out;
  // dpkg-shlibdeps found the libraries the binaries link.
  for (const char* lib : {"libc6", "libstdc++6", "libdw1", "libelf1", "libtraceevent1", "libzstd1", "libncursesw6", "libbpf1"}) {
    EXPECT_NE(info.out.find(lib), std::string::npos) << lib << " missing from Depends:\n" << info.out;
  }
  EXPECT_NE(info.out.find("Recommends: linux-perf, trace-cmd"), std::string::npos) << info.out;

  std::string root = dir + "/root";
  ASSERT_EQ(RunCommand("dpkg -x " + deb + " " + root).status, 0);
  for (std::string file : {"usr/bin/exitprof", "usr/bin/exitprof-guest", "usr/share/man/man1/exitprof.1.gz",
                           "usr/share/bash-completion/completions/exitprof", "usr/share/zsh/vendor-completions/_exitprof",
                           "usr/share/doc/exitprof/README.md"}) {
    EXPECT_TRUE(FileExists(root + "/" + file)) << file;
  }
  for (const char* sub : kSubcommands) {
    EXPECT_TRUE(FileExists(root + "/usr/share/man/man1/exitprof-" + std::string(sub) + ".1.gz")) << sub;
  }
  auto version = RunCommand(root + "/usr/bin/exitprof --version");
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.out, RunCommand(Exitprof() + " --version").out);
  // Stripped: the package carries no debug info.
  EXPECT_EQ(RunCommand("readelf -S " + root + "/usr/bin/exitprof | grep -c debug_info").out, "0\n");
  RunCommand("rm -rf " + dir);
}

}  // namespace
}  // namespace exitprof::testing
