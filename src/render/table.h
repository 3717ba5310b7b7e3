// A table declared once: its columns (key, text header, alignment, precision, where it shows) and
// its rows of typed cells. One function per table builds it from the report model
// (report_tables.h); the text, CSV and JSON renderers here derive everything from the declaration,
// so the three outputs cannot drift apart.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace exitprof::render {

// One value. Null shows "-" in text, "" in CSV and null in JSON.
struct Cell {
  enum class Kind { kNull, kUint, kInt, kDouble, kText, kBool, kHex, kJson };
  Kind kind = Kind::kNull;
  uint64_t u = 0;
  int64_t i = 0;
  double d = 0;
  bool b = false;
  std::string text;
  nlohmann::ordered_json json;  // kJson: a nested value only JSON shows (a device, a histogram)

  Cell() = default;
  Cell(uint64_t v) : kind(Kind::kUint), u(v) {}  // NOLINT: cells are built from plain values
  Cell(uint32_t v) : Cell(uint64_t{v}) {}        // NOLINT
  Cell(int64_t v) : kind(Kind::kInt), i(v) {}    // NOLINT
  Cell(double v) : kind(Kind::kDouble), d(v) {}  // NOLINT
  Cell(bool v) : kind(Kind::kBool), b(v) {}      // NOLINT
  Cell(std::string v) : kind(Kind::kText), text(std::move(v)) {}  // NOLINT
  Cell(const char* v) : Cell(std::string(v)) {}                    // NOLINT
  static Cell Hex(uint64_t v);  // "0x3f8" everywhere (a string in JSON)
  static Cell Json(nlohmann::ordered_json v);
  static Cell TextOrNull(const std::string& v) { return v.empty() ? Cell() : Cell(v); }
  bool null() const { return kind == Kind::kNull; }
};

enum Show : unsigned { kText = 1, kCsv = 2, kJson = 4, kData = kCsv | kJson, kAll = kText | kCsv | kJson };

struct Column {
  std::string key{};     // CSV header and JSON key
  std::string header{};  // text header
  unsigned show = kAll;
  int width = 0;        // text: padded to this; 0 = not padded (the last column)
  bool left = false;    // text: left-aligned (default right)
  int digits = -1;      // doubles in text: places after the point
  int csv_digits = -1;  // doubles in CSV: places after the point (-1: as JSON would)
  bool percent = false; // text: a "%" after the number
  bool plus = false;    // text: a sign on positive numbers too ("+12.5": a change)
  int gap = 2;          // text: spaces before the column
  bool skip_null = false;  // a null cell: JSON leaves the key out, text prints nothing (last column)
  bool pad_header = true;  // text: the header padded to the width, as the values are
};

struct Row {
  std::vector<Cell> cells{};  // one per column
  std::vector<std::string> text_after{};  // text only: lines under the row (an inline chain)
};

struct Table {
  std::string name{};   // the --by name: "reason"
  std::string title{};  // text: the heading, one "# " line per line
  std::vector<Column> columns{};
  std::vector<Row> rows{};
  std::vector<size_t> text_order{};  // text: columns in this order (default: declared order)
  int group = -1;                  // text: a new sub-heading where this column's value changes
  bool text_when_empty = true;     // text: the heading and header even without rows
  bool spaced = true;              // text: a "#" line under the heading and a blank line after the rows
  std::string why_empty{};           // what an empty table means ("kvm:kvm_msr was not recorded")

  Column& Add(Column c);
  size_t Index(const std::string& key, unsigned show = kAll) const;
};

// "# title\n#\n# header\n  row\n...\n" (grouped: a "# group" heading and header per group;
// not spaced: "# title\n# header\n  row\n").
std::string TableText(const Table& t);
// A header row of keys, then one line per row (RFC 4180 quoting).
std::string TableCsv(const Table& t);
// An array of objects, one per row.
nlohmann::ordered_json TableJson(const Table& t);

}  // namespace exitprof::render
