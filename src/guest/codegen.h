// Turns a GuestProgram into 16-bit real-mode x86 machine code. The layout is:
//   [mov ax, seg; mov es, ax]          once, when every MMIO op shares one 64 KiB segment
//   mov ecx, iterations                (loop omitted entirely when iterations == 0)
// top:
//   <ops>                              each op exits to user space exactly once
//   dec ecx; jnz top                   32-bit counter, so up to 2^32-1 iterations
//   mov dx, 0x501; mov al, 1; out dx, al
//   hlt; jmp back to the hlt           never reached: the VMM stops at the done port
#pragma once

#include <cstdint>
#include <vector>

#include "guest/guest.h"

namespace exitprof::guest {

// Guest-physical address where the code is loaded and where CS:IP (0000:1000) starts.
inline constexpr uint64_t kCodeGpa = 0x1000;

// Precondition: ValidateProgram(program) succeeded.
std::vector<uint8_t> GenerateCode(const GuestProgram& program);

}  // namespace exitprof::guest
