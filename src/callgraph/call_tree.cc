#include "callgraph/call_tree.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace exitprof::callgraph {

CallNode* CallNode::Child(std::string_view child_name) {
  for (auto& c : children) {
    if (c->name == child_name) return c.get();
  }
  children.push_back(std::make_unique<CallNode>());
  children.back()->name = std::string(child_name);
  return children.back().get();
}

void CallTree::Add(std::span<const std::string> frames, uint64_t weight) {
  static const std::string kUnknown = "[unknown]";
  std::span<const std::string> stack = frames.empty() ? std::span<const std::string>(&kUnknown, 1) : frames;
  // Caller tree: walk from the outermost frame in.
  CallNode* node = &root_;
  node->total += weight;
  for (size_t i = stack.size(); i-- > 0;) {
    node = node->Child(stack[i]);
    node->total += weight;
  }
  node->self += weight;
  // Callee tree: walk from the leaf out.
  node = &leaves_;
  node->total += weight;
  for (const auto& frame : stack) {
    node = node->Child(frame);
    node->total += weight;
  }
  node->self += weight;
  stacks_[std::vector<std::string>(stack.rbegin(), stack.rend())] += weight;
}

std::string CallTree::Folded() const {
  std::string out;
  for (const auto& [stack, weight] : stacks_) {
    for (size_t i = 0; i < stack.size(); ++i) {
      if (i) out += ';';
      out += stack[i];
    }
    out += ' ';
    out += std::to_string(weight);
    out += '\n';
  }
  return out;
}

void SortByWeight(CallNode& node) {
  std::stable_sort(node.children.begin(), node.children.end(), [](const auto& a, const auto& b) {
    if (a->total != b->total) return a->total > b->total;
    return a->name < b->name;
  });
  for (auto& c : node.children) SortByWeight(*c);
}

namespace {

std::string Percent(uint64_t part, uint64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f%%", whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
  return buf;
}

// Copies `node` with children sorted (the trees keep insertion order while building).
std::unique_ptr<CallNode> SortedCopy(const CallNode& node) {
  auto copy = std::make_unique<CallNode>();
  copy->name = node.name;
  copy->total = node.total;
  copy->self = node.self;
  for (const auto& c : node.children) copy->children.push_back(SortedCopy(*c));
  std::stable_sort(copy->children.begin(), copy->children.end(), [](const auto& a, const auto& b) {
    if (a->total != b->total) return a->total > b->total;
    return a->name < b->name;
  });
  return copy;
}

// Prints the chain below `node` the way perf's graph printer does: straight runs of single
// callers as plain lines, branches as "|--P%--name" / " --P%--name" with P of the grand total.
void PrintChildren(const CallNode& node, const std::string& indent, uint64_t grand_total,
                   const CallTree::TextOptions& options, size_t depth, std::string& out) {
  std::vector<const CallNode*> shown;
  uint64_t limit = static_cast<uint64_t>(options.percent_limit / 100.0 * static_cast<double>(grand_total));
  for (const auto& c : node.children) {
    if (c->total >= limit || options.percent_limit <= 0) shown.push_back(c.get());
  }
  if (shown.empty() || depth >= options.max_stack) return;
  bool branch = shown.size() > 1 || shown[0]->total != node.total - node.self;
  if (!branch) {
    // A single caller carrying all the weight: the run continues on the same column.
    out += indent + shown[0]->name + "\n";
    PrintChildren(*shown[0], indent, grand_total, options, depth + 1, out);
    return;
  }
  out += indent + "|          \n";
  for (size_t i = 0; i < shown.size(); ++i) {
    bool last = i + 1 == shown.size();
    const CallNode& c = *shown[i];
    out += indent + (last ? " --" : "|--") + Percent(c.total, grand_total) + "--" + c.name + "\n";
    std::string child_indent = indent + (last ? "           " : "|          ");
    PrintChildren(c, child_indent, grand_total, options, depth + 1, out);
    if (!last) out += indent + "|          \n";
  }
}

}  // namespace

std::string CallTree::Text(const TextOptions& options) const {
  std::string out;
  if (options.children) {
    // Children: the samples whose stack passes through the function (counted once per stack);
    // Self: those sampled in it.
    std::map<std::string, std::pair<uint64_t, uint64_t>> rows;
    for (const auto& [stack, weight] : stacks_) {
      std::set<std::string_view> seen;
      for (const auto& f : stack) {
        if (seen.insert(f).second) rows[f].first += weight;
      }
      if (!stack.empty()) rows[stack.back()].second += weight;
    }
    std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>> sorted(rows.begin(), rows.end());
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      if (a.second.first != b.second.first) return a.second.first > b.second.first;
      return a.first < b.first;
    });
    out += "#  Children      Self  Symbol\n";
    for (const auto& [name, counts] : sorted) {
      double share = 100.0 * static_cast<double>(counts.first) / static_cast<double>(total() ? total() : 1);
      if (options.percent_limit > 0 && share < options.percent_limit) continue;
      char line[64];
      std::snprintf(line, sizeof(line), "%10s %9s  ", Percent(counts.first, total()).c_str(),
                    Percent(counts.second, total()).c_str());
      out += line + name + "\n";
    }
    return out;
  }
  auto sorted = SortedCopy(options.caller_order ? root_ : leaves_);
  uint64_t grand = sorted->total;
  for (const auto& entry : sorted->children) {
    if (options.percent_limit > 0 &&
        100.0 * static_cast<double>(entry->total) / static_cast<double>(grand ? grand : 1) < options.percent_limit) {
      continue;
    }
    char head[64];
    std::snprintf(head, sizeof(head), "%9s  ", Percent(entry->total, grand).c_str());
    out += std::string(head) + entry->name + "\n";
    out += "            |\n";
    out += "            ---" + entry->name + "\n";
    PrintChildren(*entry, "               ", grand, options, 1, out);
    out += "\n";
  }
  return out;
}

}  // namespace exitprof::callgraph
