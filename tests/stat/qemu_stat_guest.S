# qemu-stat-guest: a 32-bit multiboot (v1) kernel for `exitprof stat` against QEMU. It does
# MMIOR dword reads from MMIO_ADDR (no RAM and no device there, so each one exits to QEMU), then
# halts forever with interrupts off: its vCPU's counters stop moving, so what exitprof stat shows
# can be compared exactly with what QMP query-stats says a moment later.

.ifndef MMIOR
.set MMIOR, 400
.endif
.ifndef MMIO_ADDR
.set MMIO_ADDR, 0xd0000000
.endif

.set MB_MAGIC, 0x1badb002
.set MB_FLAGS, 0
.set MB_CHECKSUM, -(MB_MAGIC + MB_FLAGS)

    .text
    .code32
    .balign 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long MB_CHECKSUM

    .globl _start
_start:
    cli
    mov $MMIO_ADDR, %ebx
    mov $MMIOR, %ecx
1:  movl (%ebx), %eax
    dec %ecx
    jnz 1b
2:  hlt
    jmp 2b

    .section .note.GNU-stack, "", @progbits
