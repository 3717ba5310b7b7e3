#include "perfdata/parallel_scan.h"

#include <algorithm>
#include <optional>

#include "base/byte_reader.h"
#include "base/ordered_tasks.h"
#include "perfdata/abi.h"
#include "perfdata/ordered_queue.h"
#include "perfdata/record_delivery.h"
#include "perfdata/sample_parser.h"

namespace exitprof::perfdata {

namespace {

constexpr uint64_t kHeader = 8;
constexpr int kChainRecords = 16;          // headers that must chain up for a cut
constexpr uint64_t kSearchLimit = 1u << 20;  // how far past a nominal cut a boundary is looked for
constexpr uint64_t kWindow = 2u << 20;       // pages mapped ahead and dropped behind in these steps
constexpr uint64_t kMinChunk = 256u << 10, kMaxChunk = 16u << 20;
constexpr uint64_t kOrderedChunk = 16u << 20;

bool PlausibleHeader(const uint8_t* p, uint64_t left) {
  if (left < kHeader) return false;
  const uint32_t type = LoadLE<uint32_t>(p);
  const uint16_t misc = LoadLE<uint16_t>(p + 4);
  const uint16_t size = LoadLE<uint16_t>(p + 6);
  if (size < kHeader || size % 8 != 0 || size > left) return false;
  if (misc & 0x0ff8) return false;  // bits 3-11 of misc are unused by the kernel and perf
  return (type >= 1 && type < kRecordKernelMax) || (type >= kRecordHeaderAttr && type < kRecordUserMax);
}

// Records a worker hands on, counts or skips; anything else (they change the session, carry
// payloads after themselves, or need decompression) is left to the sequential reader.
enum class Handling { kDeliver, kSkip, kDamaged, kGiveUp };
Handling HandlingOf(uint32_t type) {
  if (type != 0 && type < kRecordHeaderAttr) return Handling::kDeliver;
  switch (type) {
    case kRecordHeaderAttr:
      return Handling::kDamaged;  // an ATTR after the session is ready: the reader counts it so
    case kRecordHeaderEventType:
    case kRecordHeaderTracingData:
    case kRecordAuxtrace:
    case kRecordEventUpdate:
    case kRecordHeaderFeature:
    case kRecordCompressed:
    case kRecordCompressed2:
      return Handling::kGiveUp;
    default:
      return Handling::kSkip;  // FINISHED_ROUND, ID_INDEX, maps, build ids, ...: unused
  }
}

struct ChunkResult {
  std::unique_ptr<recording::EventSink> part;
  recording::ReadStats stats;
  bool ok = false;
};

// One chunk: the records that start in [begin, end) (file order), or, for sinks that need time
// order, the rounds that end in it: from the first FINISHED_ROUND at or after `begin` (0: the
// start) through the first one at or after `end`, each round's records released in time order
// as the sequential reader releases them, and all of them at the chunk's end.
ChunkResult ReadChunk(const ScanPlan& plan, std::span<const uint8_t> data, uint64_t begin, uint64_t end,
                      const recording::EventSink& sink, const std::vector<bool>& count_only) {
  ChunkResult out;
  out.part = sink.NewPart();
  if (!out.part) return out;
  out.stats.samples_by_attr.assign(plan.attrs->size(), 0);
  SampleParser parser;  // its id cache is per thread
  parser.SetAttrs(*plan.attrs);
  RecordDelivery delivery(parser, *out.part, out.stats, count_only);
  OrderedQueue queue;
  auto deliver = [&](const QueuedRecord& q) { delivery.Deliver(q.data, q.size, q.file_offset); };
  auto valid_at = [&](uint64_t pos) {
    if (data.size() - pos < kHeader) return false;
    const uint16_t size = LoadLE<uint16_t>(data.data() + pos + 6);
    return size >= kHeader && size <= data.size() - pos;
  };
  uint64_t pos = begin;
  bool done = false;
  if (plan.ordered && begin > 0) {
    // The records before the first FINISHED_ROUND here belong to the chunk before. When that
    // round starts at or past `end`, the chunk before reads through it: nothing is left here.
    while (pos < data.size()) {
      if (!valid_at(pos)) return out;
      const uint16_t size = LoadLE<uint16_t>(data.data() + pos + 6);
      if (pos < end && pos + size > end) return out;  // `end` is not a record boundary
      const bool round = LoadLE<uint32_t>(data.data() + pos) == kRecordFinishedRound;
      done = round && pos >= end;
      pos += size;
      if (round) break;
    }
  }
  uint64_t window_begin = pos, window_end = pos, released = plan.data_offset + pos;
  while (pos < data.size() && !done) {
    if (!plan.ordered && pos >= end) break;
    if (pos >= window_end) {
      // Map the next window in one call; drop what is behind (and no longer queued), so that
      // resident memory stays a few windows per thread whatever the file size.
      const uint64_t upto = std::min(plan.data_offset + pos, queue.MinPendingFileOffset());
      if (upto > released) {
        plan.file->Release(released, upto);
        released = upto;
      }
      window_begin = pos;
      window_end = std::min<uint64_t>(data.size(), pos + kWindow);
      plan.file->Populate(plan.data_offset + window_begin, plan.data_offset + window_end);
    }
    if (!valid_at(pos)) return out;
    const uint8_t* p = data.data() + pos;
    const uint32_t type = LoadLE<uint32_t>(p);
    const uint16_t size = LoadLE<uint16_t>(p + 6);
    if (pos < end && pos + size > end) return out;  // `end` is not a record boundary
    ++out.stats.records;
    ++out.stats.records_by_type[std::min<uint32_t>(type, 127)];
    switch (HandlingOf(type)) {
      case Handling::kDeliver: {
        uint64_t time;
        if (plan.ordered && parser.Time({p, size}, time)) {
          queue.Push(QueuedRecord{time, 0, p, size, ChunkArena::kNoChunk, plan.data_offset + pos});
          if (queue.over_limit()) queue.PopCount(queue.size() / 2, deliver);
        } else {
          delivery.Deliver(p, size, plan.data_offset + pos);
        }
        break;
      }
      case Handling::kSkip:
        if (type == kRecordFinishedRound && plan.ordered) {
          queue.FinishRound(deliver);
          done = pos >= end;  // the round that ends at or after `end` is this chunk's last
        }
        break;
      case Handling::kDamaged:
        ++out.stats.damaged_records;
        break;
      case Handling::kGiveUp:
        return out;
    }
    pos += size;
  }
  queue.FlushAll(deliver);
  out.stats.out_of_order = queue.unordered();
  plan.file->Release(released, plan.data_offset + pos);
  // Unordered, the chunk must end exactly on the next one's cut; ordered, it must have passed
  // through it (checked above) unless no round closed before the data's end.
  out.ok = plan.ordered ? pos >= end || pos == data.size() : pos == end;
  return out;
}

uint64_t DefaultChunkBytes(uint64_t size, unsigned threads, bool ordered) {
  // Time-ordered reads cut the same chunks whatever the threads: each chunk's rounds are
  // flushed at its end, and that must not depend on -j.
  if (ordered) return kOrderedChunk;
  // Several chunks per thread, so that a thread slowed by other work on the machine takes fewer.
  return std::clamp<uint64_t>(size / (uint64_t{threads} * 8), kMinChunk, kMaxChunk);
}

}  // namespace

uint64_t FindRecordBoundary(std::span<const uint8_t> data, uint64_t from, uint64_t limit) {
  from = (from + 7) / 8 * 8;
  const uint64_t stop = std::min<uint64_t>(data.size(), from + limit);
  for (uint64_t pos = from; pos < stop; pos += 8) {
    uint64_t q = pos;
    int chained = 0;
    while (chained < kChainRecords && q < data.size() && PlausibleHeader(data.data() + q, data.size() - q)) {
      q += LoadLE<uint16_t>(data.data() + q + 6);
      ++chained;
    }
    if (chained == kChainRecords || (chained > 0 && q == data.size())) return pos;
  }
  return UINT64_MAX;
}

bool ScanInParallel(const ScanPlan& plan, recording::EventSink& sink, const std::vector<bool>& count_only, recording::ReadStats& stats) {
  if (plan.threads < 1 || !plan.file || !plan.attrs || plan.data_size == 0) return false;
  const auto bytes = plan.file->bytes();
  if (plan.data_offset > bytes.size() || plan.data_size > bytes.size() - plan.data_offset) return false;
  const std::span<const uint8_t> data = bytes.subspan(plan.data_offset, plan.data_size);
  const uint64_t chunk = plan.chunk_bytes ? plan.chunk_bytes : DefaultChunkBytes(data.size(), plan.threads, plan.ordered);
  const size_t chunks = static_cast<size_t>((data.size() + chunk - 1) / chunk);
  if (chunks < 2) return false;
  std::unique_ptr<recording::EventSink> merged = sink.NewPart();
  if (!merged) return false;
  recording::ReadStats merged_stats;
  merged_stats.samples_by_attr.assign(plan.attrs->size(), 0);

  auto cut = [&](size_t j) -> uint64_t {
    if (j == 0) return 0;
    if (j >= chunks) return data.size();
    return FindRecordBoundary(data, j * chunk, std::min(chunk, kSearchLimit));
  };
  std::vector<std::optional<ChunkResult>> done(chunks);
  auto run = [&](size_t j) {
    const uint64_t begin = cut(j), end = cut(j + 1);
    if (begin == UINT64_MAX || end == UINT64_MAX || begin >= end) return false;
    done[j] = ReadChunk(plan, data, begin, end, sink, count_only);
    return done[j]->ok;
  };
  auto merge = [&](size_t j) {
    merged->MergePart(*done[j]->part);
    merged_stats.Merge(done[j]->stats);
    done[j].reset();
    if (plan.progress) plan.progress(std::min<uint64_t>((j + 1) * chunk, data.size()), data.size());
  };
  if (!RunTasksInOrder(chunks, plan.threads, size_t{plan.threads} * 2, run, merge)) return false;
  sink.MergePart(*merged);
  stats.Merge(merged_stats);
  stats.parallel_chunks = chunks;
  return true;
}

}  // namespace exitprof::perfdata
