// Golden files: text, CSV and JSON of `exitprof report` over the shared fixtures and the repo's
// demo recording, byte for byte. They pin the tables' layout, so that rendering code can move
// (issue 15: tables declared once) without a visible change; an intended change regenerates them
// (EXITPROF_UPDATE_GOLDEN=1) and the diff shows in review.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "test_support.h"

namespace exitprof::testing {
namespace {

struct Case {
  std::string name, dir, args;
};

std::string GoldenDir() { return SourceDir() + "/tests/render/golden"; }

std::vector<Case> Cases() {
  std::vector<Case> cases;
  std::ifstream in(GoldenDir() + "/CASES");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Case c;
    fields >> c.name >> c.dir;
    std::getline(fields, c.args);
    cases.push_back(c);
  }
  return cases;
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name << " (report" << c.args << ")"; }

class Golden : public ::testing::TestWithParam<Case> {};

TEST_P(Golden, MatchesByteForByte) {
  const Case& c = GetParam();
  const std::string dir = c.dir == "fixtures" ? SharedDir() + "/fixtures"
                          : c.dir == "inputs" ? GoldenDir() + "/inputs"
                                              : SourceDir() + "/" + c.dir;
  if (c.dir == "fixtures" && !FileExists(dir + "/small-vmx.data")) GTEST_SKIP() << "no shared fixtures in " << dir;
  // `report` unless the case names another command (" diff ...").
  const std::string command = c.args.rfind(" diff ", 0) == 0 ? "" : " report";
  auto r = RunCommand("cd " + dir + " && " + Exitprof() + command + c.args);
  ASSERT_EQ(r.status, 0) << c.args << "\n" << r.err;
  const std::string path = GoldenDir() + "/" + c.name;
  if (const char* update = std::getenv("EXITPROF_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << r.out;
    return;
  }
  ASSERT_TRUE(FileExists(path)) << path << ": no golden file (EXITPROF_UPDATE_GOLDEN=1 writes it)";
  const std::string want = Read(path);
  if (r.out == want) return;
  // The first differing line says more than two whole outputs.
  std::istringstream a(want), b(r.out);
  std::string la, lb;
  for (int line = 1;; ++line) {
    bool more_a = static_cast<bool>(std::getline(a, la)), more_b = static_cast<bool>(std::getline(b, lb));
    if (!more_a && !more_b) break;
    if (la != lb || more_a != more_b) {
      FAIL() << c.name << " (report" << c.args << ") differs at line " << line << "\n  golden: " << (more_a ? la : "<end>")
             << "\n  now:    " << (more_b ? lb : "<end>");
    }
  }
  FAIL() << c.name << ": differs (line ends)";
}

INSTANTIATE_TEST_SUITE_P(Report, Golden, ::testing::ValuesIn(Cases()), [](const auto& info) {
  std::string name = info.param.name;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
});

}  // namespace
}  // namespace exitprof::testing
