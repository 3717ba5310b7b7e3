#include "textcapture/reader.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "perfdata/abi.h"
#include "trace/trace_events.h"
#include "trace/tracing_data.h"

namespace exitprof::textcapture {

namespace {
#include "textcapture_formats.inc"

enum KindId : uint8_t { kExit, kEntry, kPio, kMmio, kUserspace, kMsr, kKinds };
constexpr const char* kEventNames[kKinds] = {"kvm_exit", "kvm_entry", "kvm_pio", "kvm_mmio", "kvm_userspace_exit", "kvm_msr"};
// The fields each kind fills, in Record::f order.
constexpr size_t kMaxFields = 9;
constexpr std::array<std::array<const char*, kMaxFields>, kKinds> kFields = {{
    {"exit_reason", "guest_rip", "isa", "info1", "info2", "intr_info", "error_code", "vcpu_id", "requests"},
    {"vcpu_id", "rip", "intr_info", "error_code", "immediate_exit", nullptr},
    {"rw", "port", "size", "count", "val", nullptr},
    {"type", "len", "gpa", "val", nullptr},
    {"reason", "errno", nullptr},
    {"write", "ecx", "data", "exception", nullptr},
}};

// Whitespace-separated tokens (payloads have a few dozen at most; the rest are ignored).
struct Tokens {
  std::array<std::string_view, 32> t;
  size_t n = 0;
  explicit Tokens(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && n < t.size()) {
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
      size_t j = i;
      while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
      if (j > i) t[n++] = s.substr(i, j - i);
      i = j;
    }
  }
  std::string_view operator[](size_t i) const { return t[i]; }
  size_t size() const { return n; }
  std::string_view back() const { return t[n - 1]; }
};

// Unsigned numbers as print fmts write them: "0x1f" or "1f" (hex), or decimal.
bool Hex(std::string_view s, uint64_t& v) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}
bool Dec(std::string_view s, uint64_t& v) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// The { value, "NAME" } pairs of the nth __print_symbolic of a format ("A" "B" strings joined).
std::map<std::string, uint64_t, std::less<>> Symbolic(std::string_view fmt, int nth) {
  std::map<std::string, uint64_t, std::less<>> out;
  size_t at = 0;
  for (int i = 0; i <= nth; ++i) {
    at = fmt.find("__print_symbolic(", at);
    if (at == std::string_view::npos) return out;
    at += 17;
  }
  size_t end = fmt.find("})", at);
  if (end == std::string_view::npos) end = fmt.size();
  while ((at = fmt.find('{', at)) < end) {
    size_t close = fmt.find('}', at);
    std::string_view entry = fmt.substr(at + 1, close - at - 1);
    at = close;
    size_t comma = entry.find(',');
    if (comma == std::string_view::npos) continue;
    std::string_view num = entry.substr(0, comma);
    while (!num.empty() && num.front() == ' ') num.remove_prefix(1);
    while (!num.empty() && num.back() == ' ') num.remove_suffix(1);
    uint64_t v = 0;
    if (!Dec(num, v) && !Hex(num, v)) continue;
    std::string name;
    for (size_t q = entry.find('"', comma); q != std::string_view::npos; q = entry.find('"', q + 1)) {
      size_t q2 = entry.find('"', q + 1);
      if (q2 == std::string_view::npos) break;
      name.append(entry.substr(q + 1, q2 - q - 1));
      q = q2;
    }
    if (!name.empty()) out.emplace(std::move(name), v);
  }
  return out;
}

struct Tables {
  std::map<std::string, uint64_t, std::less<>> vmx, svm, userspace;
};
const Tables& ReasonTables() {
  static const Tables t = [] {
    Tables t;
    t.vmx = Symbolic(kFormat_kvm_exit, 0);
    t.svm = Symbolic(kFormat_kvm_exit, 1);
    t.userspace = Symbolic(kFormat_kvm_userspace_exit, 0);
    return t;
  }();
  return t;
}

}  // namespace

struct Record {
  uint64_t time = 0;
  uint32_t tid = 0, pid = 0, cpu = 0;
  uint8_t kind = 0;
  bool has_vcpu = false;  // kvm_exit printed its vcpu (the newer format)
  std::array<uint64_t, kMaxFields> f{};
};

struct Reader::Kind {
  int attr = -1;
  uint16_t id = 0;
  uint32_t size = 0;
  std::array<trace::FieldRef, kMaxFields> fields{};
};

