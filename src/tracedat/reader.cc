#include "tracedat/reader.h"


#include <algorithm>
#include <charconv>
#include <cstring>

#include "base/byte_reader.h"
#include "base/ordered_tasks.h"
#include "perfdata/abi.h"
#include "trace/tracing_data.h"

namespace exitprof::tracedat {

namespace {

constexpr uint32_t kCommitMask = (1u << 27) - 1;  // the rest of the commit word are flags

// "name: kvm_exit" / "ID: 1234" lines of a format file.
bool FormatNameAndId(const std::string& text, std::string& name, uint32_t& id) {
  auto line_value = [&](std::string_view key) -> std::string_view {
    size_t at = 0;
    while (at < text.size()) {
      size_t end = text.find('\n', at);
      if (end == std::string::npos) end = text.size();
      std::string_view line(text.data() + at, end - at);
      if (line.substr(0, key.size()) == key) {
        line.remove_prefix(key.size());
        while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        return line;
      }
      at = end + 1;
    }
    return {};
  };
  std::string_view n = line_value("name:"), i = line_value("ID:");
  if (n.empty() || i.empty()) return false;
  auto r = std::from_chars(i.data(), i.data() + i.size(), id);
  if (r.ec != std::errc() || id > 0xffff) return false;
  name = std::string(n);
  return true;
}

// The size of `commit` in header_page: the recording kernel's long.
uint32_t CommitSize(const std::string& header_page) {
  auto at = header_page.find("commit;");
  if (at == std::string::npos) return 8;
  auto size = header_page.find("size:", at);
  if (size == std::string::npos) return 8;
  return header_page.compare(size + 5, 1, "4") == 0 ? 4 : 8;
}

uint64_t MulShift(uint64_t ts, uint32_t mult, uint32_t shift) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(ts) * mult) >> shift);
}

bool IsCounterClock(const std::string& clock) { return clock == "x86-tsc" || clock == "counter"; }

// Marks the common_type of every event in these pages. A light walk over the record headers
// (type_len in the low 5 bits: 0 = length word follows, 1..28 = words of data, 29 = padding,
// 30 = time extend, 31 = absolute time): no timestamps, no decoding; anything that does not
// fit its page ends that page, as the full read will also find.
void MarkEventTypes(std::span<const uint8_t> pages, uint32_t page, uint32_t data_start, uint32_t commit_size,
                    std::vector<bool>& present) {
  for (size_t off = 0; off + data_start <= pages.size(); off += page) {
    const uint8_t* p = pages.data() + off;
    const size_t avail = std::min<size_t>(page, pages.size() - off);
    uint64_t commit = 0;
    std::memcpy(&commit, p + 8, commit_size);
    const uint64_t end = data_start + (commit & kCommitMask);
    if (end > avail) continue;
    uint64_t pos = data_start;
    while (pos + 4 <= end) {
      uint32_t h;
      std::memcpy(&h, p + pos, 4);
      const uint32_t type_len = h & 31;
      uint64_t data = pos + 4, next;
      if (type_len >= 30) {
        next = pos + 8;
        data = next;  // a timestamp, not an event
      } else if (type_len == 0 || type_len == 29) {
        if (pos + 8 > end) break;
        uint32_t len;
        std::memcpy(&len, p + pos + 4, 4);
        if (type_len == 29 && (h >> 5) == 0) break;  // the rest of the page is padding
        if (len < 4) break;
        data = pos + 8;
        next = pos + 4 + len;
        if (type_len == 29) data = next;  // a discarded event: not counted
      } else {
        next = pos + 4 + type_len * 4u;
      }
      if (next > end) break;
      if (data + 2 <= next) present[static_cast<uint16_t>(p[data] | (p[data + 1] << 8))] = true;
      pos = next;
    }
  }
}

}  // namespace

