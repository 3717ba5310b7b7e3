#include "render/table.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace exitprof::render {

using nlohmann::ordered_json;

Cell Cell::Hex(uint64_t v) {
  Cell c(v);
  c.kind = Kind::kHex;
  return c;
}

Cell Cell::Json(ordered_json v) {
  Cell c;
  c.kind = Kind::kJson;
  c.json = std::move(v);
  return c;
}

Column& Table::Add(Column c) {
  columns.push_back(std::move(c));
  return columns.back();
}

size_t Table::Index(const std::string& key, unsigned show) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].key == key && (columns[i].show & show)) return i;
  }
  return columns.size();
}

namespace {

// A cell as text and CSV print it (`digits`: places of a double, -1 = shortest).
std::string Plain(const Cell& c, int digits, const char* null_text) {
  switch (c.kind) {
    case Cell::Kind::kNull: return null_text;
    case Cell::Kind::kUint: return std::to_string(c.u);
    case Cell::Kind::kInt: return std::to_string(c.i);
    case Cell::Kind::kDouble: return digits < 0 ? fmt::format("{}", c.d) : fmt::format("{:.{}f}", c.d, digits);
    case Cell::Kind::kText: return c.text;
    case Cell::Kind::kBool: return c.b ? "1" : "0";
    case Cell::Kind::kHex: return fmt::format("{:#x}", c.u);
    case Cell::Kind::kJson: return c.json.dump();
  }
  return "";
}

// Quotes a field when it holds a comma, quote or newline (RFC 4180).
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string Pad(const std::string& s, const Column& c) {
  if (c.width == 0) return s;
  return c.left ? fmt::format("{:<{}}", s, c.width) : fmt::format("{:>{}}", s, c.width);
}

std::vector<size_t> TextColumns(const Table& t) {
  std::vector<size_t> order = t.text_order;
  if (order.empty()) {
    for (size_t i = 0; i < t.columns.size(); ++i) order.push_back(i);
  }
  std::vector<size_t> shown;
  for (size_t i : order) {
    if ((t.columns[i].show & kText) && static_cast<int>(i) != t.group) shown.push_back(i);
  }
  return shown;
}

std::string TextLine(const Table& t, const std::vector<size_t>& cols, const std::string& lead,
                     const std::function<std::string(const Column&, size_t)>& value, const Row* row) {
  std::string out = lead;
  bool first = true;
  for (size_t i : cols) {
    const Column& c = t.columns[i];
    if (row && c.skip_null && row->cells[i].null()) continue;
    if (!first) out.append(static_cast<size_t>(c.gap), ' ');
    first = false;
    out += row ? Pad(value(c, i), c) : value(c, i);
  }
  return out + "\n";
}

}  // namespace

std::string TableText(const Table& t) {
  if (t.rows.empty() && !t.text_when_empty) return "";
  std::string out;
  size_t start = 0;
  while (start <= t.title.size()) {
    size_t end = t.title.find('\n', start);
    if (end == std::string::npos) end = t.title.size();
    out += "# " + t.title.substr(start, end - start) + "\n";
    start = end + 1;
  }
  const auto cols = TextColumns(t);
  // The header line ends at the last column with a header (a RIP's symbol has none).
  std::vector<size_t> headed;
  for (size_t k = 0; k < cols.size(); ++k) {
    if (!t.columns[cols[k]].header.empty()) headed.assign(cols.begin(), cols.begin() + static_cast<long>(k) + 1);
  }
  const auto header = [&] {
    return TextLine(t, headed, "# ", [&](const Column& c, size_t) { return c.pad_header ? Pad(c.header, c) : c.header; },
                    nullptr);
  };
  if (t.group < 0) out += (t.spaced ? "#\n" : "") + header();
  std::string group;
  bool first = true;
  for (const auto& row : t.rows) {
    if (t.group >= 0) {
      const std::string g = Plain(row.cells[static_cast<size_t>(t.group)], -1, "");
      if (first || g != group) out += "#\n# " + g + "\n" + header();
      group = g;
      first = false;
    }
    out += TextLine(t, cols, "  ", [&](const Column& c, size_t i) {
      const Cell& cell = row.cells[i];
      std::string s = c.plus && cell.kind == Cell::Kind::kDouble ? fmt::format("{:+.{}f}", cell.d, std::max(c.digits, 0))
                                                                   : Plain(cell, c.digits, "-");
      return c.percent ? s + "%" : s;
    }, &row);
    for (const auto& line : row.text_after) out += line + "\n";
  }
  return t.spaced ? out + "\n" : out;
}

std::string TableCsv(const Table& t) {
  std::string out;
  std::vector<size_t> cols;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (t.columns[i].show & kCsv) cols.push_back(i);
  }
  for (size_t k = 0; k < cols.size(); ++k) out += (k ? "," : "") + t.columns[cols[k]].key;
  out += "\n";
  for (const auto& row : t.rows) {
    for (size_t k = 0; k < cols.size(); ++k) {
      const Column& c = t.columns[cols[k]];
      out += (k ? "," : "") + CsvField(Plain(row.cells[cols[k]], c.csv_digits, ""));
    }
    out += "\n";
  }
  return out;
}

ordered_json TableJson(const Table& t) {
  ordered_json rows = ordered_json::array();
  for (const auto& row : t.rows) {
    ordered_json j = ordered_json::object();
    for (size_t i = 0; i < t.columns.size(); ++i) {
      const Column& c = t.columns[i];
      const Cell& cell = row.cells[i];
      if (!(c.show & kJson) || (c.skip_null && cell.null())) continue;
      switch (cell.kind) {
        case Cell::Kind::kNull: j[c.key] = nullptr; break;
        case Cell::Kind::kUint: j[c.key] = cell.u; break;
        case Cell::Kind::kInt: j[c.key] = cell.i; break;
        case Cell::Kind::kDouble: j[c.key] = cell.d; break;
        case Cell::Kind::kText: j[c.key] = cell.text; break;
        case Cell::Kind::kBool: j[c.key] = cell.b; break;
        case Cell::Kind::kHex: j[c.key] = fmt::format("{:#x}", cell.u); break;
        case Cell::Kind::kJson: j[c.key] = cell.json; break;
      }
    }
    rows.push_back(std::move(j));
  }
  return rows;
}

}  // namespace exitprof::render
