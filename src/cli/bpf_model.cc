#include "cli/bpf_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "kvm/known_names.h"

namespace exitprof::cli {

namespace bpf = capture::bpf;
using analysis::ReportModel;

namespace {

double Percent(uint64_t part, uint64_t whole) { return whole ? 100.0 * part / whole : 0.0; }

bool IsIdle(const std::string& reason) {
  for (const char* idle : {"HLT", "MWAIT_INSTRUCTION", "PAUSE_INSTRUCTION", "TPAUSE", "UMWAIT", "hlt", "mwait",
                           "mwait_cond", "pause", "idle-halt"}) {
    if (reason == idle) return true;
  }
  return false;
}

// A percentile from a log2 histogram: the middle of the bucket holding that rank (the map
// keeps no values, so percentiles are approximate, within a factor of 1.5 of the truth).
uint64_t Log2Percentile(const std::array<uint64_t, AGG_LOG2_SLOTS>& slots, uint64_t count, double p) {
  if (count == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count)));
  uint64_t seen = 0;
  for (size_t k = 0; k < slots.size(); ++k) {
    seen += slots[k];
    if (seen >= rank && slots[k]) return k == 0 ? 0 : (1ULL << k) + (1ULL << k) / 2;
  }
  return 0;
}

const char* MmioType(uint32_t type) {
  static const char* const kNames[] = {"unsatisfied-read", "read", "write"};
  return type < 3 ? kNames[type] : "unknown";
}

}  // namespace

