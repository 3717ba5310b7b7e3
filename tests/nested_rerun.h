// Nested SVM (the KVM lab of scripts/kvm-lab.sh) now and then stops a vCPU of a tiny guest with
// KVM_EXIT_INTERNAL_ERROR: exitprof-guest then ends with status 1 and names it on stderr, QEMU
// prints "KVM internal error" and pauses (the test's timeout ends it). Such a run says nothing
// about exitprof: it is run again, never counted as a failure.
#pragma once

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "test_support.h"

namespace exitprof::testing {

constexpr int kNestedAttempts = 4;

inline bool NestedInternalError(const std::string& text) {
  return text.find("KVM_EXIT_INTERNAL_ERROR") != std::string::npos ||
         text.find("KVM internal error") != std::string::npos;
}

inline void NoteNestedRerun(const std::string& what) {
  std::printf("[ RERUN    ] a nested KVM internal error stopped the guest: %s\n", what.c_str());
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// RunGuestCommand (test_support.h) runs a command again while its stderr shows such an error.

}  // namespace exitprof::testing
