#include "tracedat/reader.h"

extern "C" {  // the header has no C++ guard
#include <traceevent/kbuffer.h>
}

#include <algorithm>
#include <charconv>
#include <cstring>

#include "base/byte_reader.h"
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

}  // namespace

// One CPU of one buffer: its pages, decoded with libtraceevent's kbuffer.
struct Stream {
  std::vector<uint8_t> inflated;       // the pages, when the buffer is compressed
  std::span<const uint8_t> pages;      // all pages of this CPU
  std::vector<uint8_t> last_page;      // the final page, copied with slack so kbuffer cannot read past it
  size_t next_page = 0;
  kbuffer* kbuf = nullptr;
  uint32_t cpu = 0;
  uint32_t buffer = 0;             // index into file().buffers
  const uint8_t* event = nullptr;  // the current event's payload, null when drained
  uint32_t size = 0;
  uint64_t ts = 0;
  int64_t missed = 0;              // dropped events before the current page (-1 = unknown count)

  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() {
    if (kbuf) kbuffer_free(kbuf);
  }
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
  info_.tracing_data = trace::EncodeTracingData(file_.meta);
  auto opened = OpenStreams();
  if (!opened) return opened;
  // Files carry the formats of whole systems (hundreds of events, most never fired): one
  // pass over the event headers finds the events present, and only those become attrs.
  std::vector<bool> present(0x10000, false);
  perfdata::ReadStats scratch;
  for (auto& st : streams_) {
    for (bool more = Advance(*st, true, scratch); more; more = Advance(*st, false, scratch)) {
      if (st->size >= 2) present[static_cast<uint16_t>(st->event[0] | (st->event[1] << 8))] = true;
    }
    st->next_page = 0;
  }
  read_info_.dropped_pages = 0;
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
      if (cpu.offset > bytes_.size() || cpu.size > bytes_.size() - cpu.offset) {
        return Fail(where + ": data at " + HexOffset(cpu.offset) + " (" + std::to_string(cpu.size) +
                    " bytes) runs past the end of the file (" + std::to_string(bytes_.size()) + " bytes): truncated?");
      }
      auto s = std::make_unique<Stream>();
      s->cpu = cpu.cpu;
      s->buffer = static_cast<uint32_t>(&buffer - file_.buffers.data());
      auto raw = bytes_.subspan(cpu.offset, cpu.size);
      if (buffer.compressed) {
        // trace-cmd's size leaves out the 4-byte chunk count that precedes the chunks.
        ByteReader r(bytes_.subspan(cpu.offset, std::min<uint64_t>(cpu.size + 4, bytes_.size() - cpu.offset)));
        uint32_t chunks = r.Read<uint32_t>();
        if (!r.ok() || chunks > r.remaining() / 8) return Fail(where + ": bad compressed chunk count");
        for (uint32_t i = 0; i < chunks; ++i) {
          uint32_t zsize = r.Read<uint32_t>();
          uint32_t usize = r.Read<uint32_t>();
          if (!r.ok() || zsize > r.remaining()) {
            return Fail(where + ": compressed chunk " + std::to_string(i) + " runs past its data: truncated?");
          }
          auto block = Decompress(file_.compression, r.ReadBytes(zsize), usize, where + " chunk " + std::to_string(i));
          if (!block) return tl::unexpected(block.error());
          s->inflated.insert(s->inflated.end(), block->begin(), block->end());
        }
        s->pages = s->inflated;
      } else {
        s->pages = raw;
      }
      total_bytes_ += s->pages.size();
      s->kbuf = kbuffer_alloc(commit_size_ == 4 ? KBUFFER_LSIZE_4 : KBUFFER_LSIZE_8, KBUFFER_ENDIAN_LITTLE);
      if (!s->kbuf) return Fail("out of memory for a ring-buffer decoder", 1);
      streams_.push_back(std::move(s));
    }
  }

  return {};
}