namespace {

// Parses a kvm event's payload into r.f; false when it does not read as that event's print fmt.
bool ParsePayload(uint8_t kind, std::string_view payload, Record& r, std::string& isa_seen) {
  const Tokens t(payload);
  const size_t n = t.size();
  auto f = r.f.data();
  switch (kind) {
    case kExit: {
      size_t i = 0;
      if (n >= 2 && t[0] == "vcpu") {
        if (!Dec(t[1], f[7])) return false;
        r.has_vcpu = true;
        i = 2;
      }
      if (i + 1 >= n || t[i] != "reason") return false;
      std::string_view name = t[i + 1];
      const auto& tb = ReasonTables();
      if (auto v = tb.vmx.find(name); v != tb.vmx.end()) {
        f[0] = v->second, f[2] = 1;
      } else if (auto s = tb.svm.find(name); s != tb.svm.end()) {
        f[0] = s->second, f[2] = 2;
      } else if (Dec(name, f[0]) || Hex(name, f[0])) {
        f[2] = 0;  // a number: the ISA is settled from the rest of the file
      } else {
        return false;
      }
      if (f[2]) isa_seen = f[2] == 1 ? "VMX" : "SVM";
      i += 2;
      while (i < n && t[i] != "rip") ++i;  // " FAILED_VMENTRY" and similar flags
      if (i + 1 >= n || !Hex(t[i + 1], f[1])) return false;
      i += 2;
      if (i < n && t[i] == "info") {  // older: "info A B" in hex without 0x
        if (i + 2 >= n || !Hex(t[i + 1], f[3]) || !Hex(t[i + 2], f[4])) return false;
        return true;
      }
      for (; i + 1 < n; i += 2) {
        uint64_t v = 0;
        if (!Hex(t[i + 1], v)) return false;
        if (t[i] == "info1") f[3] = v;
        else if (t[i] == "info2") f[4] = v;
        else if (t[i] == "intr_info") f[5] = v;
        else if (t[i] == "error_code") f[6] = v;
        else if (t[i] == "requests") f[8] = v;
      }
      return i == n;
    }
    case kEntry: {
      if (n < 2 || t[0] != "vcpu") return false;
      std::string_view v = t[1];
      if (!v.empty() && v.back() == ',') v.remove_suffix(1);
      if (!Dec(v, f[0])) return false;
      size_t i = 2;
      if (n >= 4 && t[2] == "rip") {
        if (!Hex(t[3], f[1])) return false;
        i = 4;
      }
      for (; i + 1 < n; i += 2) {
        std::string_view val = t[i + 1];
        if (auto b = val.find("[immediate"); b != std::string_view::npos) {  // "%08x%s": glued on
          val = val.substr(0, b);
          f[4] = 1;
        }
        uint64_t x = 0;
        if (!Hex(val, x)) return false;
        if (t[i] == "intr_info") f[2] = x;
        else if (t[i] == "error_code") f[3] = x;
      }
      return i == n || (f[4] && i + 1 == n && t[i] == "exit]");
    }
    case kPio: {
      if (n < 7 || t[1] != "at" || t[3] != "size" || t[5] != "count") return false;
      if (t[0] == "pio_write") f[0] = 1;
      else if (t[0] != "pio_read") return false;
      if (!Hex(t[2], f[1]) || !Dec(t[4], f[2]) || !Dec(t[6], f[3])) return false;
      if (n >= 9 && t[7] == "val" && !Hex(t[8], f[4])) return false;
      return true;
    }
    case kMmio: {
      if (n < 8 || t[0] != "mmio" || t[2] != "len" || t[4] != "gpa" || t[6] != "val") return false;
      if (t[1] == "unsatisfied-read") f[0] = 0;
      else if (t[1] == "read") f[0] = 1;
      else if (t[1] == "write") f[0] = 2;
      else return false;
      return Dec(t[3], f[1]) && Hex(t[5], f[2]) && Hex(t[7], f[3]);
    }
    case kUserspace: {
      if (n != 3 || t[0] != "reason" || t[2].size() < 3 || t[2].front() != '(' || t[2].back() != ')') return false;
      uint64_t num = 0;
      if (!Dec(t[2].substr(1, t[2].size() - 2), num)) return false;
      if (t[1] == "restart" || t[1] == "error") {
        f[1] = static_cast<uint64_t>(-static_cast<int64_t>(num));  // errno < 0: the number is -errno
        return true;
      }
      const auto& tb = ReasonTables().userspace;
      if (auto v = tb.find(t[1]); v != tb.end()) {
        f[0] = v->second;
        return true;
      }
      f[0] = num;  // a reason this kernel's table lacks: its number is printed anyway
      return true;
    }
    case kMsr: {
      if (n < 4 || t[2] != "=") return false;
      if (t[0] == "msr_write") f[0] = 1;
      else if (t[0] != "msr_read") return false;
      if (!Hex(t[1], f[1]) || !Hex(t[3], f[2])) return false;
      f[3] = n >= 5 && t[4] == "(#GP)";
      return true;
    }
    default: return false;
  }
}

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

}  // namespace

