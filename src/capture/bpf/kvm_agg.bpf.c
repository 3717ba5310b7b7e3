// SPDX-License-Identifier: GPL-2.0
/* In-kernel aggregation of the kvm tracepoints: exit counts per (pid, tid, vcpu, reason, isa)
 * and per (reason, rip), exit->entry cost as log2 histograms per reason, port IO and MMIO per
 * thread, userspace exits per thread. Nothing is copied to user space per event; user space
 * reads the maps when it wants a snapshot.
 *
 * kvm_pio, kvm_mmio and kvm_userspace_exit come in three flavours with one body: tp_btf and
 * raw_tp read the tracepoint's arguments directly (cheapest), "tracepoint" reads the formatted
 * record (works where the others are refused). User space loads one flavour, trying them in
 * that order. kvm_exit/kvm_entry are attached as "tracepoint" only: their raw arguments are a
 * struct kvm_vcpu pointer, and the exit reason behind it lives in vendor (vmx/svm) structs. */
#include "vmlinux_kvm.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kvm_agg.h"

char LICENSE[] SEC("license") = "GPL";

/* Knobs, set by user space between open and load. */
const volatile bool filter_pids = false; /* count only the processes in the "pids" map */
const volatile bool want_rips = true;
const volatile bool want_latency = true;

/* A zeroed histogram to insert from: too big for the 512-byte BPF stack. */
const struct agg_lat_value lat_zero = {};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, AGG_MAX_PIDS);
  __type(key, __u32);
  __type(value, __u8);
} pids SEC(".maps");

/* Keyed per thread: a vCPU thread runs on one CPU at a time, so a shared hash with atomic adds
 * neither contends nor costs num_cpus copies of every key. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, AGG_MAX_EXIT_KEYS);
  __type(key, struct agg_exit_key);
  __type(value, __u64);
} exits SEC(".maps");

/* Keyed across VMs and vCPUs (the same rip in every guest), and by CPU so that each entry has one
 * writer. Not a per-CPU hash: in the lab (Debian 6.1) its inserts from kvm_exit/kvm_entry were
 * now and then refused (-EBUSY) with room left, where the plain hashes' never were. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, AGG_MAX_RIP_KEYS);
  __type(key, struct agg_rip_key);
  __type(value, __u64);
} rips SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, AGG_MAX_LAT_KEYS);
  __type(key, struct agg_lat_key);
  __type(value, struct agg_lat_value);
} latency SEC(".maps");

/* LRU: threads that exit while in an exit must not hold a slot forever. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, AGG_MAX_THREADS);
  __type(key, __u32);
  __type(value, struct agg_pending);
} pending SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, AGG_MAX_PIO_KEYS);
  __type(key, struct agg_pio_key);
  __type(value, __u64);
} pio SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, AGG_MAX_MMIO_KEYS);
  __type(key, struct agg_mmio_key);
  __type(value, __u64);
} mmio SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, AGG_MAX_UEXIT_KEYS);
  __type(key, struct agg_uexit_key);
  __type(value, __u64);
} uexits SEC(".maps");

/* LRU: on a long-running host, names of threads long gone make room for new ones. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, AGG_MAX_THREADS);
  __type(key, __u32);
  __type(value, struct agg_thread);
} threads SEC(".maps");

/* Global counters touched by every event: per-CPU, so they never bounce between CPUs. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, AGG_EV_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, AGG_MAP_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} drops SEC(".maps");

/* Of those drops, the inserts the kernel refused although the map had room (-EBUSY: the
 * bucket was locked on this CPU, an update nested in another). Told apart from a full map. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, AGG_MAP_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} busy SEC(".maps");

static __always_inline void bump_array(void *map, __u32 index) {
  __u64 *v = bpf_map_lookup_elem(map, &index);
  if (v) *v += 1;
}

/* An insert into map `index` failed with `err` (not EEXIST): the event is not counted. */
static __always_inline void note_drop(__u32 index, long err) {
  bump_array(&drops, index);
  if (err != -7 /* E2BIG */ && err != -12 /* ENOMEM */) bump_array(&busy, index);
}

/* Inserts `value` at `key` once; a failure that is not a full map (an LRU list without a free
 * node at that instant, a bucket busy on this CPU) is tried once more before it counts as a drop. */
static __always_inline long insert(void *map, const void *key, const void *value) {
  long err = bpf_map_update_elem(map, key, value, BPF_NOEXIST);
  if (err && err != -17 /* EEXIST */ && err != -7 /* E2BIG */) err = bpf_map_update_elem(map, key, value, BPF_NOEXIST);
  return err;
}

