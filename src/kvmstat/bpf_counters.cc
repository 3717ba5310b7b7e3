// `stat -t --bpf`: kvm event counts summed in kernel maps (capture::bpf::KvmAggregator) instead
// of one perf_event counter per event and reason per CPU or thread. The rows are the ones
// OpenTracepointCounters would open for the events the aggregator attaches, named alike, so
// the two back ends print the same table.
#include <fmt/format.h>

#include <signal.h>

#include <array>
#include <cerrno>
#include <map>

#include "capture/bpf/kvm_aggregator.h"
#include "capture/tracefs.h"
#include "kvmstat/event_counters.h"

namespace exitprof::kvmstat {
namespace {

constexpr uint32_t kNoRow = ~0u;

// Which row each count of a snapshot goes to.
struct BpfPlan {
  std::vector<std::string> names;
  std::array<uint32_t, AGG_EV_COUNT> totals;  // per agg_event: the event's own row
  // Keyed by the reason number alone, as -t's ftrace filters (exit_reason == N) match them.
  std::map<uint32_t, uint32_t> exit_rows;   // reason -> kvm_exit(NAME)
  std::map<uint32_t, uint32_t> uexit_rows;                      // KVM_EXIT_* -> kvm_userspace_exit(NAME)
};

int EventIndex(const std::string& name) {
  if (name == "kvm_exit") return AGG_EV_EXIT;
  if (name == "kvm_entry") return AGG_EV_ENTRY;
  if (name == "kvm_pio") return AGG_EV_PIO;
  if (name == "kvm_mmio") return AGG_EV_MMIO;
  if (name == "kvm_userspace_exit") return AGG_EV_UEXIT;
  return -1;
}

// Rows in tracefs order, as PlanCounters in tracepoint_counters.cc lists them.
Result<BpfPlan> PlanRows(const capture::Tracefs& tracefs, const TracepointOptions& options) {
  BpfPlan plan;
  plan.totals.fill(kNoRow);
  auto wanted = [&](const std::string& name) { return !options.fields || std::regex_search(name, *options.fields); };
  for (const auto& full : tracefs.ListEvents("kvm")) {
    const std::string name = full.substr(full.find(':') + 1);
    const int event = EventIndex(name);
    if (event < 0) continue;
    if (wanted(name)) {
      plan.totals[static_cast<size_t>(event)] = static_cast<uint32_t>(plan.names.size());
      plan.names.push_back(name);
    }
    if (event != AGG_EV_EXIT && event != AGG_EV_UEXIT) continue;
    auto format = tracefs.EventFormat("kvm", name);
    if (!format) continue;
    for (const auto& reason : CountedReasons(name, *format)) {
      std::string row = fmt::format("{}({})", name, reason.name);
      if (!wanted(row)) continue;
      const auto index = static_cast<uint32_t>(plan.names.size());
      if (event == AGG_EV_EXIT) plan.exit_rows[reason.code] = index;
      else plan.uexit_rows[reason.code] = index;
      plan.names.push_back(std::move(row));
    }
  }
  if (plan.names.empty()) {
    return Fail("no kvm event counted with --bpf matches the -f filter (--bpf counts kvm_exit, kvm_entry, kvm_pio, "
                "kvm_mmio and kvm_userspace_exit; leave out --bpf for the others)",
                2);
  }
  return plan;
}

class BpfCounters : public EventCounters {
 public:
  BpfCounters(BpfPlan plan, std::unique_ptr<capture::bpf::KvmAggregator> aggregator)
      : plan_(std::move(plan)), aggregator_(std::move(aggregator)) {
    auto meta = std::make_shared<std::vector<StatMeta>>();
    for (size_t i = 0; i < plan_.names.size(); ++i) {
      StatMeta m;
      m.name = plan_.names[i];
      m.first = static_cast<uint32_t>(i);
      meta->push_back(std::move(m));
    }
    meta_ = std::move(meta);
  }
  Result<void> Read(StatTable& table) override {
    auto snapshot = aggregator_->Read();
    if (!snapshot) return tl::unexpected(snapshot.error());
    table.meta = meta_;
    table.values.assign(plan_.names.size(), 0);
    // Totals from the per-event firing counters: exact even if a keyed map filled up.
    for (size_t e = 0; e < plan_.totals.size(); ++e) {
      if (plan_.totals[e] != kNoRow) table.values[plan_.totals[e]] = snapshot->events[e];
    }
    for (const auto& c : snapshot->Exits()) {
      if (auto it = plan_.exit_rows.find(c.reason); it != plan_.exit_rows.end()) table.values[it->second] += c.count;
    }
    // A failed KVM_RUN (restart, error) has no row of its own, as with -t: only the total counts it.
    for (const auto& c : snapshot->UserspaceExits()) {
      if (auto it = plan_.uexit_rows.find(c.reason); it != plan_.uexit_rows.end()) table.values[it->second] += c.count;
    }
    return {};
  }
  std::string source() const override { return "bpf"; }

 private:
  BpfPlan plan_;
  std::unique_ptr<capture::bpf::KvmAggregator> aggregator_;
  std::shared_ptr<const std::vector<StatMeta>> meta_;
};

}  // namespace

Result<std::unique_ptr<EventCounters>> OpenBpfCounters(const TracepointOptions& options) {
  auto tracefs = capture::Tracefs::Open();
  if (!tracefs) return tl::unexpected(tracefs.error());
  if (!tracefs->HasEvent("kvm", "kvm_pio")) return Fail("no kvm tracepoints in tracefs (is the kvm module loaded?)", 1);
  auto plan = PlanRows(*tracefs, options);
  if (!plan) return tl::unexpected(plan.error());
  for (pid_t pid : options.pids) {
    // The BPF filter takes any number; -t's per-thread counters notice a missing process.
    if (::kill(pid, 0) != 0 && errno == ESRCH) return Fail(fmt::format("-p {}: no such process", pid), 2);
  }
  capture::bpf::AggregatorOptions agg;
  agg.pids = options.pids;
  agg.rips = false;     // counts only: no per-rip map and no exit->entry timing to pay for
  agg.latency = false;
  auto aggregator = capture::bpf::KvmAggregator::Open(agg);
  if (!aggregator) return tl::unexpected(aggregator.error());
  if (!(*aggregator)->exit_attached()) {
    return Fail("BPF: kvm_exit/kvm_entry could not be counted: " + (*aggregator)->exit_status(), 1);
  }
  return std::unique_ptr<EventCounters>(new BpfCounters(std::move(*plan), std::move(*aggregator)));
}

}  // namespace exitprof::kvmstat
