// exitprof-stat-bench: Google Benchmark of one `exitprof stat` refresh over the VMs running now
// (bench/stat_refresh.sh starts 50 built-in guests x 4 vCPUs first):
//
//   StatsFdRefresh     StatSampler::Refresh(): one pread per borrowed stats fd (VM + vCPUs)
//   RescanAndRefresh   what every interval does: the /proc scan for new VMs, then the refresh
//   RefreshAndRender   refresh + deltas + the summary table, as `stat -l`/`-1` print it
//   TracepointRead     kvm_stat -t's method: one counter per kvm event and exit reason per
//                      CPU, one group read per CPU (our C++ of it, so no Python in the figure)
//   TracepointReadBpfRows  the same, only the rows --bpf gives (kvm_exit, kvm_entry, kvm_pio,
//                      kvm_mmio, kvm_userspace_exit and their reasons)
//   BpfRead            `stat -t --bpf`: one read of the BPF aggregator's maps into those rows
//   ...Pids            the same with -p for every running VM: -t reads one group per thread,
//                      --bpf still one set of maps (filtered in the kernel by pid)
//
// Report CPU time (the cpu column): that is what a refresh costs the host.
#include <benchmark/benchmark.h>

#include <chrono>
#include <thread>

#include "render/stat_render.h"
#include "kvmstat/event_counters.h"
#include "kvmstat/stat_sampler.h"
#include "kvmstat/vm_discovery.h"

namespace {

using namespace exitprof;

kvmstat::StatSampler& Sampler() {
  static kvmstat::StatSampler* sampler = [] {
    // Stats fds only: asking other people's QEMUs over QMP would hold their monitor sockets
    // (one client at a time) and kick their vCPUs on every iteration.
    kvmstat::SamplerOptions options;
    options.source = kvmstat::SourceChoice::kStatsFd;
    auto* s = new kvmstat::StatSampler(options);
    s->Rescan();
    // VMs first seen under 2 s ago are looked at again on each rescan (they may still be
    // creating vCPUs); measure the steady state.
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    return s;
  }();
  return *sampler;
}

void Counters(benchmark::State& state, const std::vector<kvmstat::VmSnapshot>& vms) {
  size_t vcpus = 0;
  for (const auto& vm : vms) vcpus += vm.vcpus.size();
  state.counters["vms"] = static_cast<double>(vms.size());
  state.counters["vcpus"] = static_cast<double>(vcpus);
}

void StatsFdRefresh(benchmark::State& state) {
  auto& sampler = Sampler();
  std::vector<kvmstat::VmSnapshot> vms;
  for (auto _ : state) {
    vms = sampler.Refresh();
    benchmark::DoNotOptimize(vms.data());
  }
  Counters(state, vms);
}
BENCHMARK(StatsFdRefresh)->Unit(benchmark::kMicrosecond);

void RescanAndRefresh(benchmark::State& state) {
  auto& sampler = Sampler();
  std::vector<kvmstat::VmSnapshot> vms;
  for (auto _ : state) {
    sampler.Rescan();
    vms = sampler.Refresh();
    benchmark::DoNotOptimize(vms.data());
  }
  Counters(state, vms);
}
BENCHMARK(RescanAndRefresh)->Unit(benchmark::kMicrosecond);

void RefreshAndRender(benchmark::State& state) {
  auto& sampler = Sampler();
  analysis::StatHistory history(false);
  analysis::StatViewOptions options;
  history.Push(sampler.Refresh());
  std::vector<kvmstat::VmSnapshot> vms;
  for (auto _ : state) {
    vms = sampler.Refresh();
    history.Push(vms);
    std::string text = render::RenderStatTable(vms, history, options, 1.0);
    benchmark::DoNotOptimize(text.data());
  }
  Counters(state, vms);
}
BENCHMARK(RefreshAndRender)->Unit(benchmark::kMicrosecond);

// One Read() of the counters per iteration: the cost of a refresh's counting alone.
void ReadLoop(benchmark::State& state, exitprof::Result<std::unique_ptr<kvmstat::EventCounters>> counters) {
  if (!counters) {
    state.SkipWithError(counters.error().message.c_str());
    return;
  }
  kvmstat::StatTable table;
  for (auto _ : state) {
    auto r = (*counters)->Read(table);
    benchmark::DoNotOptimize(table.values.data());
  }
  state.counters["counters"] = static_cast<double>(table.values.size());
}

void TracepointRead(benchmark::State& state) { ReadLoop(state, kvmstat::OpenTracepointCounters({})); }
BENCHMARK(TracepointRead)->Unit(benchmark::kMicrosecond);

const char* const kBpfRows = "^kvm_(exit|entry|pio|mmio|userspace_exit)";

void TracepointReadBpfRows(benchmark::State& state) {
  kvmstat::TracepointOptions options;
  options.fields.emplace(kBpfRows);
  ReadLoop(state, kvmstat::OpenTracepointCounters(options));
}
BENCHMARK(TracepointReadBpfRows)->Unit(benchmark::kMicrosecond);

void BpfRead(benchmark::State& state) {
  kvmstat::TracepointOptions options;
  options.fields.emplace(kBpfRows);
  ReadLoop(state, kvmstat::OpenBpfCounters(options));
}
BENCHMARK(BpfRead)->Unit(benchmark::kMicrosecond);

kvmstat::TracepointOptions AllVmPids() {
  kvmstat::TracepointOptions options;
  options.fields.emplace(kBpfRows);
  for (const auto& vm : kvmstat::DiscoverVms().vms) {
    if (options.pids.empty() || options.pids.back() != vm.pid) options.pids.push_back(vm.pid);
  }
  return options;
}
void TracepointReadBpfRowsPids(benchmark::State& state) {
  auto options = AllVmPids();
  state.counters["pids"] = static_cast<double>(options.pids.size());
  ReadLoop(state, kvmstat::OpenTracepointCounters(options));
}
BENCHMARK(TracepointReadBpfRowsPids)->Unit(benchmark::kMicrosecond);
void BpfReadPids(benchmark::State& state) {
  auto options = AllVmPids();
  state.counters["pids"] = static_cast<double>(options.pids.size());
  ReadLoop(state, kvmstat::OpenBpfCounters(options));
}
BENCHMARK(BpfReadPids)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