/* Whether this event counts; also says which process and thread it belongs to. */
static __always_inline bool wanted(__u32 event, __u32 *pid, __u32 *tid) {
  __u64 id = bpf_get_current_pid_tgid();
  *pid = id >> 32;
  *tid = (__u32)id;
  if (filter_pids && !bpf_map_lookup_elem(&pids, pid)) return false;
  bump_array(&events, event);
  return true;
}

/* Remembers a thread's name the first time it counts something. */
static __always_inline void note_thread(__u32 pid, __u32 tid) {
  if (bpf_map_lookup_elem(&threads, &tid)) return;
  struct agg_thread t = {.pid = pid};
  bpf_get_current_comm(t.comm, sizeof(t.comm));
  long err = insert(&threads, &tid, &t);
  if (err && err != -17 /* EEXIST: another CPU was first */) note_drop(AGG_MAP_THREADS, err);
}

/* count[key] += 1 in a shared hash; a full map is counted, never silently wrong. */
static __always_inline void count_shared(void *map, const void *key, __u32 map_index, __u32 pid, __u32 tid) {
  __u64 *v = bpf_map_lookup_elem(map, key);
  if (v) {
    __sync_fetch_and_add(v, 1);
    return;
  }
  __u64 one = 1;
  long err = insert(map, key, &one);
  if (err == -17) { /* EEXIST: inserted by another CPU meanwhile */
    v = bpf_map_lookup_elem(map, key);
    if (v) __sync_fetch_and_add(v, 1);
  } else if (err) {
    note_drop(map_index, err);
    return;
  }
  note_thread(pid, tid);
}

/* The same in a per-CPU hash: this CPU's slot only, so no atomics. */
static __always_inline void count_percpu(void *map, const void *key, __u32 map_index) {
  __u64 *v = bpf_map_lookup_elem(map, key);
  if (v) {
    *v += 1;
    return;
  }
  __u64 one = 1;
  long err = insert(map, key, &one);
  if (err == -17) {
    v = bpf_map_lookup_elem(map, key);
    if (v) *v += 1;
  } else if (err) {
    note_drop(map_index, err);
  }
}

static __always_inline __u32 log2_slot(__u64 v) {
  __u32 r = 0;
  /* Unrolled binary search: bounded, verifier-friendly. */
  if (v >> 32) { v >>= 32; r += 32; }
  if (v >> 16) { v >>= 16; r += 16; }
  if (v >> 8) { v >>= 8; r += 8; }
  if (v >> 4) { v >>= 4; r += 4; }
  if (v >> 2) { v >>= 2; r += 2; }
  if (v >> 1) { r += 1; }
  return r;
}

static __always_inline void on_pio(__u32 rw, __u32 port, __u32 size) {
  __u32 pid, tid;
  if (!wanted(AGG_EV_PIO, &pid, &tid)) return;
  struct agg_pio_key key = {.pid = pid, .tid = tid, .port = (__u16)port, .size = (__u8)size, .write = rw ? 1 : 0};
  count_shared(&pio, &key, AGG_MAP_PIO, pid, tid);
}

static __always_inline void on_mmio(__u32 type, __u32 len, __u64 gpa) {
  __u32 pid, tid;
  if (!wanted(AGG_EV_MMIO, &pid, &tid)) return;
  struct agg_mmio_key key = {.pid = pid, .tid = tid, .gpa = gpa, .len = len, .type = type};
  count_shared(&mmio, &key, AGG_MAP_MMIO, pid, tid);
}

static __always_inline void on_uexit(__u32 reason, int err) {
  __u32 pid, tid;
  /* As the tracepoint prints it: a failed KVM_RUN is "restart" (EINTR) or "error". */
  if (err < 0) reason = err == -4 ? AGG_UEXIT_RESTART : AGG_UEXIT_ERROR;
  if (!wanted(AGG_EV_UEXIT, &pid, &tid)) return;
  struct agg_uexit_key key = {.pid = pid, .tid = tid, .reason = reason};
  count_shared(&uexits, &key, AGG_MAP_UEXIT, pid, tid);
}

/* tp_btf flavour. */
SEC("tp_btf/kvm_pio")
int BPF_PROG(pio_btf, unsigned int rw, unsigned int port, unsigned int size) {
  on_pio(rw, port, size);
  return 0;
}
SEC("tp_btf/kvm_mmio")
int BPF_PROG(mmio_btf, int type, int len, u64 gpa) {
  on_mmio((__u32)type, (__u32)len, gpa);
  return 0;
}
SEC("tp_btf/kvm_userspace_exit")
int BPF_PROG(uexit_btf, __u32 reason, int err) {
  on_uexit(reason, err);
  return 0;
}

