#include "recording/session_info.h"

namespace exitprof::recording {

int SessionInfo::FindAttrByName(const std::string& name) const {
  for (size_t i = 0; i < attrs.size(); ++i) {
    if (attrs[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace exitprof::recording
