// Services one KVM_EXIT_IO or KVM_EXIT_MMIO: checks it is exactly the access the script expects
// next (kind, port or gpa, size, written value) and answers reads with the op's value.
#pragma once

#include <linux/kvm.h>

#include <optional>
#include <string>

#include "guest/guest.h"

namespace exitprof::guest {

// `expected` is the next op, or nullptr when the guest should now write the done port.
// Returns "expected X, got Y" on a mismatch, or nullopt when the exit was the expected one.
std::optional<std::string> ServiceIo(kvm_run& run, const Op* expected);
std::optional<std::string> ServiceMmio(kvm_run& run, const Op* expected);

// "out 0x3f8 size 1 value 0x41" for the op, or "out 0x501 size 1 value 0x1 (done)" for nullptr.
std::string DescribeExpected(const Op* expected);

// "out 0x3f8 size 1 value 0x41" for the access the exit reports.
std::string DescribeIoExit(const kvm_run& run);
std::string DescribeMmioExit(const kvm_run& run);

}  // namespace exitprof::guest