// One CPU of one buffer: its pages and where the reading stands in them.
struct Stream {
  std::vector<uint8_t> inflated;   // the pages, when the buffer is compressed
  std::span<const uint8_t> pages;  // all pages of this CPU
  size_t next_page = 0;
  uint32_t cpu = 0;
  uint32_t buffer = 0;             // index into file().buffers
  const uint8_t* page = nullptr;   // the page being read
  uint64_t pos = 0, end = 0;       // the next record and the end of the page's data
  uint64_t ts = 0;                 // the running timestamp (page timestamp plus deltas)
  const uint8_t* event = nullptr;  // the current event's payload, null when drained
  uint32_t size = 0;
  int64_t missed = 0;              // events dropped before the current page (-1 = count unknown)
  uint64_t dropped_pages = 0;      // pages whose header claimed more data than a page holds
};

Reader::~Reader() = default;

Result<std::unique_ptr<Reader>> Reader::Open(const std::string& path) {
  auto mapped = MappedFile::Open(path);
  if (!mapped) return tl::unexpected(mapped.error());
  std::unique_ptr<Reader> r(new Reader());
  r->mapping_.emplace(std::move(*mapped));
  auto ok = r->Init(r->mapping_->bytes(), path);
  if (!ok) return tl::unexpected(ok.error());
  return r;
}

Result<std::unique_ptr<Reader>> Reader::FromBytes(std::span<const uint8_t> bytes, const std::string& name) {
  std::unique_ptr<Reader> r(new Reader());
  auto ok = r->Init(bytes, name);
  if (!ok) return tl::unexpected(ok.error());
  return r;
}

Result<void> Reader::Init(std::span<const uint8_t> bytes, const std::string& name) {
  bytes_ = bytes;
  auto parsed = ParseTraceDat(bytes, name);
  if (!parsed) return tl::unexpected(parsed.error());
  file_ = std::move(*parsed);
  std::stable_sort(file_.buffers.begin(), file_.buffers.end(),
                   [](const Buffer& a, const Buffer& b) { return a.name.empty() && !b.name.empty(); });
  commit_size_ = CommitSize(file_.meta.header_page);

  info_.path = name;
  info_.file_size = bytes.size();
  info_.perf_version = "trace-cmd " + (file_.tracer_version.empty() ? std::string() : file_.tracer_version + " ") +
                       "(trace.dat v" + std::to_string(file_.version) +
                       (file_.compression == "none" ? std::string() : ", " + file_.compression) + ")";
  info_.os_release = file_.uname;
  info_.nr_cpus_available = info_.nr_cpus_online = file_.cpu_count;
  // Without kallsyms: parsing megabytes of them into libtraceevent costs more than reading
  // the events, and only printing needs them (TraceCmdPrinter loads file().meta.kallsyms).
  std::string kallsyms = std::move(file_.meta.kallsyms);  // moved aside, not copied (megabytes)
  info_.tracing_data = trace::EncodeTracingData(file_.meta);
  file_.meta.kallsyms = std::move(kallsyms);
  auto opened = OpenStreams();
  if (!opened) return opened;
  // Files carry the formats of whole systems (hundreds of events, most never fired): one
  // pass over the event headers finds the events present, and only those become attrs.
  std::vector<bool> present(0x10000, false);
  for (const auto& st : streams_) MarkEventTypes(st->pages, file_.page_size, 8 + commit_size_, commit_size_, present);
  attr_by_id_.assign(0x10000, -1);
  for (const auto& f : file_.meta.formats) {
    std::string event;
    uint32_t id = 0;
    if (!FormatNameAndId(f.text, event, id) || attr_by_id_[id] >= 0) continue;
    // kvm_exit and kvm_entry stay even when silent: the report says why exits are missing.
    if (!present[id] && !(f.system == "kvm" && (event == "kvm_exit" || event == "kvm_entry"))) continue;
    perfdata::EventAttr attr;
    attr.type = perfdata::kTypeTracepoint;
    attr.size = 128;
    attr.config = id;
    attr.sample_period = 1;
    attr.sample_type = perfdata::kSampleTid | perfdata::kSampleTime | perfdata::kSampleCpu | perfdata::kSampleRaw;
    attr.name = f.system + ":" + event;
    attr_by_id_[id] = static_cast<int>(info_.attrs.size());
    info_.attrs.push_back(std::move(attr));
  }
  read_info_.clock = file_.buffers.empty() ? std::string() : file_.buffers[0].clock;
  // trace-cmd names the clock "tsc2nsec" when it will convert: the counter is the selected one.
  if (read_info_.clock.empty() || read_info_.clock == "tsc2nsec") read_info_.clock = SelectedClock(file_.trace_clock);
  read_info_.tsc2nsec = file_.tsc2nsec.has_value();
  read_info_.in_ticks = !read_info_.tsc2nsec && IsCounterClock(read_info_.clock);
  // trace.dat keeps each thread's name (saved_cmdlines) but not its process.
  info_.processes_unknown = true;
  info_.notes.push_back("trace.dat gives threads, not their processes: each thread counted as its own process (pid = tid)");
  info_.trace_clock = read_info_.tsc2nsec ? read_info_.clock + " (converted with tsc2nsec)" : read_info_.clock;
  info_.time_in_ticks = read_info_.in_ticks;
  return {};
}

