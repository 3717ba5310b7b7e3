#include "guest/exit_service.h"

#include <fmt/format.h>

#include <cstring>

namespace exitprof::guest {
namespace {

uint8_t* IoData(kvm_run& run) { return reinterpret_cast<uint8_t*>(&run) + run.io.data_offset; }
const uint8_t* IoData(const kvm_run& run) { return reinterpret_cast<const uint8_t*>(&run) + run.io.data_offset; }

// Little-endian load of `size` (1..4) bytes; the host is x86, like the guest.
uint32_t Load(const uint8_t* data, size_t size) {
  uint32_t value = 0;
  std::memcpy(&value, data, size);
  return value;
}

void Store(uint8_t* data, size_t size, uint32_t value) { std::memcpy(data, &value, size); }

std::optional<std::string> Mismatch(const std::string& got, const Op* expected) {
  return fmt::format("expected {}, got {}", DescribeExpected(expected), got);
}

}  // namespace

std::string DescribeExpected(const Op* expected) {
  return expected != nullptr ? DescribeOp(*expected) : fmt::format("out {:#x} size 1 value 0x1 (done)", kDonePort);
}

std::string DescribeIoExit(const kvm_run& run) {
  bool out = run.io.direction == KVM_EXIT_IO_OUT;
  std::string text = fmt::format("{} {:#x} size {}", out ? "out" : "in", run.io.port, run.io.size);
  if (out && run.io.size <= 4) text += fmt::format(" value {:#x}", Load(IoData(run), run.io.size));
  if (run.io.count != 1) text += fmt::format(" count {}", run.io.count);
  return text;
}

std::string DescribeMmioExit(const kvm_run& run) {
  std::string text = fmt::format("mmio {} {:#x} size {}", run.mmio.is_write ? "write" : "read",
                                 run.mmio.phys_addr, run.mmio.len);
  if (run.mmio.is_write && run.mmio.len <= 4) text += fmt::format(" value {:#x}", Load(run.mmio.data, run.mmio.len));
  return text;
}

std::optional<std::string> ServiceIo(kvm_run& run, const Op* expected) {
  bool out = run.io.direction == KVM_EXIT_IO_OUT;
  if (run.io.count != 1 || run.io.size > 4) return Mismatch(DescribeIoExit(run), expected);
  if (expected == nullptr) {
    bool done = out && run.io.port == kDonePort && run.io.size == 1 && Load(IoData(run), 1) == 1;
    return done ? std::nullopt : Mismatch(DescribeIoExit(run), expected);
  }
  OpKind kind = out ? OpKind::kPortOut : OpKind::kPortIn;
  if (expected->kind != kind || expected->port != run.io.port || expected->size != run.io.size ||
      (out && Load(IoData(run), run.io.size) != expected->value)) {
    return Mismatch(DescribeIoExit(run), expected);
  }
  if (!out) Store(IoData(run), run.io.size, expected->value);
  return std::nullopt;
}

std::optional<std::string> ServiceMmio(kvm_run& run, const Op* expected) {
  OpKind kind = run.mmio.is_write ? OpKind::kMmioWrite : OpKind::kMmioRead;
  if (expected == nullptr || run.mmio.len > 4 || expected->kind != kind || expected->gpa != run.mmio.phys_addr ||
      expected->size != run.mmio.len ||
      (run.mmio.is_write && Load(run.mmio.data, run.mmio.len) != expected->value)) {
    return Mismatch(DescribeMmioExit(run), expected);
  }
  if (!run.mmio.is_write) Store(run.mmio.data, run.mmio.len, expected->value);
  return std::nullopt;
}

}  // namespace exitprof::guest
