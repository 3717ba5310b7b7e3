// Puts records back in time order across CPUs the way perf does: records are queued as read,
// and each FINISHED_ROUND releases everything up to the previous round's newest timestamp.
// Equal timestamps keep file order. Records live in the file mapping or in arena chunks
// (pipe input, decompressed data); a chunk is freed once none of its records is pending.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

namespace exitprof::perfdata {

class ChunkArena {
 public:
  static constexpr int64_t kNoChunk = -1;
  // Copies n bytes into the current chunk; returns where they are and the chunk's id.
  uint8_t* Allocate(size_t n, int64_t& chunk_id);
  void AddRef(int64_t chunk_id) { ++At(chunk_id).pending; }
  void Release(int64_t chunk_id);
  size_t bytes_held() const;

 private:
  struct Chunk {
    std::unique_ptr<uint8_t[]> data;
    size_t capacity = 0, used = 0;
    uint64_t pending = 0;
  };
  Chunk& At(int64_t id) { return chunks_[static_cast<size_t>(id - first_id_)]; }
  void FreeFront();
  std::deque<Chunk> chunks_;
  int64_t first_id_ = 0;
};

struct QueuedRecord {
  uint64_t time;
  uint64_t seq;
  const uint8_t* data;
  uint32_t size;
  int64_t chunk;
  uint64_t file_offset;
};

class OrderedQueue {
 public:
  // Bound on queued records: past it the older half is released (as perf does when its
  // queue outgrows its memory budget), so memory stays bounded on files without rounds.
  explicit OrderedQueue(size_t max_records = 1u << 18) : max_records_(max_records) {}

  void Push(const QueuedRecord& r);
  bool over_limit() const { return heap_.size() >= max_records_; }
  // Pops records in order while their time <= limit.
  template <typename Fn>
  void PopUpTo(uint64_t limit, Fn&& fn) {
    while (!heap_.empty() && heap_.front().time <= limit) fn(PopFront());
  }
  template <typename Fn>
  void PopCount(size_t n, Fn&& fn) {
    while (!heap_.empty() && n-- > 0) fn(PopFront());
  }
  // A round ended: release up to the previous round's maximum.
  template <typename Fn>
  void FinishRound(Fn&& fn) {
    PopUpTo(next_flush_, fn);
    next_flush_ = max_time_;
  }
  template <typename Fn>
  void FlushAll(Fn&& fn) {
    PopUpTo(UINT64_MAX, fn);
  }
  size_t size() const { return heap_.size(); }
  uint64_t last_flushed_time() const { return last_popped_; }
  uint64_t unordered() const { return unordered_; }
  // The smallest file offset among pending mapped records (UINT64_MAX when none).
  uint64_t MinPendingFileOffset() const;

 private:
  QueuedRecord PopFront();
  std::vector<QueuedRecord> heap_;
  size_t max_records_;
  uint64_t next_flush_ = 0;
  uint64_t max_time_ = 0;
  uint64_t last_popped_ = 0;
  uint64_t unordered_ = 0;
  uint64_t seq_ = 0;
};

}  // namespace exitprof::perfdata
