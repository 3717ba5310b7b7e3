#include "capture/bpf/kvm_aggregator.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>

#include "capture/bpf/kvm_agg.skel.h"
#include "capture/bpf/map_reader.h"

namespace exitprof::capture::bpf {

struct SkelDeleter {
  void operator()(kvm_agg* s) const { kvm_agg::destroy(s); }
};
struct LinkDeleter {
  void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

// Links are declared after the skeleton so they are destroyed (detached) first.
struct KvmAggSkeleton {
  std::unique_ptr<kvm_agg, SkelDeleter> skel;
  std::vector<LinkPtr> links;
};

namespace {

// libbpf's messages: kept (the last warning explains a failed load), not printed.
std::string& LastLibbpfMessage() {
  static std::string last;
  return last;
}
int KeepLibbpfMessage(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[512];
  int n = std::vsnprintf(line, sizeof line, format, args);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (!text.empty()) LastLibbpfMessage() = text;
  return n;
}

bool TracepointExists(const char* event) {
  for (const char* root : {"/sys/kernel/tracing/events/kvm/", "/sys/kernel/debug/tracing/events/kvm/"}) {
    if (::access((std::string(root) + event).c_str(), F_OK) == 0) return true;
  }
  return false;
}

uint64_t MonotonicNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

bool HasCapability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return (data[cap / 32].effective >> (cap % 32)) & 1;
}

int ReadInt(const char* path, int fallback) {
  std::ifstream in(path);
  int v = fallback;
  if (!(in >> v)) return fallback;
  return v;
}

// The programs of one attach mode for kvm_pio, kvm_mmio and kvm_userspace_exit.
std::array<bpf_program*, 3> ProgramsOf(kvm_agg* s, AttachMode mode) {
  switch (mode) {
    case AttachMode::kTpBtf: return {s->progs.pio_btf, s->progs.mmio_btf, s->progs.uexit_btf};
    case AttachMode::kRawTp: return {s->progs.pio_raw, s->progs.mmio_raw, s->progs.uexit_raw};
    case AttachMode::kTracepoint: break;
  }
  return {s->progs.pio_tp, s->progs.mmio_tp, s->progs.uexit_tp};
}

// Opens, loads and attaches one flavour; the caller tries the next one on failure.
Result<std::unique_ptr<KvmAggSkeleton>> TryMode(AttachMode mode, const AggregatorOptions& options, bool with_exits,
                                                bool& exit_ok, bool& entry_ok, std::string& exit_status) {
  auto out = std::make_unique<KvmAggSkeleton>();
  out->skel.reset(kvm_agg::open());
  if (!out->skel) return Fail(std::string("opening the BPF object: ") + std::strerror(errno), 1);
  kvm_agg* s = out->skel.get();
  s->rodata->filter_pids = !options.pids.empty();
  s->rodata->want_rips = options.rips;
  s->rodata->want_latency = options.latency;
  for (AttachMode m : {AttachMode::kTpBtf, AttachMode::kRawTp, AttachMode::kTracepoint}) {
    for (bpf_program* p : ProgramsOf(s, m)) bpf_program__set_autoload(p, m == mode);
  }
  if (options.pio_max_entries) bpf_map__set_max_entries(s->maps.pio, options.pio_max_entries);
  bpf_program__set_autoload(s->progs.exit_tp, with_exits);
  bpf_program__set_autoload(s->progs.entry_tp, with_exits);
  LastLibbpfMessage().clear();
  if (int err = kvm_agg::load(s); err != 0) {
    return Fail(std::string("loading the ") + AttachModeName(mode) + " programs: " + std::strerror(-err) +
                    (LastLibbpfMessage().empty() ? "" : " (" + LastLibbpfMessage() + ")"),
                1);
  }
  const uint8_t one = 1;
  for (pid_t pid : options.pids) {
    uint32_t key = static_cast<uint32_t>(pid);
    if (bpf_map_update_elem(bpf_map__fd(s->maps.pids), &key, &one, BPF_ANY) != 0)
      return Fail("BPF pid filter: more than " + std::to_string(AGG_MAX_PIDS) + " processes", 2);
  }
  for (bpf_program* p : ProgramsOf(s, mode)) {
    bpf_link* link = bpf_program__attach(p);
    if (!link) {
      return Fail(std::string("attaching ") + bpf_program__section_name(p) + ": " + std::strerror(errno), 1);
    }
    out->links.emplace_back(link);
  }
  exit_ok = entry_ok = false;
  exit_status.clear();
  if (!with_exits) {
    exit_status = "kvm_exit/kvm_entry not requested";
    return out;
  }
  auto attach_optional = [&](bpf_program* p, const char* event, bool& ok) {
    if (!TracepointExists(event)) {
      if (exit_status.empty()) exit_status = std::string("kvm:") + event + " does not exist on this kernel";
      return;
    }
    bpf_link* link = bpf_program__attach(p);
    if (!link) {
      if (exit_status.empty()) exit_status = std::string("attaching kvm:") + event + ": " + std::strerror(errno);
      return;
    }
    out->links.emplace_back(link);
    ok = true;
  };
  attach_optional(s->progs.exit_tp, "kvm_exit", exit_ok);
  attach_optional(s->progs.entry_tp, "kvm_entry", entry_ok);
  return out;
}

void CombineLatency(std::vector<uint64_t>& acc, std::span<const uint64_t> cpu, bool first) {
  // Words: count, total_ns, min_ns, max_ns, slots...
  if (cpu.size() < 4 || acc.size() < 4) return;
  if (cpu[0] > 0) acc[2] = (acc[0] == 0) ? cpu[2] : std::min(acc[2], cpu[2]);
  acc[3] = std::max(acc[3], cpu[3]);
  acc[0] += cpu[0];
  acc[1] += cpu[1];
  for (size_t i = 4; i < acc.size() && i < cpu.size(); ++i) acc[i] += cpu[i];
}

}  // namespace

const char* AttachModeName(AttachMode mode) {
  switch (mode) {
    case AttachMode::kTpBtf: return "tp_btf";
    case AttachMode::kRawTp: return "raw_tp";
    case AttachMode::kTracepoint: break;
  }
  return "tracepoint";
}

std::optional<std::string> BpfNotAllowedReason() {
  // CAP_BPF is 39 and CAP_PERFMON 38 (Linux 5.8+); before that CAP_SYS_ADMIN (21) covers both.
  const bool sys_admin = HasCapability(21);
  const bool bpf = sys_admin || HasCapability(39), perfmon = sys_admin || HasCapability(38);
  if (!bpf || !perfmon) {
    std::string missing = !bpf && !perfmon ? "CAP_BPF and CAP_PERFMON" : !bpf ? "CAP_BPF" : "CAP_PERFMON";
    int unpriv = ReadInt("/proc/sys/kernel/unprivileged_bpf_disabled", -1);
    std::string why = "this process lacks " + missing + " (run as root, or grant them: setcap cap_bpf,cap_perfmon+ep)";
    if (unpriv > 0) why += "; kernel.unprivileged_bpf_disabled=" + std::to_string(unpriv) + " refuses BPF without them";
    return why;
  }
  if (::access("/sys/kernel/btf/vmlinux", R_OK) != 0)
    return "the kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing; needs CONFIG_DEBUG_INFO_BTF=y)";
  return std::nullopt;
}

Result<std::unique_ptr<KvmAggregator>> KvmAggregator::Open(const AggregatorOptions& options) {
  if (auto why = BpfNotAllowedReason()) return Fail("BPF is not available: " + *why, 1);
  libbpf_set_print(KeepLibbpfMessage);
  std::string errors;
  for (AttachMode mode : {AttachMode::kTpBtf, AttachMode::kRawTp, AttachMode::kTracepoint}) {
    if (options.only_mode && *options.only_mode != mode) continue;
    std::unique_ptr<KvmAggregator> agg(new KvmAggregator());
    auto skel = TryMode(mode, options, options.exits, agg->exit_attached_, agg->entry_attached_, agg->exit_status_);
    if (!skel) {
      if (skel.error().exit_code == 2) return tl::unexpected(skel.error());
      errors += (errors.empty() ? "" : "; ") + skel.error().message;
      continue;
    }
    agg->skel_ = std::move(*skel);
    agg->mode_ = mode;
    agg->read_rips_ = options.rips;
    agg->read_latency_ = options.latency;
    return agg;
  }
  return Fail("BPF programs could not be loaded in any attach mode: " + errors, 1);
}

KvmAggregator::~KvmAggregator() = default;

Result<Snapshot> KvmAggregator::Read() const {
  kvm_agg* s = skel_->skel.get();
  Snapshot out;
  out.time_ns = MonotonicNs();
  auto shape = [](bpf_map* m, bool percpu) {
    return MapShape{bpf_map__fd(m), bpf_map__name(m), bpf_map__key_size(m), bpf_map__value_size(m), percpu};
  };
  struct Want {
    bpf_map* map;
    bool percpu;
    RawTable* into;
    Combiner combine;
    bool wanted = true;
  };
  const Want wants[] = {
      {s->maps.exits, false, &out.exits, SumWords}, {s->maps.rips, false, &out.rips, SumWords, read_rips_},
      {s->maps.latency, false, &out.latency, CombineLatency, read_latency_}, {s->maps.pio, false, &out.pio, SumWords},
      {s->maps.mmio, false, &out.mmio, SumWords}, {s->maps.uexits, false, &out.uexits, SumWords},
  };
  for (const auto& w : wants) {
    // A batch read walks every bucket even of an empty hash map: skip the ones never filled.
    if (!w.wanted) continue;
    auto table = ReadTable(shape(w.map, w.percpu), w.combine, batch_reads_);
    if (!table) return tl::unexpected(table.error());
    *w.into = std::move(*table);
  }
  auto events = ReadPercpuCounters(bpf_map__fd(s->maps.events), AGG_EV_COUNT);
  if (!events) return tl::unexpected(events.error());
  std::copy(events->begin(), events->end(), out.events.begin());
  auto drops = ReadPercpuCounters(bpf_map__fd(s->maps.drops), AGG_MAP_COUNT);
  if (!drops) return tl::unexpected(drops.error());
  std::copy(drops->begin(), drops->end(), out.drops.begin());
  auto busy = ReadPercpuCounters(bpf_map__fd(s->maps.busy), AGG_MAP_COUNT);
  if (!busy) return tl::unexpected(busy.error());
  std::copy(busy->begin(), busy->end(), out.busy.begin());
  // Thread names: a plain struct value, not counters: read key by key (few, bounded).
  int fd = bpf_map__fd(s->maps.threads);
  uint32_t key = 0, next = 0;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    agg_thread t{};
    if (bpf_map_lookup_elem(fd, &key, &t) != 0) continue;
    out.threads[key] = {t.pid, key, std::string(t.comm, strnlen(t.comm, sizeof t.comm))};
  }
  return out;
}

Result<size_t> KvmAggregator::ForgetThreads(Snapshot& snapshot, const std::function<bool(uint32_t, uint32_t)>& gone) const {
  kvm_agg* s = skel_->skel.get();
  // Every per-thread key starts with (pid, tid) as two u32s.
  const std::pair<bpf_map*, RawTable*> tables[] = {
      {s->maps.exits, &snapshot.exits}, {s->maps.pio, &snapshot.pio}, {s->maps.mmio, &snapshot.mmio}, {s->maps.uexits, &snapshot.uexits}};
  size_t forgotten = 0;
  for (const auto& [map, table] : tables) {
    for (auto it = table->begin(); it != table->end();) {
      uint32_t ids[2] = {0, 0};
      std::memcpy(ids, it->first.data(), std::min(it->first.size(), sizeof ids));
      if (!gone(ids[0], ids[1])) {
        ++it;
        continue;
      }
      if (bpf_map_delete_elem(bpf_map__fd(map), it->first.data()) != 0 && errno != ENOENT)
        return Fail(std::string("deleting from BPF map ") + bpf_map__name(map) + ": " + std::strerror(errno), 1);
      it = table->erase(it);
      ++forgotten;
    }
  }
  return forgotten;
}

}  // namespace exitprof::capture::bpf
