#include "report/guest_symbols.h"

#include <algorithm>
#include <map>

namespace exitprof::report {

Result<void> AddGuestSymbols(analysis::ReportModel& m, const symbols::GuestSymbolOptions& options, size_t top) {
  auto opened = symbols::GuestSymbols::Open(options);
  if (!opened) return tl::unexpected(opened.error());
  auto& guest = **opened;
  for (const auto& w : guest.warnings()) m.warnings.push_back(w);
  m.guest_symbols = guest.description();

  // Reason -> (symbol, module) -> count, RIPs; reasons keep by_rip's order.
  std::vector<std::string> reasons;
  std::map<std::string, std::map<std::pair<std::string, std::string>, std::pair<uint64_t, uint64_t>>> groups;
  std::map<std::string, uint64_t> reason_totals;
  for (auto& r : m.by_rip) {
    const auto& s = guest.Resolve(r.rip);
    if (s.found) {
      r.symbol = s.symbol;
      r.symbol_offset = s.offset;
      r.module = s.module;
      r.srcline = s.srcline;
      r.inline_chain = s.inline_chain;
    }
    if (groups.find(r.reason) == groups.end()) reasons.push_back(r.reason);
    auto& g = groups[r.reason][{r.symbol, r.module}];
    g.first += r.count;
    g.second += 1;
    reason_totals[r.reason] += r.count;
  }
  m.by_sym.clear();
  for (const auto& reason : reasons) {
    std::vector<analysis::SymbolRow> rows;
    for (const auto& [key, value] : groups[reason]) {
      analysis::SymbolRow row{reason, key.first, key.second, value.first, 0, value.second};
      row.percent_of_reason = reason_totals[reason] ? 100.0 * static_cast<double>(value.first) / static_cast<double>(reason_totals[reason]) : 0;
      rows.push_back(row);
    }
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
    m.by_sym.insert(m.by_sym.end(), rows.begin(), rows.end());
  }
  if (top > 0) {
    std::vector<analysis::RipRow> kept;
    std::map<std::string, size_t> per_reason;
    for (auto& r : m.by_rip)
      if (per_reason[r.reason]++ < top) kept.push_back(std::move(r));
    m.by_rip = std::move(kept);
  }
  return {};
}

}  // namespace exitprof::report
