#include "kvm/print_symbolic.h"

#include <cctype>
#include <charconv>

namespace exitprof::kvm {

namespace {

bool Space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && Space(s.front())) s.remove_prefix(1);
  while (!s.empty() && Space(s.back())) s.remove_suffix(1);
  return s;
}

bool Unsigned(std::string_view s, uint64_t& v) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2), base = 16;
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v, base);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// "12", "0x40", "0x040 + 1", "-1".
bool Number(std::string_view s, uint64_t& v, int depth = 0) {
  s = Trim(s);
  if (size_t plus = s.find('+'); plus != std::string_view::npos && depth < 4) {
    uint64_t a = 0, b = 0;
    if (!Number(s.substr(0, plus), a, depth + 1) || !Number(s.substr(plus + 1), b, depth + 1)) return false;
    v = a + b;
    return true;
  }
  if (!s.empty() && s[0] == '-') {  // { -1, "invalid_guest_state" }: an unsigned int field's -1
    uint64_t m = 0;
    if (!Unsigned(Trim(s.substr(1)), m)) return false;
    v = static_cast<uint32_t>(-static_cast<int64_t>(m));
    return true;
  }
  return Unsigned(s, v);
}

// The end of a double-quoted string starting at `open` (the index of its closing quote), or npos.
size_t StringEnd(std::string_view s, size_t open) {
  for (size_t i = open + 1; i < s.size(); ++i) {
    if (s[i] == '\\') ++i;
    else if (s[i] == '"') return i;
  }
  return std::string_view::npos;
}

// One `{ value, "A" "B" }` body (without braces); false when it is not one.
bool Entry(std::string_view body, std::pair<uint64_t, std::string>& out) {
  size_t comma = body.find(',');
  if (comma == std::string_view::npos || !Number(body.substr(0, comma), out.first)) return false;
  out.second.clear();
  for (size_t q = body.find('"', comma); q != std::string_view::npos; q = body.find('"', q + 1)) {
    size_t end = StringEnd(body, q);
    if (end == std::string_view::npos) return false;
    out.second.append(body.substr(q + 1, end - q - 1));
    q = end;
  }
  return !out.second.empty();
}

}  // namespace

std::vector<SymbolicTable> ParsePrintSymbolic(std::string_view fmt) {
  static constexpr std::string_view kCall = "__print_symbolic(";
  std::vector<SymbolicTable> out;
  size_t at = 0;
  while ((at = fmt.find(kCall, at)) != std::string_view::npos) {
    at += kCall.size();
    SymbolicTable table;
    // The first argument: REC->FIELD, perhaps with a mask.
    size_t comma = fmt.find(',', at);
    if (comma == std::string_view::npos) break;
    std::string_view arg = fmt.substr(at, comma - at);
    if (size_t rec = arg.find("REC->"); rec != std::string_view::npos) {
      size_t i = rec + 5, j = i;
      while (j < arg.size() && (std::isalnum(static_cast<unsigned char>(arg[j])) || arg[j] == '_')) ++j;
      table.field = std::string(arg.substr(i, j - i));
    }
    // Then `, { ... }` until anything else (the closing parenthesis).
    size_t pos = comma;
    while (pos < fmt.size()) {
      size_t open = pos + 1;
      while (open < fmt.size() && Space(fmt[open])) ++open;
      if (fmt[pos] != ',' || open >= fmt.size() || fmt[open] != '{') break;
      size_t close = open + 1;
      while (close < fmt.size() && fmt[close] != '}') {
        if (fmt[close] == '"') close = StringEnd(fmt, close);
        if (close == std::string_view::npos) break;
        ++close;
      }
      if (close >= fmt.size()) break;
      std::pair<uint64_t, std::string> entry;
      if (Entry(fmt.substr(open + 1, close - open - 1), entry)) table.entries.push_back(std::move(entry));
      pos = close + 1;
      while (pos < fmt.size() && Space(fmt[pos])) ++pos;
    }
    at = pos < fmt.size() ? pos : fmt.size();
    out.push_back(std::move(table));
  }
  return out;
}

}  // namespace exitprof::kvm
