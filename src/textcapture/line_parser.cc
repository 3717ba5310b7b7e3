#include "textcapture/line_parser.h"

#include <charconv>

namespace exitprof::textcapture {

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}
std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!IsDigit(c)) return false;
  return true;
}

std::optional<uint32_t> ToU32(std::string_view s) {
  uint32_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// "1538.726576:" (up to 9 fraction digits) -> nanoseconds.
std::optional<uint64_t> ParseTimestamp(std::string_view tok, uint8_t* digits) {
  if (tok.size() < 4 || tok.back() != ':') return std::nullopt;
  tok.remove_suffix(1);
  auto dot = tok.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 11) return std::nullopt;
  std::string_view secs = tok.substr(0, dot), frac = tok.substr(dot + 1);
  if (!AllDigits(secs) || !AllDigits(frac) || frac.size() > 9) return std::nullopt;
  uint64_t s = 0, ns = 0;
  std::from_chars(secs.data(), secs.data() + secs.size(), s);
  for (size_t i = 0; i < 9; ++i) ns = ns * 10 + (i < frac.size() ? static_cast<uint64_t>(frac[i] - '0') : 0);
  *digits = static_cast<uint8_t>(frac.size());
  return s * 1000000000ULL + ns;
}

// ftrace's latency columns: irqs-off, need-resched, hardirq/softirq, preempt depth (and on
// newer kernels migrate-disable): "d..1.", "dNh2.", "....".
bool IsLatencyFlags(std::string_view tok) {
  if (tok.size() < 4 || tok.size() > 6) return false;
  for (char c : tok) {
    if (!(c == '.' || IsDigit(c) || c == 'd' || c == 'D' || c == 'X' || c == 'n' || c == 'N' || c == 'p' ||
          c == 'h' || c == 'H' || c == 's' || c == 'b' || c == 'z' || c == 'Z')) {
      return false;
    }
  }
  return true;
}

// The last whitespace-separated token of s (s has no trailing space), and what comes before it.
std::string_view LastToken(std::string_view s, std::string_view* before) {
  size_t at = s.size();
  while (at > 0 && !IsSpace(s[at - 1])) --at;
  *before = TrimRight(s.substr(0, at));
  return s.substr(at);
}

// "[001]" -> 1.
std::optional<uint32_t> CpuToken(std::string_view tok) {
  if (tok.size() < 3 || tok.front() != '[' || tok.back() != ']') return std::nullopt;
  return ToU32(tok.substr(1, tok.size() - 2));
}

// Lines without a CPU column or prefix must name a kvm event: without them, prose such as
// "at 12.30: note:" would read as an event line.
bool KvmEventName(std::string_view system, std::string_view event) {
  return system == "kvm" || (system.empty() && event.substr(0, 4) == "kvm_");
}

// "kvm:kvm_exit:" / "kvm_exit:" -> system, event; false when the token is not "name:".
bool EventToken(std::string_view ev, TextLine& out) {
  if (ev.size() < 2 || ev.back() != ':') return false;
  ev.remove_suffix(1);
  if (auto colon = ev.find(':'); colon != std::string_view::npos) {
    out.system = ev.substr(0, colon);
    ev = ev.substr(colon + 1);
  }
  if (ev.empty()) return false;
  out.event = ev;
  return true;
}

