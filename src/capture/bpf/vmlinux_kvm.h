/* The few kernel types kvm_agg.bpf.c reads, trimmed by hand from a vmlinux BTF dump.
 * Checked in rather than generated, so building never depends on the build machine's kernel
 * or BTF: every struct is marked preserve_access_index, so libbpf relocates each field access
 * (CO-RE) against the running kernel's own BTF when the program is loaded. Only the fields we
 * read are listed; their order and offsets here do not matter. */
#ifndef EXITPROF_VMLINUX_KVM_H
#define EXITPROF_VMLINUX_KVM_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
enum { false = 0, true = 1 };

/* libbpf's bpf_helper_defs.h names these map types and flags. */
enum bpf_map_type {
  BPF_MAP_TYPE_HASH = 1,
  BPF_MAP_TYPE_ARRAY = 2,
  BPF_MAP_TYPE_PERCPU_HASH = 5,
  BPF_MAP_TYPE_PERCPU_ARRAY = 6,
  BPF_MAP_TYPE_LRU_HASH = 9,
};
enum { BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2 };

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct trace_entry {
  unsigned short type;
  unsigned char flags;
  unsigned char preempt_count;
  int pid;
};
struct trace_event_raw_kvm_exit {
  struct trace_entry ent;
  unsigned int exit_reason;
  unsigned long guest_rip;
  u32 isa;
  unsigned int vcpu_id; /* absent before Linux 5.13: checked with bpf_core_field_exists */
};
struct trace_event_raw_kvm_entry {
  struct trace_entry ent;
  unsigned int vcpu_id;
};
struct trace_event_raw_kvm_pio {
  struct trace_entry ent;
  unsigned int rw;
  unsigned int port;
  unsigned int size;
  unsigned int count;
};
struct trace_event_raw_kvm_mmio {
  struct trace_entry ent;
  u32 type;
  u32 len;
  u64 gpa;
};
struct trace_event_raw_kvm_userspace_exit {
  struct trace_entry ent;
  __u32 reason;
  int errno;
};

#pragma clang attribute pop

#endif
