# devices-guest: a tiny 32-bit multiboot (v1) kernel that finds two virtio PCI devices,
# programs their BARs itself through the PCI configuration ports, and notifies their queues a
# known number of times, so that exits can be attributed to device, BAR and register exactly.
#
# In this order it:
#   1. scans bus 0 (0xcf8/0xcfc) for the transitional virtio-blk-pci (1af4:1001) and
#      virtio-rng-pci (1af4:1005), function 0;
#   2. gives each one its BARs: BAR0 (legacy I/O) = BLK_IO / RNG_IO, BAR1 (MSI-X, 4 KiB) =
#      BLK_MEM / RNG_MEM, BAR4 (64-bit, the modern virtio regions, 16 KiB) = BLK_MEM+0x4000 /
#      RNG_MEM+0x4000, and turns on I/O and memory decoding in the command register;
#   3. reads BAR0 and BAR4 back (what the device really decodes) and writes queue index 0
#        BLK_LEGACY times (outw) to virtio-blk's legacy QUEUE_NOTIFY (BAR0 + 0x10),
#        RNG_LEGACY times (outw) to virtio-rng's legacy QUEUE_NOTIFY,
#        BLK_MODERN times (movw) to virtio-blk's modern notify region (BAR4 + NOTIFY_OFF),
#        RNG_MODERN times (movw) to virtio-rng's modern notify region;
#   4. reads the HPET capabilities register (0xfed00000) HPET_READS times, selects and reads
#      IOAPIC register 1 (write 0xfec00000, read 0xfec00010) IOAPIC_READS times: regions that
#      info mtree names exactly (hpet is QEMU's, kvm-ioapic the kernel's; both fire kvm_mmio);
#   5. waits about DELAY TSC cycles (no exits: rdtsc does not exit), so that whoever watches
#      the VM over QMP can see the programmed BARs, then writes 0 to port 0xf4, where
#      -device isa-debug-exit,iobase=0xf4 makes QEMU exit with status 1.
# A device that is missing is skipped (its counts are then 0 and the test says so).
# Every number can be overridden with as --defsym NAME=VALUE; CMake passes the test the same.

.ifndef BLK_LEGACY
.set BLK_LEGACY, 1000
.endif
.ifndef RNG_LEGACY
.set RNG_LEGACY, 700
.endif
.ifndef BLK_MODERN
.set BLK_MODERN, 500
.endif
.ifndef RNG_MODERN
.set RNG_MODERN, 300
.endif
.ifndef BLK_IO
.set BLK_IO, 0xc000
.endif
.ifndef RNG_IO
.set RNG_IO, 0xc100
.endif
.ifndef BLK_MEM
.set BLK_MEM, 0xe0000000
.endif
.ifndef RNG_MEM
.set RNG_MEM, 0xe0010000
.endif
.ifndef NOTIFY_OFF
.set NOTIFY_OFF, 0x3000   # QEMU's virtio-pci-notify region within the modern BAR
.endif
.ifndef HPET_READS
.set HPET_READS, 200
.endif
.ifndef IOAPIC_READS
.set IOAPIC_READS, 100
.endif
# DELAY_HI * 2^32 + DELAY cycles: about 2.5 s at 3 GHz, time enough for a QMP poller in the
# lab (a nested, emulated host, where QMP answers slowly) to see the programmed BARs.
.ifndef DELAY_HI
.set DELAY_HI, 1
.endif
.ifndef DELAY
.set DELAY, 0xc0000000
.endif

.set PCI_ADDR, 0xcf8
.set PCI_DATA, 0xcfc
.set EXIT_PORT, 0xf4

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
    mov $0x90000, %esp

    # virtio-blk
    mov $0x10011af4, %eax
    call find_device
    test %ebx, %ebx
    jz 1f
    mov $BLK_IO, %esi
    mov $BLK_MEM, %edi
    call program_bars
    mov %esi, blk_io
    mov %edi, blk_bar4
1:
    # virtio-rng
    mov $0x10051af4, %eax
    call find_device
    test %ebx, %ebx
    jz 2f
    mov $RNG_IO, %esi
    mov $RNG_MEM, %edi
    call program_bars
    mov %esi, rng_io
    mov %edi, rng_bar4