bool LooksLikeTextCapture(std::string_view head) {
  int looked = 0;
  while (!head.empty() && looked < 20) {
    auto nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    head = nl == std::string_view::npos ? std::string_view{} : head.substr(nl + 1);
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
    Dec(t.substr(idpos + 4, t.find('\n', idpos) - idpos - 4), id);
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

Reader::~Reader() = default;

Result<std::unique_ptr<Reader>> Reader::Open(const std::string& path) {
  auto mapped = MappedFile::Open(path);
  if (!mapped) return tl::unexpected(mapped.error());
  std::unique_ptr<Reader> r(new Reader());
  auto bytes = mapped->bytes();
  auto ok = r->Init(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
  if (!ok) return tl::unexpected(ok.error());
  return r;
}

Result<std::unique_ptr<Reader>> Reader::FromText(std::string_view text, const std::string& name) {
  std::unique_ptr<Reader> r(new Reader());
  auto ok = r->Init(text, name);
  if (!ok) return tl::unexpected(ok.error());
  return r;
}

Result<void> Reader::Init(std::string_view text, const std::string& name) {
  info_.path = name;
  info_.file_size = text.size();
  std::map<std::string, uint32_t, std::less<>> comm_ids;
  std::string isa_seen;
  uint64_t other_total = 0;
  // A line whose payload stopped short (a mail client wrapped it) waits for its continuation.
  std::string pending_payload;
  std::optional<Record> pending;
  uint64_t pending_line = 0;
  std::string pending_text;
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

  // A line not understood is held one line before it is counted: the next may complete it.
  std::optional<std::pair<uint64_t, std::string_view>> held;
  std::string joined;
  auto flush_held = [&] {
    if (held) unparsed(held->first, held->second);
    held.reset();
  };
  records_.reserve(text.size() / 128);  // perf script kvm lines are 100-250 bytes
  uint32_t last_tid = UINT32_MAX, last_pid = 0, last_comm = 0;
  comms_.emplace_back();  // index 0: never a real name's, so the first line looks its name up
  uint64_t line_no = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view raw = text.substr(at, nl - at);
    at = nl + 1;
    ++line_no;
    std::string_view s = StripQuoting(raw);
    if (s.empty()) continue;  // a blank line may sit inside a wrapped event: keep waiting
    // Event lines first (most lines are): the header checks search the line.
    std::optional<TextLine> line;
    if (s.front() != '#') line = ParseLine(s);
    if (!line && IsHeaderLine(s)) {
      drop_pending();
      flush_held();
      continue;
    }
    if (!line) {
      if (pending) {
        pending_payload += ' ';
        pending_payload.append(s);
        if (ParsePayload(pending->kind, pending_payload, *pending, isa_seen)) {
          records_.push_back(*pending);
          ++summary_.events;
          ++summary_.joined_lines;
          pending.reset();
          continue;
        }
        drop_pending();
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
        held.emplace(line_no, s);
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
    r.tid = line->tid;
    r.cpu = line->cpu;
    r.kind = static_cast<uint8_t>(kind);
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
    if (!ParsePayload(r.kind, line->payload, r, isa_seen)) {
      pending = r;
      pending_payload.assign(line->payload);
      pending_line = line_no;
      pending_text = Printable(s, 160);
      continue;
    }
    records_.push_back(r);
    ++summary_.events;
  }
  drop_pending();
  flush_held();
  summary_.lines = line_no;
  summary_.isa = isa_seen;
  if (summary_.events == 0 && other_total == 0) {
    std::string msg = name + ": not a perf.data, trace.dat or text capture: no line reads as an event line of " +
                      "perf script, trace-cmd report or ftrace output (\"comm-tid [cpu] secs.usecs: kvm_exit: ...\")";
    if (summary_.unparsed_lines) {
      msg += "; line " + std::to_string(summary_.first_unparsed_line) + ": \"" + summary_.first_unparsed_text + "\"";
    }
    return Fail(msg);
  }
  // Reasons printed as numbers take the ISA the named ones showed (VMX when none did).
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
    if (r.f[2] == 0) r.f[2] = isa_seen == "SVM" ? 2 : 1;
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
  if (summary_.pid_missing) {
    info_.processes_unknown = true;
    info_.notes.push_back("the text gives threads, not their processes: each thread counted as its own process (pid = tid)");
  }
  if (summary_.unparsed_lines) {
    info_.notes.push_back(std::to_string(summary_.unparsed_lines) + " lines not understood, first at line " +
                          std::to_string(summary_.first_unparsed_line) + ": " + summary_.first_unparsed_text);
  }
  if (summary_.joined_lines) {
    info_.notes.push_back(std::to_string(summary_.joined_lines) + " wrapped lines joined to the event line before them");
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

Result<perfdata::ReadStats> Reader::Run(perfdata::EventSink& sink) {
  perfdata::ReadStats stats;
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
    std::stable_sort(records_.begin(), records_.end(), [](const Record& a, const Record& b) { return a.time < b.time; });
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
    ev.record = ev.raw;
    sink.OnEvent(ev);
  }
  return stats;
}

}  // namespace exitprof::textcapture
