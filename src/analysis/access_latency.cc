#include "analysis/access_latency.h"

#include <fmt/format.h>

namespace exitprof::analysis {

namespace {
uint64_t Since(uint64_t start, uint64_t now) { return now >= start ? now - start : 0; }
}  // namespace

uint32_t AccessLatency::KeyId(std::map<std::string, uint32_t>& keys, std::string text) {
  auto [it, added] = keys.try_emplace(std::move(text), static_cast<uint32_t>(keys.size()));
  return it->second;
}

AccessLatency::ThreadState* AccessLatency::Tracked(uint32_t tid) {
  auto it = threads_.find(tid);
  return it == threads_.end() ? nullptr : &it->second;
}

void AccessLatency::OnEntry(uint32_t tid, uint64_t time) {
  ThreadState& t = threads_[tid];  // from here on the thread is tracked
  if (t.io_start && t.io_key != kNone) io_.Add(t.io_key, Since(t.io_start, time));
  if (t.io_start) t = ThreadState{0, t.mmio_start, kNone, t.mmio_key};
  // perf keeps an MMIO start that found no key (an exit without MMIO) until the next exit.
  if (t.mmio_start && t.mmio_key != kNone) {
    mmio_.Add(t.mmio_key, Since(t.mmio_start, time));
    t.mmio_start = 0;
    t.mmio_key = kNone;
  }
}

void AccessLatency::OnExit(uint32_t tid, uint64_t time) {
  if (ThreadState* t = Tracked(tid)) {
    t->mmio_start = time;  // a read may follow; its key comes with kvm_mmio(read)
    t->mmio_key = kNone;
  }
}

void AccessLatency::OnPio(uint32_t tid, uint64_t time, uint16_t port, bool write) {
  ThreadState* t = Tracked(tid);
  if (!t) return;
  const uint64_t packed = uint64_t{port} << 1 | write;
  auto it = io_ids_.find(packed);
  if (it == io_ids_.end()) {
    it = io_ids_.emplace(packed, KeyId(io_keys_, fmt::format("{:#x}:{}", port, write ? "POUT" : "PIN"))).first;
  }
  t->io_start = time;
  t->io_key = it->second;
}

void AccessLatency::OnMmio(uint32_t tid, uint64_t time, uint64_t gpa, uint32_t type) {
  ThreadState* t = Tracked(tid);
  if (!t || (type != 1 && type != 2)) return;
  const uint64_t packed = gpa << 1 | (type == 2);
  auto it = mmio_ids_.find(packed);
  if (it == mmio_ids_.end()) {
    it = mmio_ids_.emplace(packed, KeyId(mmio_keys_, fmt::format("{:#x}:{}", gpa, type == 2 ? "W" : "R"))).first;
  }
  if (type == 2) {  // a write begins
    t->mmio_start = time;
    t->mmio_key = it->second;
    return;
  }
  if (!t->mmio_start) return;  // a read ends what its exit began
  mmio_.Add(t->mmio_key != kNone ? t->mmio_key : it->second, Since(t->mmio_start, time));
  t->mmio_start = 0;
  t->mmio_key = kNone;
}

std::vector<AccessLatency::Row> AccessLatency::Rows(const DurationStats& stats, const std::map<std::string, uint32_t>& keys) {
  std::vector<Row> rows;
  for (const auto& [text, id] : keys) {
    LatencySummary s = stats.Summarize(id);
    if (s.count) rows.push_back({text, s});
  }
  return rows;
}

}  // namespace exitprof::analysis
