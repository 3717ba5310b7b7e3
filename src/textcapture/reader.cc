#include "textcapture/reader.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <sys/stat.h>
#include <fcntl.h>

#include "perfdata/abi.h"
#include "trace/trace_events.h"
#include "trace/tracing_data.h"

namespace exitprof::textcapture {

namespace {
#include "textcapture_formats.inc"

// Text from the file shown in reports and JSON: printable ASCII only (JSON needs valid UTF-8,
// a terminal needs no control characters); anything else becomes '?'.
std::string Printable(std::string_view s, size_t max) {
  std::string out(s.substr(0, max));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return out;
}

int KindOf(std::string_view system, std::string_view event) {
  if (!system.empty() && system != "kvm") return -1;
  for (int k = 0; k < kKinds; ++k)
    if (event == kEventNames[k]) return k;
  return -1;
}

// The kvm_exit format with the reason names no kernel table has added to both of its
// __print_symbolic tables, so that reports name them as the text did.
std::string WithUnknownReasons(std::string_view fmt, const std::vector<std::string>& names) {
  if (names.empty()) return std::string(fmt);
  std::string extra;
  for (size_t i = 0; i < names.size(); ++i)
    extra += ", { " + std::to_string(kUnknownReasonBase + i) + ", \"" + names[i] + "\" }";
  std::string out;
  size_t at = 0;
  for (;;) {
    size_t sym = fmt.find("__print_symbolic(REC->exit_reason", at);
    if (sym == std::string_view::npos) break;
    size_t close = fmt.find("})", sym);
    if (close == std::string_view::npos) break;
    out.append(fmt.substr(at, close + 1 - at));
    out += extra;
    at = close + 1;
  }
  out.append(fmt.substr(at));
  return out;
}

// Whether an indented line continues the payload of the event before it: it starts with one of
// that event's field names ("    info 0 0" after "reason HLT rip 0x.."). Payload parsers that
// stop reading after their fields (kvm_pio) would otherwise swallow any line.
bool ContinuesPayload(uint8_t kind, std::string_view s) {
  std::string_view first = s.substr(0, s.find(' '));
  if (kind == kExit) {
    return first == "rip" || first == "info" || first == "info1" || first == "info2" || first == "intr_info" ||
           first == "error_code" || first == "requests";
  }
  return kind == kEntry && (first == "rip" || first == "intr_info" || first == "error_code");
}

// Threads of text that printed no thread id: one per thread name, numbered above any real
// tid (Linux's pid_max is at most 2^22).
constexpr uint32_t kNamedThreadBase = 4000000000u;

}  // namespace

struct Reader::Kind {
  int attr = -1;
  uint16_t id = 0;
  uint32_t size = 0;
  std::array<trace::FieldRef, kMaxFields> fields{};
};

bool LooksLikeTextCapture(std::string_view head) {
  int looked = 0;
  LineSource lines(head);  // decodes quoted-printable mail as the reader will
  std::string_view line;
  while (looked < 20 && lines.Next(line)) {
    if (line.find('\0') != std::string_view::npos) return false;
    std::string_view s = StripQuoting(line);
    if (IsHeaderLine(s)) continue;
    if (ParseLine(s)) return true;
    ++looked;
  }
  return false;
}

// Where each kind's fields go in its raw record, from libtraceevent's parse of the formats.
Result<std::vector<Reader::Kind>> Reader::LayoutKinds(const trace::TracingData& td, const char* const* texts) {
  auto events = trace::TraceEvents::Create(td, "built-in kvm formats");
  if (!events) return tl::unexpected(events.error());
  std::vector<Kind> kinds(kKinds);
  for (int k = 0; k < kKinds; ++k) {
    tep_event* ev = (*events)->FindByName("kvm", kEventNames[k]);
    if (!ev) return Fail(std::string("built-in format of kvm:") + kEventNames[k] + " did not parse");
    Kind& kd = kinds[k];
    std::string_view t = texts[k];
    auto idpos = t.find("ID: ");
    uint64_t id = 0;
    ParseDec(t.substr(idpos + 4, t.find('\n', idpos) - idpos - 4), id);
    kd.id = static_cast<uint16_t>(id);
    kd.size = 8;
    for (size_t i = 0; i < kMaxFields && kFields[k][i]; ++i) {
      kd.fields[i] = trace::TraceEvents::Field(ev, kFields[k][i]);
      if (kd.fields[i].valid()) kd.size = std::max(kd.size, kd.fields[i].offset + kd.fields[i].size);
    }
    kd.size = std::max<uint32_t>(kd.size, 72);  // room for fields we do not fill (requests)
  }
  return kinds;
}

Reader::Reader(ReaderOptions options) : options_(options) {}
Reader::~Reader() = default;

Result<std::unique_ptr<Reader>> Reader::Open(const std::string& path, ReaderOptions options) {
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Fail(path + ": cannot open: " + std::strerror(errno), 1);
    const int raw = fd.get();
    return OpenStream(raw, {}, path, options, std::move(fd));
  }
  auto mapped = MappedFile::Open(path);
  if (!mapped) return tl::unexpected(mapped.error());
  std::unique_ptr<Reader> r(new Reader(options));
  auto bytes = mapped->bytes();
  LineSource lines(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  r->records_.reserve(bytes.size() / 128);  // perf script kvm lines are 100-250 bytes
  auto ok = r->Init(lines, path);
  if (!ok) return tl::unexpected(ok.error());
  return r;
}

Result<std::unique_ptr<Reader>> Reader::OpenStream(int fd, std::string head, const std::string& name,
                                                   ReaderOptions options, UniqueFd owned) {
  std::unique_ptr<Reader> r(new Reader(options));
  LineSource lines(fd, std::move(head), std::move(owned));
  auto ok = r->Init(lines, name);
  if (!ok) return tl::unexpected(ok.error());
  return r;
}

Result<std::unique_ptr<Reader>> Reader::FromText(std::string_view text, const std::string& name, ReaderOptions options) {
  std::unique_ptr<Reader> r(new Reader(options));
  LineSource lines(text);
  auto ok = r->Init(lines, name);
  if (!ok) return tl::unexpected(ok.error());
  return r;
}

Result<void> Reader::Init(LineSource& lines, const std::string& name) {
  info_.path = name;
  std::map<std::string, uint32_t, std::less<>> comm_ids;
  uint64_t other_total = 0;
  // A line whose payload stopped short (a mail client wrapped it) waits for its continuation.
  std::string pending_payload;
  std::optional<Record> pending;
  uint64_t pending_line = 0;
  std::string pending_text;
  // The last event's payload: an indented line after it may continue it (trace-cmd output
  // wrapped for a page: "reason HLT rip 0x..." then "    info 0 0").
  // A view when the lines stay where they are (a mapped file), else a copy.
  std::string last_payload;
  std::string_view last_view;
  auto unparsed = [&](uint64_t line_no, std::string_view s) {
    if (summary_.unparsed_lines++ == 0) {
      summary_.first_unparsed_line = line_no;
      summary_.first_unparsed_text = Printable(s, 160);
    }
  };
  auto drop_pending = [&] {
    if (pending) unparsed(pending_line, pending_text);
    pending.reset();
  };
  auto keep = [&](Record& r, std::string_view payload) {
    if (options_.keep_text) {
      text_at_.push_back(text_arena_.size());
      text_arena_.append(payload);
    }
    if (lines.stable() && !payload.empty() && lines.Holds(payload)) {
      last_view = payload;
    } else {
      last_payload.assign(payload);
      last_view = last_payload;
    }
    records_.push_back(r);
    ++summary_.events;
  };

  // A line not understood is held one line before it is counted: the next may complete it.
  std::optional<std::pair<uint64_t, std::string>> held;
  std::string joined;
  auto flush_held = [&] {
    if (held) unparsed(held->first, held->second);
    held.reset();
  };
  uint32_t last_tid = UINT32_MAX, last_pid = 0, last_comm = 0;
  comms_.emplace_back();  // index 0: never a real name's, so the first line looks its name up
  std::string_view raw;
  while (lines.Next(raw)) {
    const uint64_t line_no = lines.line_no();
    std::string_view s = StripQuoting(raw);
    if (s.empty()) continue;  // a blank line may sit inside a wrapped event: keep waiting
    // Event lines first (most lines are): the header checks search the line.
    std::optional<TextLine> line;
    if (s.front() != '#') line = ParseLine(s);
    // "secs: kvm:kvm_exit: ..." alone reads as a line without thread or CPU; after a held
    // "comm tid [cpu]" it is the second half of a line a mail client wrapped.
    if (line && held && !(line->has_tid && line->has_cpu)) {
      joined.assign(held->second).append(" ").append(s);
      if (auto whole = ParseLine(joined); whole && whole->has_tid && whole->has_cpu) {
        held.reset();
        ++summary_.joined_lines;
        s = joined;
        line = whole;
      }
    }
    if (!line && IsHeaderLine(s)) {
      drop_pending();
      flush_held();
      continue;
    }
    if (!line) {
      if (pending) {
        pending_payload += ' ';
        pending_payload.append(s);
        if (ParsePayload(pending->kind, pending_payload, *pending, ctx_)) {
          ++summary_.joined_lines;
          keep(*pending, pending_payload);
          pending.reset();
          continue;
        }
        drop_pending();
      }
      const bool indented = s.data() > raw.data() && s.data() <= raw.data() + raw.size() &&
                            (s.data()[-1] == ' ' || s.data()[-1] == '\t');
      if (!held && indented && !records_.empty() && ContinuesPayload(records_.back().kind, s)) {
        Record again = records_.back();
        std::string longer = std::string(last_view) + ' ' + std::string(s);
        if (ParsePayload(again.kind, longer, again, ctx_)) {
          records_.pop_back();
          if (options_.keep_text) {
            text_arena_.resize(text_at_.back());
            text_at_.pop_back();
          }
          --summary_.events;
          ++summary_.joined_lines;
          keep(again, longer);
          continue;
        }
      }
      // A line wrapped before its event name ("comm tid [cpu]" / "secs: kvm_exit: ..."):
      // the line held from before and this one may read as one event line.
      if (held) {
        joined.assign(held->second);
        joined += ' ';
        joined.append(s);
        line = ParseLine(joined);
        if (line) {
          held.reset();
          ++summary_.joined_lines;
          s = joined;
        } else {
          flush_held();
        }
      }
      if (!line) {
        held.emplace(line_no, std::string(s));
        continue;
      }
    }
    drop_pending();
    flush_held();
    if (summary_.layout == Layout::kUnknown) summary_.layout = line->layout;
    const int kind = KindOf(line->system, line->event);
    if (kind < 0) {
      ++other_total;
      const std::string ev = Printable(line->event, 64);
      if (summary_.other_events.size() < 64 || summary_.other_events.count(ev)) ++summary_.other_events[ev];
      continue;
    }
    Record r;
    r.time = line->time_ns;
    r.cpu = line->cpu;
    r.kind = static_cast<uint8_t>(kind);
    info_.text_lacks_cpu |= !line->has_cpu;
    info_.text_lacks_time |= !line->has_time;
    if (line->has_time) summary_.time_digits = std::min(summary_.time_digits, line->time_digits);
    if (!line->has_tid) {
      // No thread id printed: threads told apart by their names (one thread when none).
      info_.text_lacks_tid = true;
      auto c = comm_ids.find(line->comm);
      line->tid = kNamedThreadBase + static_cast<uint32_t>(c == comm_ids.end() ? comm_ids.size() : c->second - 1);
    }
    r.tid = line->tid;
    r.pid = line->pid.value_or(line->tid);
    (line->pid ? summary_.pid_from_text : summary_.pid_missing) = true;
    // Consecutive lines mostly come from the same thread: look names up only when it changes.
    if (!(line->tid == last_tid && line->comm == comms_[last_comm] && r.pid == last_pid)) {
      auto c = comm_ids.find(line->comm);
      if (c == comm_ids.end()) {
        c = comm_ids.emplace(std::string(line->comm), static_cast<uint32_t>(comms_.size())).first;
        comms_.push_back(Printable(line->comm, 256));
      }
      threads_[line->tid] = {r.pid, c->second};
      last_tid = line->tid, last_pid = r.pid, last_comm = c->second;
    }
    // The payload as printed, trailing blanks included (perf's kvm_pio ends in a space), when
    // the line is the text's own; a joined line keeps its trimmed payload.
    std::string_view payload = line->payload;
    const auto from = reinterpret_cast<uintptr_t>(payload.data()), base = reinterpret_cast<uintptr_t>(raw.data());
    if (options_.keep_text && from >= base && from <= base + raw.size()) {
      payload = raw.substr(static_cast<size_t>(payload.data() - raw.data()));
      while (!payload.empty() && (payload.back() == '\r' || payload.back() == '\n')) payload.remove_suffix(1);
    }
    if (!ParsePayload(r.kind, line->payload, r, ctx_)) {
      pending = r;
      pending_payload.assign(line->payload);
      pending_line = line_no;
      pending_text = Printable(s, 160);
      continue;
    }
    keep(r, payload);
  }
  drop_pending();
  flush_held();
  if (lines.error()) return Fail(name + ": " + *lines.error(), 1);
  summary_.lines = lines.line_no();
  info_.file_size = lines.bytes();
  return Finish(name, other_total);
}

Result<void> Reader::Finish(const std::string& name, uint64_t other_total) {
  const std::string& isa_seen = ctx_.isa_seen;
  summary_.isa = isa_seen;
  summary_.unknown_reasons = ctx_.unknown_reasons.size();
  if (summary_.events == 0 && other_total == 0) {
    std::string msg = name + ": not a perf.data, trace.dat or text capture: no line reads as an event line of " +
                      "perf script, trace-cmd report or ftrace output (\"comm-tid [cpu] secs.usecs: kvm_exit: ...\")";
    if (summary_.unparsed_lines) {
      msg += "; line " + std::to_string(summary_.first_unparsed_line) + ": \"" + summary_.first_unparsed_text + "\"";
    }
    return Fail(msg);
  }
  // Reasons printed as numbers take the ISA the named ones showed (VMX when none did); a
  // lower-case name both ISAs have is VMX's only when the file's other names are VMX's.
  // trace-cmd's kvm plugin prints kvm_exit without its vcpu, but the thread's kvm_entry lines
  // say which vCPU it runs (one thread per vCPU): exits take it from there when every exiting
  // thread has exactly one; otherwise the format without vcpu_id is used for all.
  std::map<uint32_t, int64_t> vcpu_of;  // tid -> vcpu, -1 = more than one
  for (const auto& r : records_) {
    if (r.kind != kEntry && !(r.kind == kExit && r.has_vcpu)) continue;
    const int64_t v = static_cast<int64_t>(r.kind == kEntry ? r.f[0] : r.f[7]);
    auto [it, fresh] = vcpu_of.emplace(r.tid, v);
    if (!fresh && it->second != v) it->second = -1;
  }
  bool new_exit = false, all_known = true, any_exit = false;
  for (auto& r : records_) {
    if (r.kind != kExit) continue;
    any_exit = true;
    if (r.vmx_alt != Record::kNoAlt && isa_seen == "VMX") r.f[0] = r.vmx_alt, r.f[2] = 1;
    if (r.f[2] == 0) r.f[2] = (isa_seen == "SVM" || (isa_seen.empty() && r.vmx_alt != Record::kNoAlt)) ? 2 : 1;
    if (r.has_vcpu) new_exit = true;
    auto it = vcpu_of.find(r.tid);
    if (!r.has_vcpu && (it == vcpu_of.end() || it->second < 0)) all_known = false;
  }
  if (any_exit && all_known && !new_exit) {
    for (auto& r : records_) {
      if (r.kind != kExit || r.has_vcpu) continue;
      r.f[7] = static_cast<uint64_t>(vcpu_of[r.tid]);
      ++summary_.vcpu_from_entry;
    }
    new_exit = true;
    info_.notes.push_back("kvm_exit lines do not print their vCPU: each exit takes the vCPU of its thread's kvm_entry lines");
  }

  // The formats the records are encoded with: kvm_exit's without vcpu_id when no line printed one.
  trace::TracingData td;
  td.header_page = kFormat_header_page;
  td.header_event = kFormat_header_event;
  const char* texts[kKinds] = {new_exit ? kFormat_kvm_exit : kFormat_kvm_exit_old, kFormat_kvm_entry, kFormat_kvm_pio,
                               kFormat_kvm_mmio, kFormat_kvm_userspace_exit, kFormat_kvm_msr};
  for (const char* t : texts) td.formats.push_back({"kvm", t});
  // Field places of the built-in formats: the same every time, so found once per variant.
  static std::array<std::optional<Result<std::vector<Kind>>>, 2> layouts;
  auto& layout = layouts[new_exit ? 1 : 0];
  if (!layout) layout = LayoutKinds(td, texts);
  if (!*layout) return Fail(name + ": " + layout->error().message);
  td.formats[0].text = WithUnknownReasons(texts[0], ctx_.unknown_reasons);
  kinds_ = **layout;
  std::array<uint64_t, kKinds> present{};
  for (const auto& r : records_) ++present[r.kind];
  for (int k = 0; k < kKinds; ++k) {
    Kind& kd = kinds_[k];
    if (!present[k] && k != kExit && k != kEntry) continue;  // as trace.dat: exit/entry listed even when silent
    perfdata::EventAttr attr;
    attr.type = perfdata::kTypeTracepoint;
    attr.size = 128;
    attr.config = kd.id;
    attr.sample_period = 1;
    attr.sample_type = perfdata::kSampleTid | perfdata::kSampleTime | perfdata::kSampleCpu | perfdata::kSampleRaw;
    attr.name = std::string("kvm:") + kEventNames[k];
    kd.attr = static_cast<int>(info_.attrs.size());
    info_.attrs.push_back(std::move(attr));
  }
  info_.tracing_data = trace::EncodeTracingData(td);
  uint32_t max_cpu = 0;
  for (const auto& r : records_) max_cpu = std::max(max_cpu, r.cpu);
  info_.nr_cpus_available = info_.nr_cpus_online = max_cpu + 1;

  info_.text_layout = LayoutName(summary_.layout);
  info_.text_lines = summary_.lines;
  info_.unparsed_lines = summary_.unparsed_lines;
  info_.first_unparsed_line = summary_.first_unparsed_line;
  info_.first_unparsed_text = summary_.first_unparsed_text;
  if (summary_.pid_missing) info_.processes_unknown = true;
  if (!info_.text_lacks_time) {
    info_.time_resolution_ns = 1;
    for (int d = summary_.time_digits; d < 9; ++d) info_.time_resolution_ns *= 10;
  }
  if (info_.text_lacks_time) {
    info_.notes.push_back("some lines print no timestamp: rates, spans and exit latencies leave them out");
  }
  if (info_.text_lacks_tid) {
    info_.notes.push_back("some lines print no thread id: their threads are told apart by name (one thread without a name)");
  } else if (summary_.pid_missing) {
    info_.notes.push_back("the text gives threads, not their processes: each thread counted as its own process (pid = tid)");
  }
  if (summary_.unparsed_lines) {
    info_.notes.push_back(std::to_string(summary_.unparsed_lines) + " lines not understood, first at line " +
                          std::to_string(summary_.first_unparsed_line) + ": " + summary_.first_unparsed_text);
  }
  if (summary_.joined_lines) {
    info_.notes.push_back(std::to_string(summary_.joined_lines) + " wrapped lines joined to the event line before them");
  }
  if (!ctx_.unknown_reasons.empty()) {
    std::string list;
    for (const auto& n : ctx_.unknown_reasons) list += (list.empty() ? "" : ", ") + n;
    info_.notes.push_back(std::to_string(ctx_.unknown_reasons.size()) +
                          " kvm_exit reason names no kernel table has, counted under their own name: " + list);
  }
  if (other_total) {
    std::string list;
    for (const auto& [ev, count] : summary_.other_events) {
      if (!list.empty()) list += ", ";
      list += ev + " " + std::to_string(count);
    }
    info_.notes.push_back(std::to_string(other_total) + " lines of events not analysed: " + list);
  }
  return {};
}

Result<recording::ReadStats> Reader::Run(recording::EventSink& sink) {
  recording::ReadStats stats;
  stats.samples_by_attr.assign(info_.attrs.size(), 0);
  auto ready = sink.OnSessionReady(info_);
  if (!ready) return tl::unexpected(ready.error());
  perfdata::Event comm;
  comm.type = perfdata::kRecordComm;
  for (const auto& [tid, pc] : threads_) {
    comm.pid = pc.first;
    comm.tid = tid;
    comm.comm = comms_[pc.second];
    ++stats.records;
    sink.OnEvent(comm);
  }
  if (ordered_ && !sorted_) {
    // Pairing (latency) needs time order; text is in the order its tool printed it.
    if (options_.keep_text) {  // kept payloads move with their records
      std::vector<size_t> order(records_.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return records_[a].time < records_[b].time; });
      std::vector<Record> records;
      std::string arena;
      std::vector<uint64_t> at;
      for (size_t i : order) {
        const uint64_t end = i + 1 < text_at_.size() ? text_at_[i + 1] : text_arena_.size();
        at.push_back(arena.size());
        arena.append(text_arena_, text_at_[i], end - text_at_[i]);
        records.push_back(records_[i]);
      }
      records_.swap(records), text_arena_.swap(arena), text_at_.swap(at);
    } else {
      std::stable_sort(records_.begin(), records_.end(), [](const Record& a, const Record& b) { return a.time < b.time; });
    }
    sorted_ = true;
  }
  const std::vector<bool> count_only = sink.CountOnlyAttrs();
  perfdata::Event ev;
  ev.type = perfdata::kRecordSample;
  ev.has_time = true;
  alignas(8) std::array<uint8_t, 128> raw{};
  for (const auto& r : records_) {
    const Kind& kd = kinds_[r.kind];
    const uint32_t pid = r.pid;
    ++stats.records;
    ++stats.samples_by_attr[static_cast<size_t>(kd.attr)];
    if (stats.first_sample_time == 0) stats.first_sample_time = r.time;
    stats.last_sample_time = r.time;
    if (static_cast<size_t>(kd.attr) < count_only.size() && count_only[static_cast<size_t>(kd.attr)]) {
      sink.OnSampleCounted(kd.attr, pid, r.time);
      continue;
    }
    std::memset(raw.data(), 0, kd.size);
    std::memcpy(raw.data(), &kd.id, 2);
    const int32_t common_pid = static_cast<int32_t>(r.tid);
    std::memcpy(raw.data() + 4, &common_pid, 4);
    for (size_t i = 0; i < kMaxFields; ++i) {
      const auto& fr = kd.fields[i];
      if (fr.valid() && fr.offset + fr.size <= kd.size) std::memcpy(raw.data() + fr.offset, &r.f[i], fr.size);  // little endian
    }
    ev.attr_index = kd.attr;
    ev.time = r.time;
    ev.cpu = r.cpu;
    ev.pid = pid;
    ev.tid = r.tid;
    ev.raw = {raw.data(), kd.size};
    if (options_.keep_text) {
      const size_t i = static_cast<size_t>(&r - records_.data());
      const uint64_t end = i + 1 < text_at_.size() ? text_at_[i + 1] : text_arena_.size();
      ev.text = std::string_view(text_arena_).substr(text_at_[i], end - text_at_[i]);
    }
    ev.record = ev.raw;
    sink.OnEvent(ev);
  }
  return stats;
}

}  // namespace exitprof::textcapture
