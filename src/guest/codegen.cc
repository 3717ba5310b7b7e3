#include "guest/codegen.h"

#include <optional>

namespace exitprof::guest {
namespace {

// Real-mode segment whose 64 KiB window holds gpa (base = gpa & 0xf0000).
uint16_t SegmentOf(uint64_t gpa) { return static_cast<uint16_t>((gpa >> 4) & 0xf000); }

class Emitter {
 public:
  void Byte(uint8_t b) { code_.push_back(b); }
  void Bytes(std::initializer_list<uint8_t> bytes) { code_.insert(code_.end(), bytes); }
  void Imm16(uint16_t v) { Bytes({static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)}); }
  void Imm32(uint32_t v) {
    Imm16(static_cast<uint16_t>(v));
    Imm16(static_cast<uint16_t>(v >> 16));
  }
  size_t Offset() const { return code_.size(); }
  std::vector<uint8_t> Take() { return std::move(code_); }

  // mov al/ax/eax, value
  void LoadAccumulator(uint8_t size, uint32_t value) {
    if (size == 1) {
      Byte(0xb0);
      Byte(static_cast<uint8_t>(value));
    } else if (size == 2) {
      Byte(0xb8);
      Imm16(static_cast<uint16_t>(value));
    } else {
      Bytes({0x66, 0xb8});
      Imm32(value);
    }
  }

  // mov ax, segment; mov es, ax
  void LoadEs(uint16_t segment) {
    Byte(0xb8);
    Imm16(segment);
    Bytes({0x8e, 0xc0});
  }

  // The accumulator forms: byte opcode, or word/dword opcode (+0x66 prefix for dword).
  void SizedOpcode(uint8_t size, uint8_t byte_opcode) {
    if (size == 4) Byte(0x66);
    Byte(size == 1 ? byte_opcode : static_cast<uint8_t>(byte_opcode + 1));
  }

 private:
  std::vector<uint8_t> code_;
};

// The ES value every MMIO op can share, if there is one (or if there are no MMIO ops).
std::optional<uint16_t> SharedSegment(const std::vector<Op>& ops) {
  std::optional<uint16_t> shared;
  for (const Op& op : ops) {
    if (op.kind != OpKind::kMmioWrite && op.kind != OpKind::kMmioRead) continue;
    uint16_t segment = SegmentOf(op.gpa);
    if (shared && *shared != segment) return std::nullopt;
    shared = segment;
  }
  return shared.value_or(0);
}

void EmitOp(Emitter& e, const Op& op, bool load_es) {
  switch (op.kind) {
    case OpKind::kPortOut:
      e.Byte(0xba);  // mov dx, port
      e.Imm16(op.port);
      e.LoadAccumulator(op.size, op.value);
      e.SizedOpcode(op.size, 0xee);  // out dx, al/ax/eax
      break;
    case OpKind::kPortIn:
      e.Byte(0xba);
      e.Imm16(op.port);
      e.SizedOpcode(op.size, 0xec);  // in al/ax/eax, dx
      break;
    case OpKind::kMmioWrite:
      if (load_es) e.LoadEs(SegmentOf(op.gpa));
      e.LoadAccumulator(op.size, op.value);
      e.Byte(0x26);                  // es:
      e.SizedOpcode(op.size, 0xa2);  // mov [moffs16], al/ax/eax
      e.Imm16(static_cast<uint16_t>(op.gpa));
      break;
    case OpKind::kMmioRead:
      if (load_es) e.LoadEs(SegmentOf(op.gpa));
      e.Byte(0x26);
      e.SizedOpcode(op.size, 0xa0);  // mov al/ax/eax, [moffs16]
      e.Imm16(static_cast<uint16_t>(op.gpa));
      break;
    case OpKind::kHlt:
      e.Byte(0xf4);
      break;
  }
}

}  // namespace

std::vector<uint8_t> GenerateCode(const GuestProgram& program) {
  Emitter e;
  std::optional<uint16_t> shared_es = SharedSegment(program.ops);
  if (shared_es && *shared_es != 0) e.LoadEs(*shared_es);

  if (program.iterations > 0) {
    e.Bytes({0x66, 0xb9});  // mov ecx, iterations
    e.Imm32(static_cast<uint32_t>(program.iterations));
    size_t top = e.Offset();
    for (const Op& op : program.ops) EmitOp(e, op, !shared_es.has_value());
    e.Bytes({0x66, 0x49});  // dec ecx
    e.Bytes({0x0f, 0x85});  // jnz rel16 (relative to the end of this instruction)
    e.Imm16(static_cast<uint16_t>(top - (e.Offset() + 2)));
  }

  e.Byte(0xba);  // mov dx, kDonePort; mov al, 1; out dx, al
  e.Imm16(kDonePort);
  e.Bytes({0xb0, 0x01, 0xee});
  e.Bytes({0xf4, 0xeb, 0xfd});  // hlt; jmp back to the hlt
  return e.Take();
}

}  // namespace exitprof::guest
