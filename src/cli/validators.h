// Checks for numeric options, with messages a user can act on: "--top: expected a number of 0
// or more, got -1". CLI11's own ranges print DBL_MAX as their upper bound.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <limits>
#include <string>

namespace exitprof::cli {

// A number in [low, high]; `what` says the range in words ("above 0", "of 0 or more").
inline CLI::Validator NumberIn(double low, double high, bool low_open, const std::string& what) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        char* end = nullptr;
        double v = std::strtod(text.c_str(), &end);
        bool ok = !text.empty() && end && *end == '\0' && v <= high && (low_open ? v > low : v >= low);
        return ok ? std::string() : "expected a number " + what + ", got " + text;
      },
      "NUMBER", "NumberIn");
}

inline CLI::Validator Positive() { return NumberIn(0, std::numeric_limits<double>::max(), true, "above 0"); }
inline CLI::Validator NonNegative() { return NumberIn(0, std::numeric_limits<double>::max(), false, "of 0 or more"); }
inline CLI::Validator Between(double low, double high) {
  return NumberIn(low, high, false, "from " + CLI::detail::to_string(low) + " to " + CLI::detail::to_string(high));
}

}  // namespace exitprof::cli
