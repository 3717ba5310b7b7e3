// Program rules (ValidateProgram), the demo mix and op descriptions.
#include <fmt/format.h>

#include <optional>

#include "guest/guest.h"

namespace exitprof::guest {
namespace {

bool IsMmio(OpKind kind) { return kind == OpKind::kMmioWrite || kind == OpKind::kMmioRead; }

// The rule `op` breaks, if any.
std::optional<std::string> CheckOp(const Op& op) {
  if (op.kind == OpKind::kHlt) return std::nullopt;
  if (op.size != 1 && op.size != 2 && op.size != 4) {
    return fmt::format("size {} is not 1, 2 or 4", op.size);
  }
  if (op.size < 4 && (op.value >> (8 * op.size)) != 0) {
    return fmt::format("value {:#x} does not fit in {} byte(s)", op.value, op.size);
  }
  if (!IsMmio(op.kind)) {
    if (op.port == kDonePort) return fmt::format("port {:#x} is reserved for the done signal", kDonePort);
    return std::nullopt;
  }
  if (op.gpa < kRamSize || op.gpa > kMmioLimit - op.size) {
    return fmt::format("gpa {:#x} is outside the MMIO window [{:#x}, {:#x})", op.gpa, kRamSize, kMmioLimit);
  }
  if (op.gpa % op.size != 0) return fmt::format("gpa {:#x} is not aligned to size {}", op.gpa, op.size);
  return std::nullopt;
}

}  // namespace

Result<void> ValidateOp(const Op& op) {
  if (auto problem = CheckOp(op)) return Fail(*problem);
  return {};
}

Result<void> ValidateProgram(const GuestProgram& program) {
  if (program.ops.empty()) return Fail("guest program has no operations; expected at least one");
  if (program.ops.size() > kMaxOps) {
    return Fail(fmt::format("guest program has {} operations; expected at most {}", program.ops.size(), kMaxOps));
  }
  if (program.iterations > UINT32_MAX) {
    return Fail(fmt::format("iterations {} exceed the 32-bit guest counter (max {})", program.iterations, UINT32_MAX));
  }
  for (size_t i = 0; i < program.ops.size(); ++i) {
    if (auto problem = CheckOp(program.ops[i])) {
      return Fail(fmt::format("op {} ({}): {}", i, DescribeOp(program.ops[i]), *problem));
    }
  }
  return {};
}

GuestProgram DemoProgram(uint64_t iterations) {
  return GuestProgram{
      .ops = {Op::PortOut(0x3f8, 1, 'e'), Op::PortOut(0x3f8, 1, 'x'), Op::PortOut(0x70, 1, 0x0a),
              Op::PortIn(0x71, 1, 0x26), Op::MmioWrite(0xd0000, 4, 0x12345678),
              Op::MmioRead(0xd0004, 4, 0xcafef00d), Op::Hlt()},
      .iterations = iterations,
  };
}

std::string DescribeOp(const Op& op) {
  switch (op.kind) {
    case OpKind::kPortOut: return fmt::format("out {:#x} size {} value {:#x}", op.port, op.size, op.value);
    case OpKind::kPortIn: return fmt::format("in {:#x} size {}", op.port, op.size);
    case OpKind::kMmioWrite: return fmt::format("mmio write {:#x} size {} value {:#x}", op.gpa, op.size, op.value);
    case OpKind::kMmioRead: return fmt::format("mmio read {:#x} size {}", op.gpa, op.size);
    case OpKind::kHlt: return "hlt";
  }
  return "?";
}

}  // namespace exitprof::guest
