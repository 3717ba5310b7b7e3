// tracefs: where it is (mounting it when missing, as root may), which events exist, their ids
// and format files, and the header files a recording embeds in its TRACING_DATA.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace exitprof::capture {

class Tracefs {
 public:
  // Finds tracefs (/sys/kernel/tracing, /sys/kernel/debug/tracing), mounting it if needed.
  static Result<Tracefs> Open();
  explicit Tracefs(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  bool HasEvent(const std::string& system, const std::string& name) const;
  Result<int> EventId(const std::string& system, const std::string& name) const;
  Result<std::string> EventFormat(const std::string& system, const std::string& name) const;
  Result<std::string> ReadFile(const std::string& relative) const;
  // "system:name" for every event of a system (or of all systems when empty).
  std::vector<std::string> ListEvents(const std::string& system = "") const;
  // The known events closest to a misspelt one, for "did you mean" hints.
  std::vector<std::string> ClosestEvents(const std::string& wanted, size_t n = 3) const;

 private:
  std::string root_;
};

}  // namespace exitprof::capture
