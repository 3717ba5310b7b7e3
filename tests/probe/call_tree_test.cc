// Call trees from known stacks: f reached from a() three times for each once from b(). Folded
// stacks give the exact counts, the text tree perf report's layout and percentages (the expected
// text is what `perf report --no-children --stdio` printed for such a recording, with 75.00/25.00
// where perf's lost a few samples), and the SVG is well-formed XML with frame widths 3:1.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "callgraph/call_tree.h"
#include "callgraph/flame_graph.h"
#include "test_support.h"

namespace exitprof::callgraph {
namespace {

CallTree KnownTree() {
  CallTree tree;
  std::vector<std::string> via_a = {"f", "a", "main", "__libc_start_call_main", "__libc_start_main_impl (inlined)", "_start"};
  std::vector<std::string> via_b = {"f", "b", "main", "__libc_start_call_main", "__libc_start_main_impl (inlined)", "_start"};
  for (int i = 0; i < 1000; ++i) {
    tree.Add(via_a);
    tree.Add(via_a);
    tree.Add(via_a);
    tree.Add(via_b);
  }
  return tree;
}

TEST(CallTree, FoldedStacksCountExactly) {
  auto tree = KnownTree();
  EXPECT_EQ(tree.total(), 4000u);
  EXPECT_EQ(tree.Folded(),
            "_start;__libc_start_main_impl (inlined);__libc_start_call_main;main;a;f 3000\n"
            "_start;__libc_start_main_impl (inlined);__libc_start_call_main;main;b;f 1000\n");
}

TEST(CallTree, CalleeTextIsPerfReportsGraph) {
  auto tree = KnownTree();
  EXPECT_EQ(tree.Text({}),
            "  100.00%  f\n"
            "            |\n"
            "            ---f\n"
            "               |          \n"
            "               |--75.00%--a\n"
            "               |          main\n"
            "               |          __libc_start_call_main\n"
            "               |          __libc_start_main_impl (inlined)\n"
            "               |          _start\n"
            "               |          \n"
            "                --25.00%--b\n"
            "                          main\n"
            "                          __libc_start_call_main\n"
            "                          __libc_start_main_impl (inlined)\n"
            "                          _start\n"
            "\n");
}

TEST(CallTree, CallerTextBranchesAtMain) {
  auto tree = KnownTree();
  CallTree::TextOptions caller;
  caller.caller_order = true;
  EXPECT_EQ(tree.Text(caller),
            "  100.00%  _start\n"
            "            |\n"
            "            ---_start\n"
            "               __libc_start_main_impl (inlined)\n"
            "               __libc_start_call_main\n"
            "               main\n"
            "               |          \n"
            "               |--75.00%--a\n"
            "               |          f\n"
            "               |          \n"
            "                --25.00%--b\n"
            "                          f\n"
            "\n");
}

TEST(CallTree, PercentLimitHidesSmallBranches) {
  CallTree tree;
  std::vector<std::string> hot = {"f", "hot"}, cold = {"f", "cold"};
  for (int i = 0; i < 999; ++i) tree.Add(hot);
  tree.Add(cold);  // 0.1% < 0.5%
  std::string text = tree.Text({});
  EXPECT_NE(text.find("hot"), std::string::npos);
  EXPECT_EQ(text.find("cold"), std::string::npos) << text;
  CallTree::TextOptions all;
  all.percent_limit = 0;
  EXPECT_NE(tree.Text(all).find("--0.10%--cold"), std::string::npos) << tree.Text(all);
}

TEST(FlameGraph, WellFormedSvgWithFramesInProportion) {
  auto tree = KnownTree();
  FlameGraphOptions options;
  options.subtitle = "probe_pt:f <&> test";
  std::string svg = RenderFlameGraphSvg(tree.callers_root(), options);
  std::string path = testing::TempPath("known.svg");
  std::ofstream(path) << svg;
  auto check = testing::RunCommand("python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' " + path);
  EXPECT_EQ(check.status, 0) << check.err;
  auto width_of = [&](const std::string& name) {
    std::regex re("data-w=\"([0-9.e-]+)\"[^>]*data-name=\"" + name + "\"");
    std::smatch m;
    EXPECT_TRUE(std::regex_search(svg, m, re)) << name;
    return std::stod(m[1]);
  };
  EXPECT_DOUBLE_EQ(width_of("all"), 1.0);
  EXPECT_DOUBLE_EQ(width_of("a"), 0.75);
  EXPECT_DOUBLE_EQ(width_of("b"), 0.25);
  EXPECT_NE(svg.find("<title>a (3000 samples, 75.00%)</title>"), std::string::npos);
  EXPECT_NE(svg.find("probe_pt:f &lt;&amp;&gt; test"), std::string::npos);
}

}  // namespace
}  // namespace exitprof::callgraph
