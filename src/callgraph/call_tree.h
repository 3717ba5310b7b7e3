// Call stacks aggregated into trees: the caller tree (root = outermost frame) that folded
// stacks and flame graphs draw, and perf report's callee view (one tree per sampled function,
// growing toward its callers) with perf's percentages.
//
// Frames arrive already symbolized as names, leaf first (the order perf's callchains have), so
// this module knows nothing of addresses, ELF or unwinding.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace exitprof::callgraph {

struct CallNode {
  std::string name;
  uint64_t total = 0;  // weight of every stack through this node
  uint64_t self = 0;   // weight of stacks ending here
  std::vector<std::unique_ptr<CallNode>> children;  // in first-seen order; sorted for output
  CallNode* Child(std::string_view child_name);
};

inline CallNode NamedNode(std::string name) {
  CallNode node;
  node.name = std::move(name);
  return node;
}

class CallTree {
 public:
  // frames: leaf first (frames[0] is where the sample was taken). Empty stacks are counted as
  // "[unknown]" so totals stay right.
  void Add(std::span<const std::string> frames_leaf_first, uint64_t weight = 1);

  uint64_t total() const { return root_.total; }
  const CallNode& callers_root() const { return root_; }   // root -> ... -> leaf
  const CallNode& callees_root() const { return leaves_; }  // leaf -> caller -> ... -> outermost

  // FlameGraph's collapsed stacks: "outer;...;leaf COUNT" per distinct stack, sorted by stack.
  std::string Folded() const;

  struct TextOptions {
    bool caller_order = false;  // --caller (root first); default callee like perf report
    double percent_limit = 0.5;  // branches under this share of the total are not shown
    size_t max_stack = 127;
    bool children = false;  // perf's --children: a row per function with its callees' samples
  };
  // perf report --no-children --stdio's graph: per sampled function (share of all samples), its
  // call chains with absolute percentages where they branch.
  std::string Text(const TextOptions& options) const;

 private:
  CallNode root_ = NamedNode("[root]");
  CallNode leaves_ = NamedNode("[root]");
  std::map<std::vector<std::string>, uint64_t> stacks_;  // root-first stack -> weight
};

// Sorts children by total (heaviest first, then by name) throughout the tree.
void SortByWeight(CallNode& node);

}  // namespace exitprof::callgraph
