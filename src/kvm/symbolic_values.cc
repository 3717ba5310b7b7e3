// SymbolicValues: the value -> name tables of a tracepoint's print fmt (see event_counters.h).
#include <cstdlib>

#include "kvm/event_counters.h"

namespace exitprof::kvm {

std::vector<std::pair<uint64_t, std::string>> SymbolicValues(const std::string& print_fmt, const std::string& field,
                                                            size_t nth) {
  std::vector<std::pair<uint64_t, std::string>> out;
  const std::string key = "__print_symbolic(REC->" + field;
  size_t at = 0;
  for (size_t i = 0; i <= nth; ++i) {
    at = print_fmt.find(key, at == 0 ? 0 : at + 1);
    if (at == std::string::npos) return out;
  }
  // Entries look like { 2, "KVM_EXIT_" "IO" } up to the table's closing parenthesis.
  size_t pos = at + key.size();
  while (true) {
    size_t open = print_fmt.find_first_of("{)", pos);
    if (open == std::string::npos || print_fmt[open] == ')') break;
    size_t close = print_fmt.find('}', open);
    if (close == std::string::npos) break;
    std::string entry = print_fmt.substr(open + 1, close - open - 1);
    pos = close + 1;
    size_t comma = entry.find(',');
    if (comma == std::string::npos) continue;
    uint64_t value = std::strtoull(entry.substr(0, comma).c_str(), nullptr, 0);
    std::string name;
    bool in = false;
    for (char ch : entry.substr(comma + 1)) {
      if (ch == '"') in = !in;
      else if (in) name += ch;
    }
    if (!name.empty()) out.emplace_back(value, name);
  }
  return out;
}

}  // namespace exitprof::kvm
