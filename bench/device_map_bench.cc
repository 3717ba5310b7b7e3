// exitprof-device-map-bench: Google Benchmark of device attribution, the part of `report`
// that runs once per distinct port or MMIO address (never per exit), on the device map kept
// by `exitprof record` of tests/devices/guest.S under QEMU 7.2:
//   Attribute/io:1    a port through the PCI BARs and the IO flat view
//   Attribute/io:0    a guest-physical address through the BARs and the memory flat view
//   LoadSideFile      reading and checking FILE.devices.json (once per report)
//   exitprof-device-map-bench [google benchmark flags]
#include <benchmark/benchmark.h>

#include <cstdio>

#include "qemu/device_map.h"

namespace {

const char* kMap = EXITPROF_DEVICE_MAP_FILE;

void BM_Attribute(benchmark::State& state) {
  auto h = exitprof::qemu::LoadDeviceMapFile(kMap);
  if (!h) {
    state.SkipWithError(h.error().message.c_str());
    return;
  }
  const bool io = state.range(0) != 0;
  // Addresses spread over devices, fixed regions and holes, as a busy guest touches them.
  const uint64_t io_addrs[] = {0xc010, 0xc110, 0x3f8, 0x70, 0xcf8, 0xcfc, 0x510, 0xd000};
  const uint64_t mem_addrs[] = {0xe0007000, 0xe0017004, 0xfed000f0, 0xfec00010, 0xfee000b0, 0xe0004014, 0xd0000000, 0x1000};
  const uint64_t* addrs = io ? io_addrs : mem_addrs;
  size_t i = 0, named = 0;
  for (auto _ : state) {
    auto a = h->Attribute(addrs[i++ & 7], io);
    named += a.attributed();
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["named"] = static_cast<double>(named) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Attribute)->ArgName("io")->Arg(1)->Arg(0);

void BM_LoadSideFile(benchmark::State& state) {
  for (auto _ : state) {
    auto h = exitprof::qemu::LoadDeviceMapFile(kMap);
    if (!h) {
      state.SkipWithError(h.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(h->snapshots.size());
  }
}
BENCHMARK(BM_LoadSideFile)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