Result<void> Reader::OpenStreams() {
  // Open every CPU stream of every flyrecord buffer.
  for (const auto& buffer : file_.buffers) {
    for (const auto& cpu : buffer.cpus) {
      if (cpu.size == 0) continue;
      const std::string where = info_.path + ": buffer \"" + buffer.name + "\" CPU " + std::to_string(cpu.cpu);
      auto s = std::make_unique<Stream>();
      s->cpu = cpu.cpu;
      s->buffer = static_cast<uint32_t>(&buffer - file_.buffers.data());
      if (buffer.compressed) {
        auto pages = ReadCpuPages(file_, bytes_, buffer, cpu, where);
        if (!pages) return tl::unexpected(pages.error());
        s->inflated = std::move(*pages);
        s->pages = s->inflated;
      } else {
        if (cpu.offset > bytes_.size() || cpu.size > bytes_.size() - cpu.offset) {
          return Fail(where + ": data at " + HexOffset(cpu.offset) + " (" + std::to_string(cpu.size) +
                      " bytes) runs past the end of the file (" + std::to_string(bytes_.size()) + " bytes): truncated?");
        }
        s->pages = bytes_.subspan(cpu.offset, cpu.size);  // zero-copy over the mapping
      }
      total_bytes_ += s->pages.size();
      streams_.push_back(std::move(s));
    }
  }

  return {};
}

// Moves a stream to its next event, loading pages as needed; false when drained. Records
// (the kernel's ring-buffer layout, described by header_event): a u32 with type_len in the
// low 5 bits and a time delta above; type_len 1..28 = that many words of data, 0 = a length
// word follows (it counts itself), 29 = padding (a discarded event, or with delta 0 the rest
// of the page), 30 = time extend and 31 = absolute time (27 more bits in the next word).
// Every read is checked against the page's committed data: a record that does not fit ends
// its page and is counted as damaged.
bool Reader::Advance(Stream& s, recording::ReadStats& stats) {
  const uint32_t page = file_.page_size;
  const uint32_t data_start = 8 + commit_size_;
  for (;;) {
    while (s.pos + 4 <= s.end) {
      uint32_t h;
      std::memcpy(&h, s.page + s.pos, 4);
      const uint32_t type_len = h & 31, delta = h >> 5;
      if (type_len >= 1 && type_len <= 28) {
        const uint64_t next = s.pos + 4 + type_len * 4u;
        if (next > s.end) break;
        s.ts += delta;
        s.event = s.page + s.pos + 4;
        s.size = type_len * 4;
        s.pos = next;
        return true;
      }
      if (type_len == 29 && delta == 0) {  // the rest of the page is unused
        s.pos = s.end;
        break;
      }
      if (s.pos + 8 > s.end) break;
      uint32_t word;
      std::memcpy(&word, s.page + s.pos + 4, 4);
      if (type_len == 30 || type_len == 31) {
        const uint64_t v = (uint64_t{word} << 27) | delta;
        s.ts = type_len == 30 ? s.ts + v : (s.ts & ~((1ULL << 59) - 1)) | v;  // absolute: 59 bits
        s.pos += 8;
        continue;
      }
      if (word < 4 || s.pos + 4 + word > s.end) break;
      if (type_len == 29) {  // a discarded event: skipped, its delta not applied (as the kernel reads)
        s.pos += 4 + word;
        continue;
      }
      s.ts += delta;
      s.event = s.page + s.pos + 8;
      s.size = word - 4;
      s.pos += 4 + word;
      return true;
    }
    if (s.pos + 4 <= s.end) {  // a record that does not fit: the rest of this page is unusable
      ++stats.damaged_records;
      s.pos = s.end;
    }
    // The next page with data.
    const size_t n_pages = (s.pages.size() + page - 1) / page;
    for (;;) {
      if (s.next_page >= n_pages) {
        s.event = nullptr;
        return false;
      }
      const size_t off = s.next_page * page;
      ++s.next_page;
      const uint8_t* p = s.pages.data() + off;
      const size_t avail = std::min<size_t>(page, s.pages.size() - off);
      if (avail < data_start) {
        ++s.dropped_pages;
        continue;
      }
      uint64_t commit = 0;
      std::memcpy(&commit, p + 8, commit_size_);
      const uint64_t used = commit & kCommitMask;
      if (used == 0) continue;
      if (data_start + used > avail) {
        ++s.dropped_pages;
        ++stats.damaged_records;
        continue;
      }
      s.page = p;
      s.pos = data_start;
      s.end = data_start + used;
      std::memcpy(&s.ts, p, 8);
      // Bit 31: events were lost before this page; bit 30: their count follows the data.
      if (commit & (1ULL << 31)) {
        s.missed = -1;
        if ((commit & (1ULL << 30)) && s.end + commit_size_ <= avail) {
          uint64_t n = 0;
          std::memcpy(&n, p + s.end, commit_size_);
          s.missed = static_cast<int64_t>(n);
        }
      }
      break;
    }
  }
}

