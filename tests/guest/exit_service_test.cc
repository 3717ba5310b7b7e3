// ServiceIo / ServiceMmio on a hand-filled kvm_run, as KVM would fill it.
#include "guest/exit_service.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace exitprof::guest {
namespace {

// A kvm_run with room for the PIO data page that KVM places after it.
class FakeRun {
 public:
  FakeRun() : storage_(sizeof(kvm_run) + 64) {}
  kvm_run& Run() { return *reinterpret_cast<kvm_run*>(storage_.data()); }
  uint8_t* IoData() { return storage_.data() + sizeof(kvm_run); }

  kvm_run& Io(uint8_t direction, uint16_t port, uint8_t size, uint32_t value) {
    kvm_run& run = Run();
    run.exit_reason = KVM_EXIT_IO;
    run.io.direction = direction;
    run.io.port = port;
    run.io.size = size;
    run.io.count = 1;
    run.io.data_offset = sizeof(kvm_run);
    std::memcpy(IoData(), &value, 4);
    return run;
  }

 private:
  std::vector<uint8_t> storage_;  // vector<uint8_t> storage is suitably aligned for kvm_run
};

TEST(ExitServiceTest, PortInIsAnsweredWithTheOpValue) {
  FakeRun fake;
  Op op = Op::PortIn(0x71, 2, 0xbeef);
  EXPECT_EQ(ServiceIo(fake.Io(KVM_EXIT_IO_IN, 0x71, 2, 0), &op), std::nullopt);
  uint32_t answered = 0;
  std::memcpy(&answered, fake.IoData(), 4);
  EXPECT_EQ(answered, 0xbeefu);
}

TEST(ExitServiceTest, PortOutMustMatchPortSizeAndValue) {
  FakeRun fake;
  Op op = Op::PortOut(0x3f8, 1, 'A');
  EXPECT_EQ(ServiceIo(fake.Io(KVM_EXIT_IO_OUT, 0x3f8, 1, 'A'), &op), std::nullopt);
  EXPECT_EQ(ServiceIo(fake.Io(KVM_EXIT_IO_OUT, 0x3f8, 1, 'B'), &op),
            "expected out 0x3f8 size 1 value 0x41, got out 0x3f8 size 1 value 0x42");
  EXPECT_EQ(ServiceIo(fake.Io(KVM_EXIT_IO_IN, 0x3f8, 1, 0), &op), "expected out 0x3f8 size 1 value 0x41, got in 0x3f8 size 1");
  EXPECT_EQ(ServiceIo(fake.Io(KVM_EXIT_IO_OUT, 0x80, 1, 'A'), &op),
            "expected out 0x3f8 size 1 value 0x41, got out 0x80 size 1 value 0x41");
}

TEST(ExitServiceTest, DonePortIsExpectedOnlyAfterTheLastIteration) {
  FakeRun fake;
  EXPECT_EQ(ServiceIo(fake.Io(KVM_EXIT_IO_OUT, kDonePort, 1, 1), nullptr), std::nullopt);
  EXPECT_EQ(ServiceIo(fake.Io(KVM_EXIT_IO_OUT, 0x3f8, 1, 1), nullptr),
            "expected out 0x501 size 1 value 0x1 (done), got out 0x3f8 size 1 value 0x1");
  Op op = Op::PortOut(0x3f8, 1, 1);
  EXPECT_NE(ServiceIo(fake.Io(KVM_EXIT_IO_OUT, kDonePort, 1, 1), &op), std::nullopt);
}

TEST(ExitServiceTest, MmioReadIsAnsweredAndWriteChecked) {
  FakeRun fake;
  kvm_run& run = fake.Run();
  run.exit_reason = KVM_EXIT_MMIO;
  run.mmio.phys_addr = 0xd0004;
  run.mmio.len = 4;
  run.mmio.is_write = 0;
  Op read = Op::MmioRead(0xd0004, 4, 0xcafef00d);
  EXPECT_EQ(ServiceMmio(run, &read), std::nullopt);
  uint32_t answered = 0;
  std::memcpy(&answered, run.mmio.data, 4);
  EXPECT_EQ(answered, 0xcafef00du);

  run.mmio.is_write = 1;
  Op write = Op::MmioWrite(0xd0004, 4, 0x12345678);
  EXPECT_EQ(ServiceMmio(run, &write),
            "expected mmio write 0xd0004 size 4 value 0x12345678, got mmio write 0xd0004 size 4 value 0xcafef00d");
  EXPECT_NE(ServiceMmio(run, nullptr), std::nullopt);
}

}  // namespace
}  // namespace exitprof::guest
