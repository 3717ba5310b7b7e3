/* Types shared by kvm_agg.bpf.c and user space: map keys, values and indexes. Plain C with
 * fixed-width fields and explicit padding, so both compilers lay them out the same way. */
#ifndef EXITPROF_CAPTURE_BPF_KVM_AGG_H
#define EXITPROF_CAPTURE_BPF_KVM_AGG_H

#ifdef __cplusplus
#include <cstdint>
typedef uint8_t agg_u8;
typedef uint16_t agg_u16;
typedef uint32_t agg_u32;
typedef uint64_t agg_u64;
#else
typedef __u8 agg_u8;
typedef __u16 agg_u16;
typedef __u32 agg_u32;
typedef __u64 agg_u64;
#endif

/* Map sizes: bounded so a runaway key space costs memory we chose, never the host's. */
#define AGG_MAX_EXIT_KEYS 16384
#define AGG_MAX_RIP_KEYS 16384
#define AGG_MAX_LAT_KEYS 1024
#define AGG_MAX_PIO_KEYS 8192
#define AGG_MAX_MMIO_KEYS 8192
#define AGG_MAX_UEXIT_KEYS 4096
#define AGG_MAX_THREADS 8192
#define AGG_MAX_PIDS 64
#define AGG_LOG2_SLOTS 64

/* Indexes of the per-CPU "events" counter: every firing that passed the pid filter. */
enum agg_event { AGG_EV_EXIT, AGG_EV_ENTRY, AGG_EV_PIO, AGG_EV_MMIO, AGG_EV_UEXIT, AGG_EV_COUNT };
/* Indexes of the per-CPU "drops" counters (events not counted because an insert into that map
 * failed) and "busy" counters (of those, the inserts refused with room left in the map). */
enum agg_map { AGG_MAP_EXITS, AGG_MAP_RIPS, AGG_MAP_LAT, AGG_MAP_PENDING, AGG_MAP_PIO, AGG_MAP_MMIO,
               AGG_MAP_UEXIT, AGG_MAP_THREADS, AGG_MAP_COUNT };

struct agg_exit_key {
  agg_u32 pid, tid;
  agg_u32 vcpu; /* ~0: the format has no vcpu_id */
  agg_u32 reason;
  agg_u32 isa;
  agg_u32 pad;
};
/* rips and latency are keyed by CPU too (one writer per entry, kvm_exit/kvm_entry run with
 * interrupts off): user space sums the CPUs. */
struct agg_rip_key {
  agg_u32 reason, isa;
  agg_u64 rip;
  agg_u32 cpu, pad;
};
struct agg_lat_key {
  agg_u32 reason, isa, cpu;
};
/* Exit cost for one reason on one CPU (summed over CPUs when read). */
struct agg_lat_value {
  agg_u64 count, total_ns, min_ns, max_ns;
  agg_u64 slots[AGG_LOG2_SLOTS]; /* slot k: [2^k, 2^(k+1)) ns; slot 0 also holds 0 */
};
/* The exit a thread is in, waiting for its kvm_entry. */
struct agg_pending {
  agg_u64 time_ns;
  agg_u32 reason, isa;
};
struct agg_pio_key {
  agg_u32 pid, tid;
  agg_u16 port;
  agg_u8 size, write;
  agg_u32 pad;
};
struct agg_mmio_key {
  agg_u32 pid, tid;
  agg_u64 gpa;
  agg_u32 len, type; /* type as kvm_mmio: 0 unsatisfied-read, 1 read, 2 write */
};
/* Userspace exit "reasons" for a KVM_RUN that failed, as the tracepoint names them. */
#define AGG_UEXIT_RESTART 0xfffffffeu /* errno EINTR */
#define AGG_UEXIT_ERROR 0xffffffffu

struct agg_uexit_key {
  agg_u32 pid, tid;
  agg_u32 reason;
  agg_u32 pad;
};
/* A thread's name as it was when it first counted something (it may be gone when read). */
struct agg_thread {
  agg_u32 pid, pad;
  char comm[16];
};

#endif
