#include "trace/trace_events.h"

#include <traceevent/event-parse.h>
#include <traceevent/trace-seq.h>

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unordered_set>
#include <string_view>
#include <cstdint>
#include <cctype>
#include <algorithm>

#include "base/byte_reader.h"

namespace exitprof::trace {


namespace {

// tep_parse_printk_formats reads outside its buffers on lines it does not expect: a last line
// without a newline (strdup(fmt + 1) past the end) or a format shorter than 3 characters
// (tep_register_print_string looks at p - 2). Keep the lines shaped as perf writes them,
// "ADDR : \"FMT\"", each ending in a newline; the text ends at the first NUL, as libtraceevent sees it.
std::string SafePrintkFormats(const std::string& text) {
  std::string out;
  std::string_view rest(text.c_str());
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) continue;
    std::string_view fmt = line.substr(colon + 1);
    if (!fmt.empty()) fmt.remove_prefix(1);  // libtraceevent skips the space after ':'
    if (!fmt.empty() && fmt.front() == '"') fmt.remove_prefix(1);
    if (fmt.size() < 3) continue;
    out.append(line);
    out += '\n';
  }
  return out;
}

// libtraceevent 1.7 dereferences NULL in tep_parse_event when __print_symbolic/__print_flags
// is given REC->NAME for a NAME the format does not declare. Such a format is damaged (the
// kernel's formats only name their own fields): it is not handed to libtraceevent at all.
bool NamesOnlyDeclaredFields(std::string_view text) {
  std::unordered_set<std::string_view> declared;
  size_t pos = 0;
  while ((pos = text.find("field:", pos)) != std::string_view::npos) {
    pos += 6;
    const size_t semi = text.find(';', pos);
    if (semi == std::string_view::npos) break;
    std::string_view decl = text.substr(pos, semi - pos);
    if (size_t br = decl.find('['); br != std::string_view::npos) decl = decl.substr(0, br);
    while (!decl.empty() && decl.back() == ' ') decl.remove_suffix(1);
    const size_t start = decl.find_last_of(" *");
    declared.insert(start == std::string_view::npos ? decl : decl.substr(start + 1));
    pos = semi;
  }
  const size_t fmt = text.find("print fmt:");
  if (fmt == std::string_view::npos) return true;
  auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (pos = text.find("REC->", fmt); pos != std::string_view::npos; pos = text.find("REC->", pos)) {
    pos += 5;
    size_t end = pos;
    while (end < text.size() && ident(text[end])) ++end;
    if (!declared.count(text.substr(pos, end - pos))) return false;
  }
  return true;
}

// Whether libtraceevent can parse these formats without crashing. libtraceevent 1.7 has parser
// bugs that hostile formats reach (a NULL dereference on `1 ? "a" : "R".`): the formats are
// tried in a child process first, so a damaged recording costs its bad formats, not the run.
bool ParseSurvives(const TracingData& data, const std::vector<const FormatFile*>& formats) {
  pid_t pid = ::fork();
  if (pid < 0) return true;  // cannot check: parse in-process as before
  if (pid == 0) {
    // A crash here must end this child quietly: restore the default actions with the raw
    // system call, past any handler a sanitizer or fuzzer installed (they would report the
    // child's expected death as a failure of the whole process).
    struct {
      void* handler;
      unsigned long flags;
      void* restorer;
      uint64_t mask;
    } dfl{};
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP}) ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
    tep_handle* tep = tep_alloc();
    tep_set_long_size(tep, data.long_size);
    for (const FormatFile* f : formats) tep_parse_event(tep, f->text.data(), f->text.size(), f->system.c_str());
    ::_exit(0);  // no destructors, no atexit handlers of the parent's
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