2:
    # Legacy notifies: outw of queue index 0 to BAR0 + 0x10.
    mov blk_io, %edx
    mov $BLK_LEGACY, %ecx
    call notify_port
    mov rng_io, %edx
    mov $RNG_LEGACY, %ecx
    call notify_port
    # Modern notifies: movw of queue index 0 to the notify region (queue 0 at offset 0).
    mov blk_bar4, %ebx
    mov $BLK_MODERN, %ecx
    call notify_mmio
    mov rng_bar4, %ebx
    mov $RNG_MODERN, %ecx
    call notify_mmio

    # Fixed platform regions.
    mov $HPET_READS, %ecx
12: movl 0xfed00000, %eax
    dec %ecx
    jnz 12b
    mov $IOAPIC_READS, %ecx
13: movl $1, 0xfec00000
    movl 0xfec00010, %eax
    dec %ecx
    jnz 13b

    # Wait about DELAY TSC cycles.
    rdtsc
    mov %eax, %esi
    mov %edx, %edi
    add $DELAY, %esi
    adc $DELAY_HI, %edi
3:  rdtsc
    cmp %edi, %edx
    jb 3b
    ja 4f
    cmp %esi, %eax
    jb 3b
4:
    xor %eax, %eax
    outb %al, $EXIT_PORT
5:  hlt
    jmp 5b

# find_device: %eax = (device << 16) | vendor. Returns in %ebx the config address of
# bus 0, function 0 of the first slot with that id, or 0.
find_device:
    mov %eax, %ebp
    mov $0x80000000, %ebx
6:  mov %ebx, %eax
    mov $PCI_ADDR, %dx
    outl %eax, %dx
    mov $PCI_DATA, %dx
    inl %dx, %eax
    cmp %ebp, %eax
    je 7f
    add $0x800, %ebx          # next slot
    cmp $0x80010000, %ebx     # 32 slots
    jb 6b
    xor %ebx, %ebx
7:  ret

# config_write: %ebx = device's config address, %cl = register, %eax = value.
config_write:
    push %eax
    mov %ebx, %eax
    or %cl, %al
    mov $PCI_ADDR, %dx
    outl %eax, %dx
    pop %eax
    mov $PCI_DATA, %dx
    outl %eax, %dx
    ret

# config_read: %ebx = device's config address, %cl = register; value in %eax.
config_read:
    mov %ebx, %eax
    or %cl, %al
    mov $PCI_ADDR, %dx
    outl %eax, %dx
    mov $PCI_DATA, %dx
    inl %dx, %eax
    ret

# program_bars: %ebx = config address, %esi = I/O base, %edi = memory base.
# Returns the decoded I/O base in %esi and BAR4's address + NOTIFY_OFF in %edi.
program_bars:
    mov %esi, %eax
    mov $0x10, %cl
    call config_write         # BAR0: legacy I/O
    mov %edi, %eax
    mov $0x14, %cl
    call config_write         # BAR1: MSI-X table and PBA
    lea 0x4000(%edi), %eax
    mov $0x20, %cl
    call config_write         # BAR4 low: the modern virtio regions
    xor %eax, %eax
    mov $0x24, %cl
    call config_write         # BAR4 high (BAR5)
    mov $0x3, %eax
    mov $0x04, %cl
    call config_write         # command: I/O space and memory space decoding on
    mov $0x10, %cl
    call config_read
    and $0xfffffffc, %eax
    mov %eax, %esi
    mov $0x20, %cl
    call config_read
    and $0xfffffff0, %eax
    add $NOTIFY_OFF, %eax
    mov %eax, %edi
    ret

# notify_port: %edx = I/O base (0: skip), %ecx = count.
notify_port:
    test %edx, %edx
    jz 9f
    add $0x10, %edx
    xor %eax, %eax
8:  outw %ax, %dx
    dec %ecx
    jnz 8b
9:  ret

# notify_mmio: %ebx = notify address (0: skip), %ecx = count.
notify_mmio:
    test %ebx, %ebx
    jz 11f
    xor %eax, %eax
10: movw %ax, (%ebx)
    dec %ecx
    jnz 10b
11: ret

    .data
    .balign 4
blk_io:   .long 0
rng_io:   .long 0
blk_bar4: .long 0
rng_bar4: .long 0

    .section .note.GNU-stack, "", @progbits
