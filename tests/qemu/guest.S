# qemu-guest: a tiny 32-bit multiboot (v1) kernel whose exits are known exactly.
#
# QEMU loads it with -kernel (its multiboot loader reads the ELF program headers) and enters
# _start in 32-bit protected mode, paging off. It then does, in this order:
#   WRITES  byte writes  (outb) to port WPORT
#   READS   word reads   (inw)  from port RPORT
#   MMIOW   dword writes (movl) to guest-physical MMIO_ADDR
#   MMIOR   dword reads  (movl) from guest-physical MMIO_ADDR
# and finally one byte write of 0 to port 0xf4, where -device isa-debug-exit,iobase=0xf4
# makes QEMU exit with status (0 << 1) | 1 = 1.
#
# Every value can be overridden at assembly time (as --defsym NAME=VALUE); the test is given
# the same numbers by CMake, so the two cannot drift apart.

.ifndef WRITES
.set WRITES, 1000
.endif
.ifndef READS
.set READS, 700
.endif
.ifndef MMIOW
.set MMIOW, 500
.endif
.ifndef MMIOR
.set MMIOR, 300
.endif
.ifndef WPORT
.set WPORT, 0x3f8
.endif
.ifndef RPORT
.set RPORT, 0x3fa
.endif
.ifndef MMIO_ADDR
.set MMIO_ADDR, 0xd0000000
.endif
.set EXIT_PORT, 0xf4

.set MB_MAGIC, 0x1badb002
.set MB_FLAGS, 0
.set MB_CHECKSUM, -(MB_MAGIC + MB_FLAGS)

    # The header opens .text, so it lies within the file's first 8 KiB as multiboot wants.
    .text
    .code32
    .balign 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long MB_CHECKSUM

    .globl _start
_start:
    cli

    # WRITES x outb to WPORT
    mov $WPORT, %dx
    mov $0x5a, %al
    mov $WRITES, %ecx
1:  outb %al, %dx
    dec %ecx
    jnz 1b

    # READS x inw from RPORT
    mov $RPORT, %dx
    mov $READS, %ecx
2:  inw %dx, %ax
    dec %ecx
    jnz 2b

    # MMIOW x movl to MMIO_ADDR
    mov $MMIO_ADDR, %ebx
    mov $0x12345678, %eax
    mov $MMIOW, %ecx
3:  movl %eax, (%ebx)
    dec %ecx
    jnz 3b

    # MMIOR x movl from MMIO_ADDR
    mov $MMIOR, %ecx
4:  movl (%ebx), %eax
    dec %ecx
    jnz 4b

    # Tell QEMU to exit (isa-debug-exit); should it not, stop here.
    xor %eax, %eax
    outb %al, $EXIT_PORT
5:  hlt
    jmp 5b

    .section .note.GNU-stack, "", @progbits