// Moves a stream to its next event (loading pages as needed); false when drained.
bool Reader::Advance(Stream& s, bool first_in_page, perfdata::ReadStats& stats) {
  const uint32_t page = file_.page_size;
  const uint32_t data_start = 8 + commit_size_;
  for (;;) {
    if (!first_in_page) {
      unsigned long long ts = 0;
      void* p = kbuffer_next_event(s.kbuf, &ts);
      if (p && static_cast<uint32_t>(kbuffer_curr_index(s.kbuf)) + static_cast<uint32_t>(kbuffer_curr_size(s.kbuf)) <=
                   static_cast<uint32_t>(kbuffer_subbuffer_size(s.kbuf))) {
        s.event = static_cast<const uint8_t*>(p);
        s.size = static_cast<uint32_t>(kbuffer_event_size(s.kbuf));
        s.ts = ts;
        return true;
      }
    }
    first_in_page = false;
    // Next non-empty page.
    const size_t n_pages = (s.pages.size() + page - 1) / page;
    for (;;) {
      if (s.next_page >= n_pages) {
        s.event = nullptr;
        return false;
      }
      size_t off = s.next_page * page;
      ++s.next_page;
      const uint8_t* p = s.pages.data() + off;
      size_t avail = std::min<size_t>(page, s.pages.size() - off);
      if (s.next_page == n_pages) {  // the last page: a padded copy (hostile lengths read past it)
        s.last_page.assign(page + 64, 0);
        std::memcpy(s.last_page.data(), p, avail);
        p = s.last_page.data();
      }
      if (avail < data_start) {
        ++read_info_.dropped_pages;
        continue;
      }
      uint64_t commit = 0;
      std::memcpy(&commit, p + 8, commit_size_);
      const uint64_t used = commit & kCommitMask;
      if (used == 0) continue;
      if (used > page - data_start || data_start + used > avail) {
        ++read_info_.dropped_pages;
        ++stats.damaged_records;
        continue;
      }
      kbuffer_load_subbuffer(s.kbuf, const_cast<uint8_t*>(p));
      s.missed = kbuffer_missed_events(s.kbuf);
      unsigned long long ts = 0;
      void* e = kbuffer_read_event(s.kbuf, &ts);
      if (!e) continue;
      if (static_cast<uint32_t>(kbuffer_curr_index(s.kbuf)) + static_cast<uint32_t>(kbuffer_curr_size(s.kbuf)) > used) {
        ++stats.damaged_records;
        continue;
      }
      s.event = static_cast<const uint8_t*>(e);
      s.size = static_cast<uint32_t>(kbuffer_event_size(s.kbuf));
      s.ts = ts;
      return true;
    }
  }
}

Result<perfdata::ReadStats> Reader::Run(perfdata::EventSink& sink) {
  perfdata::ReadStats stats;
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
    Advance(*s, true, stats);
  }

  const std::vector<bool> count_only = sink.CountOnlyAttrs();
  const bool convert = file_.tsc2nsec.has_value();
  const uint32_t mult = convert ? file_.tsc2nsec->mult : 0, shift = convert ? file_.tsc2nsec->shift : 0;
  perfdata::Event ev;
  ev.type = perfdata::kRecordSample;
  ev.has_time = true;
  perfdata::Event lost;
  lost.type = perfdata::kRecordLost;
  lost.has_time = true;
  uint64_t delivered = 0;

  for (;;) {
    // The stream whose next event is oldest; few CPUs, so a scan beats a heap.
    Stream* best = nullptr;
    for (auto& s : streams_) {
      if (s->event && (!best || s->ts < best->ts)) best = s.get();
    }
    if (!best) break;
    Stream& s = *best;
    const uint64_t time = convert ? MulShift(s.ts, mult, shift) : s.ts;
    if (s.missed != 0 && kbuffer_curr_index(s.kbuf) == 0) {
      // The kernel overwrote or dropped events before this page: say so where it happened.
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
    } else {
      uint16_t type;
      int32_t tid;
      std::memcpy(&type, s.event, 2);
      std::memcpy(&tid, s.event + 4, 4);
      const int attr = attr_by_id_[type];
      if (attr < 0) {
        ++stats.unknown_sample_ids;
      } else {
        ++stats.samples_by_attr[static_cast<size_t>(attr)];
        if (stats.first_sample_time == 0) stats.first_sample_time = time;
        stats.last_sample_time = time;
        const uint32_t pid = static_cast<uint32_t>(tid);
        if (static_cast<size_t>(attr) < count_only.size() && count_only[static_cast<size_t>(attr)]) {
          sink.OnSampleCounted(attr, pid, time);
        } else {
          ev.attr_index = attr;
          ev.time = time;
          ev.cpu = s.cpu;
          ev.stream_id = s.buffer;  // which buffer (instance) the event came from
          ev.pid = ev.tid = pid;  // trace.dat keeps no thread-group ids: the thread stands for its process
          ev.raw = {s.event, s.size};
          ev.record = ev.raw;
          sink.OnEvent(ev);
        }
      }
    }
    if (progress_ && (++delivered & 0xfffff) == 0) {
      uint64_t done = 0;
      for (const auto& st : streams_) done += std::min<uint64_t>(st->next_page * file_.page_size, st->pages.size());
      progress_(done, total_bytes_);
    }
    Advance(s, false, stats);
  }
  if (progress_) progress_(total_bytes_, total_bytes_);
  return stats;
}

}  // namespace exitprof::tracedat
