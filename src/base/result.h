// Errors as values: every fallible call returns Result<T>. No exceptions cross module boundaries.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace exitprof {

// What failed, in one line a user can act on: "FILE: offset 0x40: expected X, found Y".
struct Error {
  std::string message;
  int exit_code = 2;  // 2 = bad input or usage, 1 = runtime failure
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> Fail(std::string message, int exit_code = 2) {
  return tl::unexpected<Error>(Error{std::move(message), exit_code});
}

}  // namespace exitprof
