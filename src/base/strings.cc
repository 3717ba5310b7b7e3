#include <cstdio>
#include <string>

#include "base/byte_reader.h"

namespace exitprof {

std::string HexOffset(uint64_t offset) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(offset));
  return buf;
}

}  // namespace exitprof
