// Reads a whole BPF hash map into a RawTable with batch lookups (one syscall per chunk, so
// reading scales with CPUs and keys), falling back to get_next_key + lookup on kernels
// without batch support. Per-CPU values are folded over the CPUs by a combiner.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "base/result.h"
#include "capture/bpf/kvm_aggregator.h"

namespace exitprof::capture::bpf {

// Folds one CPU's value words into the accumulated ones (first CPU: acc starts all zero).
using Combiner = std::function<void(std::vector<uint64_t>& acc, std::span<const uint64_t> cpu, bool first)>;
void SumWords(std::vector<uint64_t>& acc, std::span<const uint64_t> cpu, bool first);

struct MapShape {
  int fd = -1;
  const char* name = "";
  uint32_t key_size = 0, value_size = 0;
  bool percpu = false;
};

// use_batch: in/out; set to false when the kernel refuses batch lookups (then and after).
Result<RawTable> ReadTable(const MapShape& map, const Combiner& combine, bool& use_batch);

// A per-CPU array of u64 counters, each summed over the CPUs.
Result<std::vector<uint64_t>> ReadPercpuCounters(int fd, uint32_t entries);

}  // namespace exitprof::capture::bpf