Result<std::unique_ptr<TraceEvents>> TraceEvents::Create(const TracingData& data, const std::string& where) {
  std::unique_ptr<TraceEvents> events(new TraceEvents());
  events->tep_ = tep_alloc();
  if (!events->tep_) return Fail("libtraceevent: out of memory", 1);
  tep_handle* tep = events->tep_;
  tep_set_file_bigendian(tep, data.big_endian ? TEP_BIG_ENDIAN : TEP_LITTLE_ENDIAN);
  tep_set_local_bigendian(tep, TEP_LITTLE_ENDIAN);
  tep_set_long_size(tep, data.long_size);
  tep_set_page_size(tep, static_cast<int>(data.page_size));
  if (!data.header_page.empty()) {
    std::string hp = data.header_page;
    tep_parse_header_page(tep, hp.data(), hp.size(), data.long_size);
  }
  std::vector<const FormatFile*> usable;
  for (const auto& f : data.formats) {
    if (NamesOnlyDeclaredFields(f.text)) usable.push_back(&f);
  }
  if (!usable.empty() && !ParseSurvives(data, usable)) {
    std::vector<const FormatFile*> survivors;
    for (const FormatFile* f : usable) {
      if (ParseSurvives(data, {f})) survivors.push_back(f);
    }
    events->unparseable_ = usable.size() - survivors.size();
    usable.swap(survivors);
  }
  int parsed = 0;
  for (const FormatFile* f : usable) {
    if (tep_parse_event(tep, f->text.data(), f->text.size(), f->system.c_str()) != 0) continue;
    ++parsed;
    const std::string_view text(f->text);
    const size_t id_at = text.find("\nID: "), fmt_at = text.find("print fmt:");
    if (id_at != std::string_view::npos && fmt_at != std::string_view::npos) {
      events->print_fmts_[std::atoi(f->text.c_str() + id_at + 5)] = std::string(text.substr(fmt_at));
    }
  }
  if (!data.formats.empty() && parsed == 0) {
    return Fail(where + ": none of the " + std::to_string(data.formats.size()) +
                " tracepoint formats in the tracing data could be parsed");
  }
  if (!data.kallsyms.empty()) tep_parse_kallsyms(tep, data.kallsyms.c_str());
  if (!data.printk_formats.empty()) {
    const std::string printk = SafePrintkFormats(data.printk_formats);
    if (!printk.empty()) tep_parse_printk_formats(tep, printk.c_str());
  }
  // The furthest any event's fixed fields reach (see FormatPayload).
  for (int i = 0, n = tep_get_events_count(tep); i < n; ++i) {
    const tep_event* e = tep_get_event(tep, i);
    if (!e) continue;
    for (const tep_format_field* list : {e->format.common_fields, e->format.fields}) {
      for (const tep_format_field* f = list; f; f = f->next) {
        if (f->offset < 0 || f->size < 0) {
          events->fixed_end_ = SIZE_MAX;
          break;
        }
        events->fixed_end_ = std::max<size_t>(events->fixed_end_, size_t(f->offset) + size_t(f->size));
      }
    }
  }
  events->seq_ = new trace_seq;
  trace_seq_init(events->seq_);
  return events;
}

Result<std::unique_ptr<TraceEvents>> TraceEvents::FromTracingData(std::span<const uint8_t> bytes, const std::string& where) {
  if (bytes.empty()) return std::unique_ptr<TraceEvents>();
  auto data = ParseTracingData(bytes, where);
  if (!data) return tl::unexpected(data.error());
  return Create(*data, where);
}

TraceEvents::~TraceEvents() {
  if (seq_) {
    trace_seq_destroy(seq_);
    delete seq_;
  }
  if (tep_) tep_free(tep_);
}

std::string_view TraceEvents::PrintFmt(const tep_event* event) const {
  if (!event) return {};
  auto it = print_fmts_.find(event->id);
  return it == print_fmts_.end() ? std::string_view() : std::string_view(it->second);
}

tep_event* TraceEvents::FindById(uint64_t id) const {
  if (id > INT32_MAX) return nullptr;
  return tep_find_event(tep_, static_cast<int>(id));
}

tep_event* TraceEvents::FindByName(const std::string& system, const std::string& name) const {
  return tep_find_event_by_name(tep_, system.c_str(), name.c_str());
}

std::string TraceEvents::FullName(const tep_event* event) {
  if (!event) return {};
  return std::string(event->system) + ":" + event->name;
}

FieldRef TraceEvents::Field(tep_event* event, const char* name) {
  FieldRef ref;
  if (!event) return ref;
  tep_format_field* field = tep_find_field(event, name);
  if (!field) return ref;
  ref.offset = static_cast<uint32_t>(field->offset);
  ref.size = static_cast<uint32_t>(field->size);
  ref.is_signed = (field->flags & TEP_FIELD_IS_SIGNED) != 0;
  if (ref.size != 1 && ref.size != 2 && ref.size != 4 && ref.size != 8) ref.size = 0;
  return ref;
}

void TraceEvents::FormatPayload(tep_event* event, std::span<const uint8_t> raw, uint32_t cpu,
                                uint64_t time, std::string& out) const {
  // libtraceevent trusts the record: it reads fixed fields where the formats put them (even
  // the type of an empty record, through a null pointer), dynamic arrays up to 128 KiB from the
  // start, strings up to a NUL. Render from a copy followed by zeros that cover all of that;
  // formats whose fields lie beyond any real record are not rendered.
  constexpr size_t kMaxFixedEnd = size_t{1} << 16;  // a tracepoint record fits in a page
  constexpr size_t kDynamicReach = (size_t{1} << 17) + 8;
  out.clear();
  if (fixed_end_ > kMaxFixedEnd || raw.size() > (size_t{1} << 30)) return;
  const size_t need = std::max(raw.size(), fixed_end_) + kDynamicReach;
  if (scratch_.size() < need) scratch_.resize(need, 0);  // zero past what is copied in
  if (!raw.empty()) std::memcpy(scratch_.data(), raw.data(), raw.size());
  tep_record record{};
  record.ts = time;
  record.size = static_cast<int>(raw.size());
  record.record_size = static_cast<int>(raw.size());
  record.data = scratch_.data();
  record.cpu = static_cast<int>(cpu);
  trace_seq_reset(seq_);
  tep_print_event(tep_, seq_, &record, "%s", TEP_PRINT_INFO);
  trace_seq_terminate(seq_);
  out.assign(seq_->buffer, seq_->len);
  if (!raw.empty()) std::memset(scratch_.data(), 0, raw.size());
  (void)event;
}

}  // namespace exitprof::trace
