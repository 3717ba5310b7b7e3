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
std::optional<uint64_t> ParseTimestamp(std::string_view tok) {
  if (tok.size() < 4 || tok.back() != ':') return std::nullopt;
  tok.remove_suffix(1);
  auto dot = tok.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 11) return std::nullopt;
  std::string_view secs = tok.substr(0, dot), frac = tok.substr(dot + 1);
  if (!AllDigits(secs) || !AllDigits(frac) || frac.size() > 9) return std::nullopt;
  uint64_t s = 0, ns = 0;
  std::from_chars(secs.data(), secs.data() + secs.size(), s);
  for (size_t i = 0; i < 9; ++i) ns = ns * 10 + (i < frac.size() ? static_cast<uint64_t>(frac[i] - '0') : 0);
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
    if (at > 0 && !tok.empty() && IsDigit(tok.front()) && tok.back() == ':') {
      auto ts = ParseTimestamp(tok);
      if (ts) {
        TextLine out;
        out.time_ns = *ts;
        // The event name.
        size_t e = end;
        while (e < s.size() && IsSpace(s[e])) ++e;
        size_t e_end = e;
        while (e_end < s.size() && !IsSpace(s[e_end])) ++e_end;
        std::string_view ev = s.substr(e, e_end - e);
        if (ev.size() < 2 || ev.back() != ':') return std::nullopt;
        ev.remove_suffix(1);
        if (auto colon = ev.find(':'); colon != std::string_view::npos) {
          out.system = ev.substr(0, colon);
          ev = ev.substr(colon + 1);
        }
        if (ev.empty()) return std::nullopt;
        out.event = ev;
        out.payload = TrimLeft(s.substr(e_end));

        // The prefix, read from the right: [flags] [cpu] [(tgid)] thread.
        std::string_view rest = TrimRight(s.substr(0, at)), before;
        std::string_view last = LastToken(rest, &before);
        bool flags = false;
        std::optional<uint32_t> cpu = CpuToken(last);
        if (!cpu) {
          std::string_view before2;
          std::string_view prev = LastToken(before, &before2);
          if (IsLatencyFlags(last) && CpuToken(prev)) {  // "[001] d..1."
            flags = true;
            cpu = CpuToken(prev);
            before = before2;
          } else {  // trace-cmd report -l: the CPU number glued to the flags, "1d..1."
            size_t digits = 0;
            while (digits < last.size() && IsDigit(last[digits])) ++digits;
            if (digits == 0 || !IsLatencyFlags(last.substr(digits))) return std::nullopt;
            cpu = ToU32(last.substr(0, digits));
            if (!cpu) return std::nullopt;
            flags = true;
          }
        }
        out.cpu = *cpu;
        rest = before;
        if (!rest.empty() && rest.back() == ')') {
          auto open = rest.rfind('(');
          if (open == std::string_view::npos) return std::nullopt;
          std::string_view tgid = TrimLeft(TrimRight(rest.substr(open + 1, rest.size() - open - 2)));
          if (auto v = ToU32(tgid)) out.pid = *v;  // "-------": not known
          rest = TrimRight(rest.substr(0, open));
        }
        last = LastToken(rest, &before);
        if (AllDigits(last) && !before.empty() && !flags) {
          out.layout = Layout::kPerfScript;
          out.tid = *ToU32(last);
          out.comm = before;
          return out;
        }
        if (auto slash = last.find('/'); slash != std::string_view::npos && !flags && !before.empty() &&
                                         AllDigits(last.substr(0, slash)) && AllDigits(last.substr(slash + 1))) {
          auto pid = ToU32(last.substr(0, slash)), tid = ToU32(last.substr(slash + 1));
          if (!pid || !tid) return std::nullopt;
          out.layout = Layout::kPerfScript;
          out.pid = *pid;
          out.tid = *tid;
          out.comm = before;
          return out;
        }
        auto dash = rest.rfind('-');
        if (dash == std::string_view::npos || dash == 0) return std::nullopt;
        auto tid = ToU32(rest.substr(dash + 1));
        if (!tid) return std::nullopt;
        out.tid = *tid;
        out.comm = TrimLeft(rest.substr(0, dash));
        // trace-cmd report names the buffer of instance events first: "NAME:   CPU 0/KVM-12".
        if (auto colon = out.comm.find(": "); colon != std::string_view::npos && colon > 0 &&
                                              out.comm.substr(0, colon).find(' ') == std::string_view::npos) {
          out.buffer = out.comm.substr(0, colon);
          out.comm = TrimLeft(out.comm.substr(colon + 1));
        }
        out.layout = flags ? Layout::kFtrace : Layout::kTraceCmd;
        return out;
      }
    }
    at = end;
  }
  return std::nullopt;
}

}  // namespace exitprof::textcapture
