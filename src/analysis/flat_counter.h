// Counts occurrences of 128-bit keys in an open-addressing table: the hot path of report
// (one increment per exit) without std::unordered_map's node allocation and pointer chasing.
// Memory grows with distinct keys only.
#pragma once

#include <cstdint>
#include <vector>

namespace exitprof::analysis {

class FlatCounter {
 public:
  struct Entry {
    uint64_t a = 0, b = 0;
    uint64_t count = 0;  // 0 = empty slot
  };

  FlatCounter() : slots_(64) {}

  void Add(uint64_t a, uint64_t b, uint64_t n = 1) {
    // Records come in runs (a vCPU thread stays on a CPU, a guest loop exits at one RIP): the
    // last key's slot is tried before hashing.
    Entry& last = slots_[last_];
    if (last.count != 0 && last.a == a && last.b == b) {
      last.count += n;
      return;
    }
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
    Entry* e = Find(slots_, a, b);
    if (e->count == 0) {
      e->a = a;
      e->b = b;
      ++size_;
    }
    e->count += n;
    last_ = static_cast<size_t>(e - slots_.data());
  }

  size_t size() const { return size_; }

  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& e : slots_) {
      if (e.count) fn(e.a, e.b, e.count);
    }
  }

 private:
  static uint64_t Hash(uint64_t a, uint64_t b) {
    uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL + (a << 6) + (a >> 2));
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 29);
  }
  static Entry* Find(std::vector<Entry>& slots, uint64_t a, uint64_t b) {
    const size_t mask = slots.size() - 1;
    size_t i = Hash(a, b) & mask;
    while (slots[i].count != 0 && (slots[i].a != a || slots[i].b != b)) i = (i + 1) & mask;
    return &slots[i];
  }
  void Grow() {
    std::vector<Entry> bigger(slots_.size() * 2);
    for (const auto& e : slots_) {
      if (e.count) *Find(bigger, e.a, e.b) = e;
    }
    slots_.swap(bigger);
    last_ = 0;
  }

  std::vector<Entry> slots_;  // size is a power of two
  size_t size_ = 0;
  size_t last_ = 0;  // the slot of the last key added
};

}  // namespace exitprof::analysis
