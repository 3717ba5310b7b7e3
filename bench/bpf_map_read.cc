// Google Benchmark: reading a full BPF hash map the two ways a tool can, side by side in one
// run: batch lookups (what exitprof does) against get_next_key + lookup per key (what tools
// without batch support, bcc's kvmexit among them, do; exitprof's fallback). Per-CPU maps
// carry one value per possible CPU, so the per-key syscalls are what grows with big hosts.
// Needs root (BPF maps); --benchmark_min_time=0.01 for a quick functional run.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <vector>

#include "capture/bpf/kvm_agg.h"
#include "capture/bpf/map_reader.h"

namespace {

using namespace exitprof::capture::bpf;

// A map shaped as exitprof's port map, filled with `entries` distinct keys.
struct FilledMap {
  int fd = -1;
  bool percpu = false;
  FilledMap(uint32_t entries, bool per_cpu) : percpu(per_cpu) {
    fd = bpf_map_create(per_cpu ? BPF_MAP_TYPE_PERCPU_HASH : BPF_MAP_TYPE_HASH, "bench", sizeof(agg_pio_key),
                        sizeof(uint64_t), entries, nullptr);
    if (fd < 0) return;
    std::vector<uint64_t> value(per_cpu ? libbpf_num_possible_cpus() : 1, 1);
    for (uint32_t i = 0; i < entries; ++i) {
      agg_pio_key k{1000 + i / 64, 2000 + i / 64, static_cast<uint16_t>(i % 64), 1, 1, 0};
      bpf_map_update_elem(fd, &k, value.data(), BPF_ANY);
    }
  }
  ~FilledMap() {
    if (fd >= 0) ::close(fd);
  }
};

void Read(benchmark::State& state, bool batch) {
  const uint32_t entries = static_cast<uint32_t>(state.range(0));
  const bool percpu = state.range(1) != 0;
  FilledMap map(entries, percpu);
  if (map.fd < 0) {
    state.SkipWithError("cannot create a BPF map (needs root or CAP_BPF)");
    return;
  }
  MapShape shape{map.fd, "bench", sizeof(agg_pio_key), sizeof(uint64_t), percpu};
  size_t got = 0;
  for (auto _ : state) {
    bool use_batch = batch;
    auto table = ReadTable(shape, SumWords, use_batch);
    if (!table) {
      state.SkipWithError(table.error().message.c_str());
      return;
    }
    got = table->size();
    benchmark::DoNotOptimize(got);
  }
  if (got != entries) state.SkipWithError("read a different number of keys than were written");
  state.counters["keys"] = static_cast<double>(got);
  state.counters["cpus"] = libbpf_num_possible_cpus();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * entries);
}

void BM_BatchLookup(benchmark::State& state) { Read(state, true); }
void BM_KeyByKey(benchmark::State& state) { Read(state, false); }

BENCHMARK(BM_BatchLookup)->ArgsProduct({{1024, 8192}, {0, 1}})->ArgNames({"keys", "percpu"})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_KeyByKey)->ArgsProduct({{1024, 8192}, {0, 1}})->ArgNames({"keys", "percpu"})->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