void Reader::DeliverCurrent(Stream& s, recording::EventSink& sink, recording::ReadStats& stats,
                            const std::vector<bool>& count_only, perfdata::Event& ev) {
  const bool convert = file_.tsc2nsec.has_value();
  const uint64_t time = convert ? MulShift(s.ts, file_.tsc2nsec->mult, file_.tsc2nsec->shift) : s.ts;
  if (s.missed != 0) {
    // The kernel overwrote or dropped events before this page: say so where it happened.
    perfdata::Event lost;
    lost.type = perfdata::kRecordLost;
    lost.has_time = true;
    lost.time = time;
    lost.cpu = s.cpu;
    lost.stream_id = s.buffer;
    lost.lost = s.missed > 0 ? static_cast<uint64_t>(s.missed) : 0;
    stats.lost_events += lost.lost;
    ++stats.records;
    sink.OnEvent(lost);
    s.missed = 0;
  }
  ++stats.records;
  if (s.size < 8) {
    ++stats.damaged_records;
    return;
  }
  uint16_t type;
  int32_t tid;
  std::memcpy(&type, s.event, 2);
  std::memcpy(&tid, s.event + 4, 4);
  const int attr = attr_by_id_[type];
  if (attr < 0) {
    ++stats.unknown_sample_ids;
    return;
  }
  ++stats.samples_by_attr[static_cast<size_t>(attr)];
  if (stats.first_sample_time == 0) stats.first_sample_time = time;
  stats.last_sample_time = time;
  const uint32_t pid = static_cast<uint32_t>(tid);
  if (static_cast<size_t>(attr) < count_only.size() && count_only[static_cast<size_t>(attr)]) {
    sink.OnSampleCounted(attr, pid, time);
    return;
  }
  ev.type = perfdata::kRecordSample;
  ev.has_time = true;
  ev.attr_index = attr;
  ev.time = time;
  ev.cpu = s.cpu;
  ev.stream_id = s.buffer;  // which buffer (instance) the event came from
  ev.pid = ev.tid = pid;  // trace.dat keeps no thread-group ids: the thread stands for its process
  ev.raw = {s.event, s.size};
  ev.record = ev.raw;
  sink.OnEvent(ev);
}

