// Exact machine code for small programs (cross-checked with `objdump -D -b binary -mi8086 -Maddr16,data16`).
#include "guest/codegen.h"

#include <gtest/gtest.h>

namespace exitprof::guest {
namespace {

using Bytes = std::vector<uint8_t>;

const Bytes kDoneTail = {0xba, 0x01, 0x05, 0xb0, 0x01, 0xee, 0xf4, 0xeb, 0xfd};

Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes all;
  for (const Bytes& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

TEST(CodegenTest, PortOutLoop) {
  GuestProgram program{.ops = {Op::PortOut(0x3f8, 1, 'A')}, .iterations = 3};
  Bytes expected = Concat({
      {0x66, 0xb9, 0x03, 0x00, 0x00, 0x00},  // mov ecx, 3
      {0xba, 0xf8, 0x03, 0xb0, 0x41, 0xee},  // top: mov dx, 0x3f8; mov al, 0x41; out dx, al
      {0x66, 0x49, 0x0f, 0x85, 0xf4, 0xff},  // dec ecx; jnz top (-12)
      kDoneTail,
  });
  EXPECT_EQ(GenerateCode(program), expected);
}

TEST(CodegenTest, AllSizesOfPortAccess) {
  GuestProgram program{.ops = {Op::PortOut(0x70, 2, 0x1234), Op::PortOut(0x70, 4, 0xdeadbeef), Op::PortIn(0x71, 1, 0),
                               Op::PortIn(0x71, 2, 0), Op::PortIn(0x71, 4, 0), Op::Hlt()},
                       .iterations = 0x10000};
  Bytes expected = Concat({
      {0x66, 0xb9, 0x00, 0x00, 0x01, 0x00},                    // mov ecx, 0x10000
      {0xba, 0x70, 0x00, 0xb8, 0x34, 0x12, 0xef},              // mov dx, 0x70; mov ax, 0x1234; out dx, ax
      {0xba, 0x70, 0x00, 0x66, 0xb8, 0xef, 0xbe, 0xad, 0xde},  // mov dx, 0x70; mov eax, 0xdeadbeef
      {0x66, 0xef},                                            // out dx, eax
      {0xba, 0x71, 0x00, 0xec},                                // mov dx, 0x71; in al, dx
      {0xba, 0x71, 0x00, 0xed},                                // in ax, dx
      {0xba, 0x71, 0x00, 0x66, 0xed},                          // in eax, dx
      {0xf4},                                                  // hlt
      {0x66, 0x49, 0x0f, 0x85, 0xda, 0xff},                    // dec ecx; jnz top (-38)
      kDoneTail,
  });
  EXPECT_EQ(GenerateCode(program), expected);
}

TEST(CodegenTest, MmioInOneSegmentLoadsEsOnce) {
  GuestProgram program{.ops = {Op::MmioWrite(0xd0000, 4, 0x12345678), Op::MmioRead(0xd0004, 1, 0)}, .iterations = 1};
  Bytes expected = Concat({
      {0xb8, 0x00, 0xd0, 0x8e, 0xc0},                    // mov ax, 0xd000; mov es, ax
      {0x66, 0xb9, 0x01, 0x00, 0x00, 0x00},              // mov ecx, 1
      {0x66, 0xb8, 0x78, 0x56, 0x34, 0x12},              // mov eax, 0x12345678
      {0x26, 0x66, 0xa3, 0x00, 0x00},                    // mov es:[0x0000], eax
      {0x26, 0xa0, 0x04, 0x00},                          // mov al, es:[0x0004]
      {0x66, 0x49, 0x0f, 0x85, 0xeb, 0xff},              // dec ecx; jnz top (-21)
      kDoneTail,
  });
  EXPECT_EQ(GenerateCode(program), expected);
}

TEST(CodegenTest, MmioInTwoSegmentsLoadsEsPerAccess) {
  GuestProgram program{.ops = {Op::MmioWrite(0x20002, 2, 0xbeef), Op::MmioRead(0xd0010, 2, 0)}, .iterations = 1};
  Bytes expected = Concat({
      {0x66, 0xb9, 0x01, 0x00, 0x00, 0x00},
      {0xb8, 0x00, 0x20, 0x8e, 0xc0, 0xb8, 0xef, 0xbe, 0x26, 0xa3, 0x02, 0x00},  // es=0x2000; mov es:[2], ax
      {0xb8, 0x00, 0xd0, 0x8e, 0xc0, 0x26, 0xa1, 0x10, 0x00},                    // es=0xd000; mov ax, es:[0x10]
      {0x66, 0x49, 0x0f, 0x85, 0xe5, 0xff},                                      // dec ecx; jnz top (-27)
      kDoneTail,
  });
  EXPECT_EQ(GenerateCode(program), expected);
}

TEST(CodegenTest, ZeroIterationsOnlySignalsDone) {
  GuestProgram program{.ops = {Op::PortOut(0x3f8, 1, 'A')}, .iterations = 0};
  EXPECT_EQ(GenerateCode(program), kDoneTail);
}

}  // namespace
}  // namespace exitprof::guest
