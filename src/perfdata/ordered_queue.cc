#include "perfdata/ordered_queue.h"

#include <algorithm>
#include <cstring>

namespace exitprof::perfdata {

namespace {
constexpr size_t kChunkSize = 4u << 20;

// Min-heap order on (time, seq): std::push_heap builds a max-heap, so invert. A functor (not
// a function pointer) so that the heap operations inline it.
struct Later {
  bool operator()(const QueuedRecord& a, const QueuedRecord& b) const {
    return a.time != b.time ? a.time > b.time : a.seq > b.seq;
  }
};
}  // namespace

uint8_t* ChunkArena::Allocate(size_t n, int64_t& chunk_id) {
  if (chunks_.empty() || chunks_.back().capacity - chunks_.back().used < n) {
    Chunk c;
    c.capacity = std::max(kChunkSize, n);
    c.data = std::make_unique<uint8_t[]>(c.capacity);
    chunks_.push_back(std::move(c));
    FreeFront();
  }
  Chunk& c = chunks_.back();
  uint8_t* p = c.data.get() + c.used;
  c.used += n;
  chunk_id = first_id_ + static_cast<int64_t>(chunks_.size()) - 1;
  return p;
}

void ChunkArena::Release(int64_t chunk_id) {
  Chunk& c = At(chunk_id);
  if (c.pending > 0) --c.pending;
  FreeFront();
}

void ChunkArena::FreeFront() {
  // The newest chunk stays: it is still being filled.
  while (chunks_.size() > 1 && chunks_.front().pending == 0) {
    chunks_.pop_front();
    ++first_id_;
  }
}

size_t ChunkArena::bytes_held() const {
  size_t total = 0;
  for (const auto& c : chunks_) total += c.capacity;
  return total;
}

void OrderedQueue::Push(const QueuedRecord& r) {
  QueuedRecord q = r;
  q.seq = seq_++;
  if (q.time < last_popped_) ++unordered_;
  if (q.time > max_time_) max_time_ = q.time;
  heap_.push_back(q);
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

QueuedRecord OrderedQueue::PopFront() {
  std::pop_heap(heap_.begin(), heap_.end(), Later{});
  QueuedRecord r = heap_.back();
  heap_.pop_back();
  last_popped_ = r.time;
  return r;
}

uint64_t OrderedQueue::MinPendingFileOffset() const {
  uint64_t min = UINT64_MAX;
  for (const auto& r : heap_) {
    if (r.chunk < 0 && r.file_offset < min) min = r.file_offset;
  }
  return min;
}

}  // namespace exitprof::perfdata