bool Reader::RunStreamsInParallel(recording::EventSink& sink, recording::ReadStats& stats,
                                  const std::vector<bool>& count_only) {
  // Read unordered, the streams go one after another: each can be counted apart and the
  // parts merged in stream order.
  if (ordered_ || threads_ < 2 || streams_.size() < 2) return false;
  std::unique_ptr<recording::EventSink> merged = sink.NewPart();
  if (!merged) return false;
  struct Part {
    std::unique_ptr<recording::EventSink> sink;
    recording::ReadStats stats;
  };
  std::vector<Part> parts(streams_.size());
  recording::ReadStats merged_stats;
  merged_stats.samples_by_attr.assign(info_.attrs.size(), 0);
  uint64_t merged_bytes = 0;
  auto run = [&](size_t i) {
    Part& p = parts[i];
    p.sink = sink.NewPart();
    if (!p.sink) return false;
    p.stats.samples_by_attr.assign(info_.attrs.size(), 0);
    Stream& s = *streams_[i];
    perfdata::Event ev;
    while (s.event) {
      DeliverCurrent(s, *p.sink, p.stats, count_only, ev);
      Advance(s, p.stats);
    }
    return true;
  };
  auto merge = [&](size_t i) {
    merged->MergePart(*parts[i].sink);
    // Counts add up; first_sample_time is the first stream's first, as one pass finds it.
    const uint64_t first = merged_stats.first_sample_time;
    merged_stats.Merge(parts[i].stats);
    if (first != 0) merged_stats.first_sample_time = first;
    parts[i] = Part{};
    merged_bytes += streams_[i]->pages.size();
    if (progress_) progress_(merged_bytes, total_bytes_);
  };
  if (!RunTasksInOrder(parts.size(), threads_, size_t{threads_} * 2, run, merge)) return false;
  sink.MergePart(*merged);
  const uint64_t first = stats.first_sample_time;
  stats.Merge(merged_stats);
  if (first != 0) stats.first_sample_time = first;
  return true;
}

Result<recording::ReadStats> Reader::Run(recording::EventSink& sink) {
  recording::ReadStats stats;
  stats.samples_by_attr.assign(info_.attrs.size(), 0);
  auto ready = sink.OnSessionReady(info_);
  if (!ready) return tl::unexpected(ready.error());

  // Thread names first, as perf's synthesized COMM records come before samples.
  perfdata::Event comm;
  comm.type = perfdata::kRecordComm;
  std::string_view cmdlines = file_.meta.saved_cmdlines;
  while (!cmdlines.empty()) {
    auto end = cmdlines.find('\n');
    std::string_view line = cmdlines.substr(0, end);
    cmdlines = end == std::string_view::npos ? std::string_view{} : cmdlines.substr(end + 1);
    uint32_t tid = 0;
    auto r = std::from_chars(line.data(), line.data() + line.size(), tid);
    if (r.ec != std::errc() || r.ptr == line.data() + line.size() || *r.ptr != ' ') continue;
    comm.pid = comm.tid = tid;
    comm.comm = line.substr(static_cast<size_t>(r.ptr - line.data()) + 1);
    ++stats.records;
    sink.OnEvent(comm);
  }

  for (auto& s : streams_) {
    s->next_page = 0;
    s->pos = s->end = 0;
    s->missed = 0;
    Advance(*s, stats);
  }

  const std::vector<bool> count_only = sink.CountOnlyAttrs();
  uint64_t delivered = 0;
  if (!RunStreamsInParallel(sink, stats, count_only)) {
    perfdata::Event ev;  // reused: a fresh one per event costs a 200-byte clear
    for (;;) {
      // The stream whose next event is oldest (few CPUs: a scan beats a heap), or, unordered,
      // the first one not drained.
      Stream* best = nullptr;
      for (auto& s : streams_) {
        if (s->event && (!best || s->ts < best->ts)) best = s.get();
        if (best && !ordered_) break;
      }
      if (!best) break;
      DeliverCurrent(*best, sink, stats, count_only, ev);
      if (progress_ && (++delivered & 0xfffff) == 0) {
        uint64_t done = 0;
        for (const auto& st : streams_) done += std::min<uint64_t>(st->next_page * file_.page_size, st->pages.size());
        progress_(done, total_bytes_);
      }
      Advance(*best, stats);
    }
  }
  for (const auto& st : streams_) read_info_.dropped_pages += st->dropped_pages;
  if (progress_) progress_(total_bytes_, total_bytes_);
  return stats;
}

}  // namespace exitprof::tracedat