ReportModel BuildBpfModel(const bpf::Snapshot& s, double seconds, const BpfModelContext& ctx) {
  ReportModel m;
  const auto* agg = ctx.aggregator;
  m.path = std::string("bpf:") + (agg ? bpf::AttachModeName(agg->mode()) : "?");
  m.hostname = ctx.hostname;
  m.os_release = ctx.os_release;
  m.cpu_id = ctx.cpu_id;
  struct Ev {
    const char* name;
    int index;
    bool attached;
  };
  const Ev evs[] = {{"kvm:kvm_exit", AGG_EV_EXIT, agg && agg->exit_attached()},
                    {"kvm:kvm_entry", AGG_EV_ENTRY, agg && agg->entry_attached()},
                    {"kvm:kvm_pio", AGG_EV_PIO, true},
                    {"kvm:kvm_mmio", AGG_EV_MMIO, true},
                    {"kvm:kvm_userspace_exit", AGG_EV_UEXIT, true}};
  for (const auto& e : evs) {
    if (!e.attached) continue;
    m.events.push_back({e.name, s.events[e.index]});
    m.samples += s.events[e.index];
  }
  m.lost_events = s.dropped();
  m.span_s = seconds;
  m.interval_s = seconds;
  m.has_kvm_exit = s.events[AGG_EV_EXIT] > 0;
  m.has_other_kvm = true;

  const bpf::ExitReasonNames fallback;
  const bpf::ExitReasonNames& names = ctx.reasons ? *ctx.reasons : fallback;
  std::map<std::string, uint64_t> by_reason;
  std::map<std::tuple<uint32_t, uint32_t, uint32_t>, uint64_t> by_vcpu;  // (pid, vcpu, tid)
  std::map<uint32_t, std::set<uint32_t>> vcpus_of_pid;
  std::map<uint32_t, uint64_t> by_pid;
  auto comm = [&](uint32_t tid) -> std::string {
    auto it = s.threads.find(tid);
    return it == s.threads.end() ? "" : it->second.comm;
  };
  for (const auto& e : s.Exits()) {
    m.exits_total += e.count;
    if (m.isa.empty()) m.isa = bpf::ExitReasonNames::IsaName(e.isa);
    by_reason[names.Name(e.isa, e.reason)] += e.count;
    by_vcpu[{e.pid, e.vcpu, e.tid}] += e.count;
    vcpus_of_pid[e.pid].insert(e.vcpu == ~0u ? e.tid : e.vcpu);
    by_pid[e.pid] += e.count;
  }
  for (const auto& [reason, n] : by_reason)
    m.by_reason.push_back({reason, n, Percent(n, m.exits_total), seconds > 0 ? n / seconds : 0.0});
  std::stable_sort(m.by_reason.begin(), m.by_reason.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
  for (const auto& [key, n] : by_vcpu) {
    auto [pid, vcpu, tid] = key;
    m.by_vcpu.push_back({pid, tid, vcpu == ~0u ? -1 : static_cast<int64_t>(vcpu), comm(tid), n, Percent(n, m.exits_total)});
  }
  std::stable_sort(m.by_vcpu.begin(), m.by_vcpu.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
  for (const auto& [pid, n] : by_pid) {
    std::string c;
    for (const auto& [tid, t] : s.threads) {
      if (t.pid == pid && tid == pid) c = t.comm;
    }
    m.by_vm.push_back({pid, c, "", n, Percent(n, m.exits_total), static_cast<uint32_t>(vcpus_of_pid[pid].size())});
  }
  std::stable_sort(m.by_vm.begin(), m.by_vm.end(), [](const auto& a, const auto& b) { return a.count > b.count; });

  std::map<std::string, std::vector<analysis::RipRow>> rips;
  for (const auto& r : s.Rips()) {
    std::string reason = names.Name(r.isa, r.reason);
    analysis::RipRow row;
    row.reason = reason;
    row.rip = r.rip;
    row.count = r.count;
    row.percent_of_reason = Percent(r.count, by_reason[reason]);
    rips[reason].push_back(std::move(row));
  }
  for (const auto& reason : m.by_reason) {
    auto& list = rips[reason.reason];
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.count != b.count ? a.count > b.count : a.rip < b.rip; });
    size_t keep = ctx.top == 0 ? list.size() : std::min(ctx.top, list.size());
    m.by_rip.insert(m.by_rip.end(), list.begin(), list.begin() + static_cast<long>(keep));
  }

  if (agg && agg->entry_attached() && agg->exit_attached()) {
    m.has_latency = true;
    for (const auto& h : s.Latency()) {
      analysis::LatencyRow row;
      row.reason = names.Name(h.isa, h.reason);
      row.idle = IsIdle(row.reason);
      auto& sum = row.summary;
      sum.count = h.count;
      sum.total_ns = h.total_ns;
      sum.min_ns = h.min_ns;
      sum.max_ns = h.max_ns;
      sum.mean_ns = h.count ? static_cast<double>(h.total_ns) / h.count : 0;
      sum.p50_ns = Log2Percentile(h.slots, h.count, 50);
      sum.p90_ns = Log2Percentile(h.slots, h.count, 90);
      sum.p99_ns = Log2Percentile(h.slots, h.count, 99);
      sum.p999_ns = Log2Percentile(h.slots, h.count, 99.9);
      sum.exact = false;
      std::copy(h.slots.begin(), h.slots.end(), sum.log2_histogram.begin());
      m.latency_total_ns += h.total_ns;
      if (row.idle) m.latency_idle_ns += h.total_ns;
      m.latency.push_back(row);
    }
    for (auto& row : m.latency) row.time_percent = Percent(row.summary.total_ns, m.latency_total_ns);
    std::sort(m.latency.begin(), m.latency.end(), [](const auto& a, const auto& b) { return a.summary.total_ns > b.summary.total_ns; });
  }

  std::map<std::string, uint64_t> uexits;
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> uexit_threads;
  uint64_t uexit_total = 0;
  for (const auto& u : s.UserspaceExits()) {
    uexits[bpf::UserspaceExitName(u.reason)] += u.count;
    uexit_threads[{u.pid, u.tid}] += u.count;
    uexit_total += u.count;
  }
  for (const auto& [name, n] : uexits) m.userspace_exits.push_back({name, n});
  std::stable_sort(m.userspace_exits.begin(), m.userspace_exits.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
  for (const auto& [key, n] : uexit_threads)
    m.userspace_exits_by_thread.push_back({key.first, key.second, -1, comm(key.second), n, Percent(n, uexit_total)});
  std::stable_sort(m.userspace_exits_by_thread.begin(), m.userspace_exits_by_thread.end(),
                   [](const auto& a, const auto& b) { return a.count > b.count; });

  std::map<std::tuple<uint16_t, bool, uint8_t>, uint64_t> pio;
  for (const auto& p : s.Pio()) {
    pio[{p.port, p.write, p.size}] += p.count;
    m.pio_by_thread.push_back({p.pid, p.tid, comm(p.tid), {p.port, p.write, p.size, p.count, kvm::PortName(p.port), {}}});
  }
  for (const auto& [key, n] : pio) {
    auto [port, write, size] = key;
    m.pio.push_back({port, write, size, n, kvm::PortName(port), {}});
  }
  std::stable_sort(m.pio.begin(), m.pio.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
  std::sort(m.pio_by_thread.begin(), m.pio_by_thread.end(), [](const auto& a, const auto& b) {
    return std::tie(a.pid, a.tid, a.access.port, a.access.write, a.access.size) <
           std::tie(b.pid, b.tid, b.access.port, b.access.write, b.access.size);
  });

  std::map<std::tuple<uint64_t, std::string, uint32_t>, uint64_t> mmio;
  for (const auto& a : s.Mmio()) mmio[{a.gpa, MmioType(a.type), a.len}] += a.count;
  std::map<uint64_t, ReportModel::MmioPageRow> pages;
  for (const auto& [key, n] : mmio) {
    auto [gpa, type, len] = key;
    m.mmio.push_back({gpa, type, len, n, kvm::MmioName(gpa), {}});
    if (type == "unsatisfied-read") continue;  // the exit half of a read: counted once, as `report` does
    auto& page = pages[gpa & ~0xfffULL];
    page.page = gpa & ~0xfffULL;
    (type == "write" ? page.writes : page.reads) += n;
    if (page.name.empty()) page.name = kvm::MmioName(page.page);
  }
  std::stable_sort(m.mmio.begin(), m.mmio.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
  for (const auto& [addr, row] : pages) m.mmio_pages.push_back(row);
  std::stable_sort(m.mmio_pages.begin(), m.mmio_pages.end(),
                   [](const auto& a, const auto& b) { return a.reads + a.writes > b.reads + b.writes; });
  return m;
}

void WarnIfMapsFull(const char* command, const bpf::Snapshot& counts) {
  static const char* const kMaps[] = {"exits", "rips", "latency", "pending", "pio", "mmio", "uexits", "threads"};
  for (size_t i = 0; i < counts.drops.size(); ++i) {
    const uint64_t full = counts.drops[i] - std::min(counts.drops[i], counts.busy[i]);
    if (full)
      std::fprintf(stderr, "%s: BPF map \"%s\" was full: %llu events not counted in it (too many distinct keys)\n", command,
                   kMaps[i], static_cast<unsigned long long>(full));
    if (counts.busy[i])  // the kernel refused the insert twice with room left (its bucket lock busy)
      std::fprintf(stderr, "%s: BPF map \"%s\" refused %llu inserts with room left (kernel busy): those events are not counted\n",
                   command, kMaps[i], static_cast<unsigned long long>(counts.busy[i]));
  }
}

}  // namespace exitprof::cli
