#include "guest/spec_parse.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

namespace exitprof::guest {
namespace {

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// The fields of "ADDRESS:SIZE:r|w[:VALUE]" shared by port and MMIO specs.
struct AccessSpec {
  uint64_t address;
  uint8_t size;
  Direction direction;
  uint32_t value;
};

Result<AccessSpec> ParseAccess(std::string_view text, std::string_view address_name) {
  auto fail = [&](std::string_view why) {
    return Fail(fmt::format("expected {}:SIZE:r|w[:VALUE], got '{}': {}", address_name, text, why));
  };
  std::vector<std::string_view> parts = Split(text, ':');
  if (parts.size() != 3 && parts.size() != 4) return fail("wrong number of ':'-separated fields");
  auto address = ParseNumber(parts[0]);
  if (!address) return fail(fmt::format("{}: {}", address_name, address.error().message));
  auto size = ParseNumber(parts[1]);
  if (!size || (*size != 1 && *size != 2 && *size != 4)) {
    return fail("SIZE must be 1, 2 or 4");
  }
  if (parts[2] != "r" && parts[2] != "w") return fail("direction must be 'r' or 'w'");
  AccessSpec spec{*address, static_cast<uint8_t>(*size),
                  parts[2] == "w" ? Direction::kWrite : Direction::kRead, 0};
  uint64_t limit = spec.size == 4 ? UINT32_MAX : (uint64_t{1} << (8 * spec.size)) - 1;
  spec.value = static_cast<uint32_t>(kDefaultValue & limit);
  if (parts.size() == 4) {
    auto value = ParseNumber(parts[3]);
    if (!value || *value > limit) {
      return fail(fmt::format("VALUE must be a number from 0 to {:#x}", limit));
    }
    spec.value = static_cast<uint32_t>(*value);
  }
  return spec;
}

}  // namespace

Result<uint64_t> ParseNumber(std::string_view text) {
  bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  std::string_view digits = hex ? text.substr(2) : text;
  auto is_digit = [hex](char c) {
    return (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
  };
  // strtoull alone would accept leading spaces, a sign and trailing junk; check every character.
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) {
    return Fail(fmt::format("'{}' is not a decimal or 0x-prefixed hex number", text));
  }
  std::string copy(digits);
  errno = 0;
  char* end = nullptr;
  unsigned long long value = std::strtoull(copy.c_str(), &end, hex ? 16 : 10);
  if (errno == ERANGE || end != copy.c_str() + copy.size()) {
    return Fail(fmt::format("'{}' does not fit in 64 bits", text));
  }
  return static_cast<uint64_t>(value);
}

Result<Op> ParsePioSpec(std::string_view text) {
  auto spec = ParseAccess(text, "PORT");
  if (!spec) return tl::unexpected(spec.error());
  const AccessSpec& s = *spec;
  if (s.address > UINT16_MAX) {
    return Fail(fmt::format("expected PORT:SIZE:r|w[:VALUE], got '{}': PORT must be at most 0xffff", text));
  }
  auto port = static_cast<uint16_t>(s.address);
  return s.direction == Direction::kWrite ? Op::PortOut(port, s.size, s.value) : Op::PortIn(port, s.size, s.value);
}

Result<Op> ParseMmioSpec(std::string_view text) {
  auto spec = ParseAccess(text, "GPA");
  if (!spec) return tl::unexpected(spec.error());
  const AccessSpec& s = *spec;
  return s.direction == Direction::kWrite ? Op::MmioWrite(s.address, s.size, s.value)
                                          : Op::MmioRead(s.address, s.size, s.value);
}

}  // namespace exitprof::guest