/* raw_tp flavour: the same arguments, without BTF type checks. */
SEC("raw_tp/kvm_pio")
int BPF_PROG(pio_raw, unsigned int rw, unsigned int port, unsigned int size) {
  on_pio(rw, port, size);
  return 0;
}
SEC("raw_tp/kvm_mmio")
int BPF_PROG(mmio_raw, int type, int len, u64 gpa) {
  on_mmio((__u32)type, (__u32)len, gpa);
  return 0;
}
SEC("raw_tp/kvm_userspace_exit")
int BPF_PROG(uexit_raw, __u32 reason, int err) {
  on_uexit(reason, err);
  return 0;
}

/* tracepoint flavour: the formatted record, fields relocated by CO-RE. */
SEC("tracepoint/kvm/kvm_pio")
int pio_tp(struct trace_event_raw_kvm_pio *ctx) {
  on_pio(BPF_CORE_READ(ctx, rw), BPF_CORE_READ(ctx, port), BPF_CORE_READ(ctx, size));
  return 0;
}
SEC("tracepoint/kvm/kvm_mmio")
int mmio_tp(struct trace_event_raw_kvm_mmio *ctx) {
  on_mmio(BPF_CORE_READ(ctx, type), BPF_CORE_READ(ctx, len), BPF_CORE_READ(ctx, gpa));
  return 0;
}
SEC("tracepoint/kvm/kvm_userspace_exit")
int uexit_tp(struct trace_event_raw_kvm_userspace_exit *ctx) {
  on_uexit(BPF_CORE_READ(ctx, reason), BPF_CORE_READ(ctx, errno));
  return 0;
}

SEC("tracepoint/kvm/kvm_exit")
int exit_tp(struct trace_event_raw_kvm_exit *ctx) {
  __u32 pid, tid;
  if (!wanted(AGG_EV_EXIT, &pid, &tid)) return 0;
  struct agg_exit_key key = {.pid = pid, .tid = tid, .vcpu = ~0u};
  key.reason = BPF_CORE_READ(ctx, exit_reason);
  key.isa = BPF_CORE_READ(ctx, isa);
  if (bpf_core_field_exists(ctx->vcpu_id)) key.vcpu = BPF_CORE_READ(ctx, vcpu_id);
  count_shared(&exits, &key, AGG_MAP_EXITS, pid, tid);
  if (want_rips) {
    struct agg_rip_key rk = {.reason = key.reason, .isa = key.isa, .rip = BPF_CORE_READ(ctx, guest_rip), .cpu = bpf_get_smp_processor_id()};
    count_percpu(&rips, &rk, AGG_MAP_RIPS);
  }
  if (want_latency) {
    /* As perf kvm stat pairs them: a thread is tracked from its first kvm_entry on, so an
     * exit already under way when we attached is not timed from the wrong start. */
    struct agg_pending *p = bpf_map_lookup_elem(&pending, &tid);
    if (p) {
      p->time_ns = bpf_ktime_get_ns();
      p->reason = key.reason;
      p->isa = key.isa;
    }
  }
  return 0;
}

SEC("tracepoint/kvm/kvm_entry")
int entry_tp(struct trace_event_raw_kvm_entry *ctx) {
  __u32 pid, tid;
  if (!wanted(AGG_EV_ENTRY, &pid, &tid)) return 0;
  if (!want_latency) return 0;
  struct agg_pending *p = bpf_map_lookup_elem(&pending, &tid);
  if (!p) { /* first entry of this thread: track it from now on */
    struct agg_pending start = {};
    long err = insert(&pending, &tid, &start);
    if (err && err != -17) note_drop(AGG_MAP_PENDING, err);
    return 0;
  }
  if (!p->time_ns) return 0; /* an entry without an exit since the last one */
  __u64 now = bpf_ktime_get_ns();
  __u64 delta = now > p->time_ns ? now - p->time_ns : 0;
  struct agg_lat_key key = {.reason = p->reason, .isa = p->isa, .cpu = bpf_get_smp_processor_id()};
  p->time_ns = 0;
  struct agg_lat_value *v = bpf_map_lookup_elem(&latency, &key);
  if (!v) {
    long err = insert(&latency, &key, &lat_zero);
    if (err && err != -17) {
      note_drop(AGG_MAP_LAT, err);
      return 0;
    }
    v = bpf_map_lookup_elem(&latency, &key);
    if (!v) return 0;
  }
  if (v->count == 0 || delta < v->min_ns) v->min_ns = delta;
  if (delta > v->max_ns) v->max_ns = delta;
  v->count += 1;
  v->total_ns += delta;
  __u32 slot = log2_slot(delta);
  if (slot < AGG_LOG2_SLOTS) v->slots[slot] += 1;
  return 0;
}
