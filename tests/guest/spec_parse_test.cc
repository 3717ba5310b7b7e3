#include "guest/spec_parse.h"

#include <gtest/gtest.h>

namespace exitprof::guest {
namespace {

template <typename T>
std::string ErrorOf(const Result<T>& result) {
  return result ? std::string() : result.error().message;
}

TEST(SpecParseTest, NumbersAreStrict) {
  EXPECT_EQ(*ParseNumber("1000"), 1000u);
  EXPECT_EQ(*ParseNumber("0x3F8"), 0x3f8u);
  EXPECT_EQ(*ParseNumber("18446744073709551615"), UINT64_MAX);
  for (const char* bad : {"", "0x", " 1", "1 ", "+1", "-1", "1k", "0x1g", "18446744073709551616", "010x"}) {
    EXPECT_NE(ErrorOf(ParseNumber(bad)), "") << "'" << bad << "'";
  }
}

TEST(SpecParseTest, PioSpec) {
  Op out = *ParsePioSpec("0x3f8:1:w");
  EXPECT_EQ(out.kind, OpKind::kPortOut);
  EXPECT_EQ(out.port, 0x3f8);
  EXPECT_EQ(out.size, 1);
  EXPECT_EQ(out.value, 0x5au);
  Op in = *ParsePioSpec("113:4:r:0xcafef00d");
  EXPECT_EQ(in.kind, OpKind::kPortIn);
  EXPECT_EQ(in.port, 113);
  EXPECT_EQ(in.size, 4);
  EXPECT_EQ(in.value, 0xcafef00du);
  EXPECT_EQ(ParsePioSpec("0x70:2:w")->value, 0x5a5au);
}

TEST(SpecParseTest, BadPioSpecsSayWhatWasExpected) {
  EXPECT_EQ(ErrorOf(ParsePioSpec("0x3f8:3:w")), "expected PORT:SIZE:r|w[:VALUE], got '0x3f8:3:w': SIZE must be 1, 2 or 4");
  EXPECT_EQ(ErrorOf(ParsePioSpec("0x10000:1:w")),
            "expected PORT:SIZE:r|w[:VALUE], got '0x10000:1:w': PORT must be at most 0xffff");
  EXPECT_EQ(ErrorOf(ParsePioSpec("0x3f8:1:x")),
            "expected PORT:SIZE:r|w[:VALUE], got '0x3f8:1:x': direction must be 'r' or 'w'");
  EXPECT_EQ(ErrorOf(ParsePioSpec("0x3f8:1:w:0x100")),
            "expected PORT:SIZE:r|w[:VALUE], got '0x3f8:1:w:0x100': VALUE must be a number from 0 to 0xff");
  EXPECT_NE(ErrorOf(ParsePioSpec("0x3f8:1")), "");
  EXPECT_NE(ErrorOf(ParsePioSpec("0x3f8:1:w:1:2")), "");
  EXPECT_NE(ErrorOf(ParsePioSpec("port:1:w")), "");
}

TEST(SpecParseTest, MmioSpec) {
  Op write = *ParseMmioSpec("0xd0000:4:w:7");
  EXPECT_EQ(write.kind, OpKind::kMmioWrite);
  EXPECT_EQ(write.gpa, 0xd0000u);
  EXPECT_EQ(write.value, 7u);
  EXPECT_EQ(ParseMmioSpec("0xd0004:2:r")->kind, OpKind::kMmioRead);
  EXPECT_EQ(ErrorOf(ParseMmioSpec("0xd0000:8:r")), "expected GPA:SIZE:r|w[:VALUE], got '0xd0000:8:r': SIZE must be 1, 2 or 4");
}

TEST(ValidateProgramTest, RulesNameTheOp) {
  auto error_of = [](std::vector<Op> ops, uint64_t iterations = 1) {
    return ErrorOf(ValidateProgram(GuestProgram{.ops = std::move(ops), .iterations = iterations}));
  };
  EXPECT_EQ(error_of({Op::PortOut(0x3f8, 1, 0), Op::MmioWrite(0xd0000, 4, 0)}), "");
  EXPECT_EQ(error_of({}), "guest program has no operations; expected at least one");
  EXPECT_EQ(error_of({Op::PortOut(0x501, 1, 1)}), "op 0 (out 0x501 size 1 value 0x1): port 0x501 is reserved for the done signal");
  EXPECT_EQ(error_of({Op::Hlt(), Op::MmioRead(0x1000, 4, 0)}),
            "op 1 (mmio read 0x1000 size 4): gpa 0x1000 is outside the MMIO window [0x10000, 0x100000)");
  EXPECT_EQ(error_of({Op::MmioRead(0xffffffffffffffff, 4, 0)}),
            "op 0 (mmio read 0xffffffffffffffff size 4): gpa 0xffffffffffffffff is outside the MMIO window [0x10000, 0x100000)");
  EXPECT_EQ(error_of({Op::MmioRead(0xffffe, 4, 0)}),
            "op 0 (mmio read 0xffffe size 4): gpa 0xffffe is outside the MMIO window [0x10000, 0x100000)");
  EXPECT_EQ(error_of({Op::MmioWrite(0xd0002, 4, 0)}), "op 0 (mmio write 0xd0002 size 4 value 0x0): gpa 0xd0002 is not aligned to size 4");
  EXPECT_EQ(error_of({Op::PortOut(0x80, 3, 0)}), "op 0 (out 0x80 size 3 value 0x0): size 3 is not 1, 2 or 4");
  EXPECT_EQ(error_of({Op::PortOut(0x80, 2, 0x10000)}),
            "op 0 (out 0x80 size 2 value 0x10000): value 0x10000 does not fit in 2 byte(s)");
  EXPECT_EQ(error_of({Op::Hlt()}, 1ULL << 32), "iterations 4294967296 exceed the 32-bit guest counter (max 4294967295)");
  EXPECT_EQ(error_of(std::vector<Op>(kMaxOps + 1, Op::Hlt())), "guest program has 1025 operations; expected at most 1024");
}

}  // namespace
}  // namespace exitprof::guest
