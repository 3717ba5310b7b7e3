#include "capture/bpf/map_reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

namespace exitprof::capture::bpf {

namespace {

uint32_t Cpus() {
  int n = libbpf_num_possible_cpus();
  return n > 0 ? static_cast<uint32_t>(n) : 1;
}

// Value bytes as the kernel copies them: per-CPU values are 8-byte aligned, one per CPU.
size_t ValueStride(const MapShape& map) { return (map.value_size + 7) / 8 * 8; }

void Fold(const MapShape& map, const uint8_t* value, const Combiner& combine, std::vector<uint64_t>& acc) {
  const size_t stride = ValueStride(map), words = stride / 8;
  const uint32_t cpus = map.percpu ? Cpus() : 1;
  acc.assign(words, 0);
  std::vector<uint64_t> one(words);
  for (uint32_t c = 0; c < cpus; ++c) {
    std::memcpy(one.data(), value + c * stride, stride);
    combine(acc, one, c == 0);
  }
}

Result<RawTable> ReadByKeys(const MapShape& map, const Combiner& combine) {
  RawTable out;
  std::vector<uint8_t> key(map.key_size), next(map.key_size);
  std::vector<uint8_t> value(ValueStride(map) * (map.percpu ? Cpus() : 1));
  const void* prev = nullptr;
  while (bpf_map_get_next_key(map.fd, prev, next.data()) == 0) {
    key = next;
    prev = key.data();
    if (bpf_map_lookup_elem(map.fd, key.data(), value.data()) != 0) continue;  // deleted meanwhile
    Fold(map, value.data(), combine, out[std::string(key.begin(), key.end())]);
  }
  if (errno != ENOENT) return Fail(std::string("reading BPF map ") + map.name + ": " + std::strerror(errno), 1);
  return out;
}

}  // namespace

void SumWords(std::vector<uint64_t>& acc, std::span<const uint64_t> cpu, bool) {
  for (size_t i = 0; i < acc.size() && i < cpu.size(); ++i) acc[i] += cpu[i];
}

Result<RawTable> ReadTable(const MapShape& map, const Combiner& combine, bool& use_batch) {
  if (!use_batch) return ReadByKeys(map, combine);
  RawTable out;
  const size_t value_bytes = ValueStride(map) * (map.percpu ? Cpus() : 1);
  uint32_t chunk = 256;
  std::vector<uint8_t> keys, values;
  // The batch token is opaque (a bucket index for hash maps): room for either form.
  std::vector<uint8_t> in_batch(map.key_size + 8), out_batch(map.key_size + 8);
  bool first = true;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  for (;;) {
    keys.resize(size_t{chunk} * map.key_size);
    values.resize(size_t{chunk} * value_bytes);
    uint32_t n = chunk;
    int err = bpf_map_lookup_batch(map.fd, first ? nullptr : in_batch.data(), out_batch.data(), keys.data(),
                                   values.data(), &n, &opts);
    const int e = err ? errno : 0;
    if (err && e == ENOSPC && n == 0 && chunk < (1u << 20)) {  // one bucket holds more than a chunk
      chunk *= 2;
      continue;
    }
    if (err && e != ENOENT) {
      if (first && (e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP || e == 524 /* ENOTSUPP */)) {
        use_batch = false;  // an older kernel: iterate key by key instead
        return ReadByKeys(map, combine);
      }
      return Fail(std::string("reading BPF map ") + map.name + " in batches: " + std::strerror(e), 1);
    }
    for (uint32_t i = 0; i < n; ++i) {
      const uint8_t* k = keys.data() + size_t{i} * map.key_size;
      Fold(map, values.data() + size_t{i} * value_bytes, combine, out[std::string(k, k + map.key_size)]);
    }
    if (err) break;  // ENOENT: that was the last batch
    in_batch = out_batch;
    first = false;
  }
  return out;
}

Result<std::vector<uint64_t>> ReadPercpuCounters(int fd, uint32_t entries) {
  const uint32_t cpus = Cpus();
  std::vector<uint64_t> out(entries, 0), per_cpu(cpus);
  for (uint32_t i = 0; i < entries; ++i) {
    if (bpf_map_lookup_elem(fd, &i, per_cpu.data()) != 0)
      return Fail(std::string("reading a BPF counter: ") + std::strerror(errno), 1);
    for (uint64_t v : per_cpu) out[i] += v;
  }
  return out;
}

}  // namespace exitprof::capture::bpf