// The prefix before the timestamp, read from the right: [flags] [cpu] [(tgid)] thread. perf
// script -F may leave out any of them.
bool ParsePrefix(std::string_view rest, TextLine& out) {
  bool flags = false;
  std::optional<uint32_t> cpu;
  std::string_view before;
  if (!rest.empty()) {
    std::string_view last = LastToken(rest, &before);
    cpu = CpuToken(last);
    if (cpu) {
      rest = before;
    } else {
      std::string_view before2;
      std::string_view prev = LastToken(before, &before2);
      size_t digits = 0;
      while (digits < last.size() && IsDigit(last[digits])) ++digits;
      if (IsLatencyFlags(last) && CpuToken(prev)) {  // "[001] d..1."
        flags = true;
        cpu = CpuToken(prev);
        rest = before2;
      } else if (digits > 0 && IsLatencyFlags(last.substr(digits))) {  // trace-cmd report -l: "1d..1."
        cpu = ToU32(last.substr(0, digits));
        if (!cpu) return false;
        flags = true;
        rest = before;
      }
    }
  }
  if (!cpu && !KvmEventName(out.system, out.event)) return false;
  out.has_cpu = cpu.has_value();
  out.cpu = cpu.value_or(0);
  if (!rest.empty() && rest.back() == ')') {
    auto open = rest.rfind('(');
    if (open == std::string_view::npos) return false;
    std::string_view tgid = TrimLeft(TrimRight(rest.substr(open + 1, rest.size() - open - 2)));
    if (auto v = ToU32(tgid)) out.pid = *v;  // "-------": not known
    rest = TrimRight(rest.substr(0, open));
  }
  out.layout = Layout::kPerfScript;
  if (rest.empty()) {  // perf script -F time,event,trace
    out.has_tid = false;
    return true;
  }
  std::string_view last = LastToken(rest, &before);
  if (AllDigits(last) && !flags && (!before.empty() || !cpu || rest == last)) {
    out.tid = *ToU32(last);
    out.comm = before;
    return true;
  }
  if (auto slash = last.find('/'); slash != std::string_view::npos && !flags && AllDigits(last.substr(0, slash)) &&
                                   AllDigits(last.substr(slash + 1))) {
    auto pid = ToU32(last.substr(0, slash)), tid = ToU32(last.substr(slash + 1));
    if (!pid || !tid) return false;
    out.pid = *pid;
    out.tid = *tid;
    out.comm = before;
    return true;
  }
  if (!cpu) {  // perf script -F comm,time,...: the name alone
    out.has_tid = false;
    out.comm = rest;
    return true;
  }
  auto dash = rest.rfind('-');
  auto tid = dash == std::string_view::npos || dash == 0 ? std::nullopt : ToU32(rest.substr(dash + 1));
  if (!tid && !flags && KvmEventName(out.system, out.event)) {  // perf script -F comm,cpu,...
    out.has_tid = false;
    out.comm = TrimLeft(rest);
    return true;
  }
  if (!tid) return false;
  out.tid = *tid;
  out.comm = TrimLeft(rest.substr(0, dash));
  // trace-cmd report names the buffer of instance events first: "NAME:   CPU 0/KVM-12".
  if (auto colon = out.comm.find(": "); colon != std::string_view::npos && colon > 0 &&
                                        out.comm.substr(0, colon).find(' ') == std::string_view::npos) {
    out.buffer = out.comm.substr(0, colon);
    out.comm = TrimLeft(out.comm.substr(colon + 1));
  }
  out.layout = flags ? Layout::kFtrace : Layout::kTraceCmd;
  return true;
}

// "kvm_exit:   reason HLT ...": a line pasted without its "comm-tid [cpu] secs:" prefix.
std::optional<TextLine> ParsePrefixless(std::string_view s) {
  size_t end = 0;
  while (end < s.size() && !IsSpace(s[end])) ++end;
  TextLine out;
  if (!EventToken(s.substr(0, end), out) || !KvmEventName(out.system, out.event)) return std::nullopt;
  out.payload = TrimLeft(s.substr(end));
  out.layout = out.system.empty() ? Layout::kTraceCmd : Layout::kPerfScript;
  out.has_tid = out.has_cpu = out.has_time = false;
  return out;
}

}  // namespace

const char* LayoutName(Layout layout) {
  switch (layout) {
    case Layout::kPerfScript: return "perf script";
    case Layout::kTraceCmd: return "trace-cmd report";
    case Layout::kFtrace: return "ftrace";
    default: return "unknown";
  }
}

std::string_view StripQuoting(std::string_view line) {
  line = TrimRight(line);
  for (;;) {
    line = TrimLeft(line);
    if (line.empty() || line.front() != '>') return line;
    line.remove_prefix(1);
  }
}

bool IsHeaderLine(std::string_view s) {
  if (s.empty() || s.front() == '#') return true;
  if (s.substr(0, 5) == "cpus=" || s.substr(0, 9) == "version =") return true;
  if (s.substr(0, 3) == "CPU" && (s.find("buffer started") != std::string_view::npos ||
                                  s.find("data recorded at offset") != std::string_view::npos ||
                                  s.find(" is empty") != std::string_view::npos)) {
    return true;
  }
  return false;
}

std::optional<TextLine> ParseLine(std::string_view s) {
  // The timestamp is the first "digits.digits:" token followed by an "event:" token.
  size_t at = 0;
  while (at < s.size()) {
    while (at < s.size() && IsSpace(s[at])) ++at;
    size_t end = at;
    while (end < s.size() && !IsSpace(s[end])) ++end;
    std::string_view tok = s.substr(at, end - at);
    if (!tok.empty() && IsDigit(tok.front()) && tok.back() == ':') {
      TextLine out;
      auto ts = ParseTimestamp(tok, &out.time_digits);
      if (ts) {
        out.time_ns = *ts;
        // The event name.
        size_t e = end;
        while (e < s.size() && IsSpace(s[e])) ++e;
        size_t e_end = e;
        while (e_end < s.size() && !IsSpace(s[e_end])) ++e_end;
        if (!EventToken(s.substr(e, e_end - e), out)) return std::nullopt;
        out.payload = TrimLeft(s.substr(e_end));
        if (!ParsePrefix(TrimRight(s.substr(0, at)), out)) return std::nullopt;
        return out;
      }
    }
    at = end;
  }
  return ParsePrefixless(s);
}

}  // namespace exitprof::textcapture
