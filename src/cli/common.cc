
#include <charconv>
#include <cstdio>
#include <optional>

#include "cli/commands.h"

namespace exitprof::cli {

int ReportError(const Error& error) {
  std::fprintf(stderr, "exitprof: %s\n", error.message.c_str());
  return error.exit_code;
}

void PrintWarnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) std::fprintf(stderr, "exitprof: warning: %s\n", w.c_str());
}

std::string FirstGiven(const CLI::App& cmd, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (cmd.count(name) > 0) return name;
  }
  return "";
}

int Conflict(const std::string& a, const std::string& b, const std::string& why) {
  return ReportError(Error{a + " cannot be used with " + b + ": " + why});
}

namespace {
Result<std::optional<uint64_t>> ParseSeconds(std::string_view s, const std::string& whole) {
  if (s.empty()) return std::optional<uint64_t>{};
  auto dot = s.find('.');
  std::string_view secs = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  uint64_t sec = 0, nsec = 0;
  auto bad = [&] {
    return Fail("--time \"" + whole + "\": expected START,STOP in seconds (e.g. 45000.12,45000.5; either may be empty)");
  };
  if (secs.empty() && frac.empty()) return bad();
  if (!secs.empty()) {
    auto r = std::from_chars(secs.data(), secs.data() + secs.size(), sec);
    if (r.ec != std::errc() || r.ptr != secs.data() + secs.size() || sec > 18000000000ULL) return bad();
  }
  if (frac.size() > 9) return bad();
  for (size_t i = 0; i < 9; ++i) {
    char c = i < frac.size() ? frac[i] : '0';
    if (c < '0' || c > '9') return bad();
    nsec = nsec * 10 + static_cast<uint64_t>(c - '0');
  }
  return std::optional<uint64_t>(sec * 1000000000ULL + nsec);
}
}  // namespace

Result<std::pair<std::optional<uint64_t>, std::optional<uint64_t>>> ParseTimeRange(const std::string& text) {
  auto comma = text.find(',');
  if (comma == std::string::npos) {
    return Fail("--time \"" + text + "\": expected START,STOP in seconds (either may be empty)");
  }
  auto a = ParseSeconds(std::string_view(text).substr(0, comma), text);
  if (!a) return tl::unexpected(a.error());
  auto b = ParseSeconds(std::string_view(text).substr(comma + 1), text);
  if (!b) return tl::unexpected(b.error());
  if (*a && *b && **a > **b) return Fail("--time \"" + text + "\": START is after STOP");
  return std::make_pair(*a, *b);
}

}  // namespace exitprof::cli
