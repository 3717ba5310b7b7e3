#include "probe/probe_spec.h"

#include <charconv>
#include <cctype>

namespace exitprof::probe {

namespace {

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::vector<std::string_view> SplitSpaces(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

// Decimal or 0x hex, the whole string.
std::optional<uint64_t> ParseNumber(std::string_view s) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// A source file rather than a function: perf takes names with a path or a file extension.
bool LooksLikeSourceFile(std::string_view s) {
  if (s.find('/') != std::string_view::npos) return true;
  auto dot = s.rfind('.');
  if (dot == std::string_view::npos) return false;
  std::string_view ext = s.substr(dot + 1);
  for (std::string_view e : {"c", "h", "cc", "cpp", "cxx", "hpp", "hh", "S", "s", "rs", "go"}) {
    if (ext == e) return true;
  }
  return false;
}

// A C-like variable reference: name, optionally followed by ->field, .field or [N].
bool IsVariableExpr(std::string_view s) {
  size_t i = 0;
  auto ident = [&] {
    size_t start = i;
    if (i < s.size() && (std::isalpha(static_cast<unsigned char>(s[i])) || s[i] == '_')) {
      ++i;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
    }
    return i > start;
  };
  if (!ident()) return false;
  while (i < s.size()) {
    if (s.substr(i, 2) == "->") {
      i += 2;
      if (!ident()) return false;
    } else if (s[i] == '.') {
      ++i;
      if (!ident()) return false;
    } else if (s[i] == '[') {
      size_t close = s.find(']', i);
      if (close == std::string_view::npos || !ParseNumber(s.substr(i + 1, close - i - 1))) return false;
      i = close + 1;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

bool IsCIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

Result<ProbeArg> ParseProbeArg(std::string_view text) {
  ProbeArg arg;
  arg.text = std::string(text);
  std::string_view rest = text;
  // NAME= is only a name when what precedes '=' is an identifier (fetches never contain '=').
  if (auto eq = rest.find('='); eq != std::string_view::npos) {
    std::string_view name = rest.substr(0, eq);
    if (!IsCIdentifier(name)) {
      return Fail("probe argument " + Quote(text) + ": " + Quote(name) +
                  " is not a valid argument name (expected a C identifier before '=')");
    }
    arg.name = std::string(name);
    rest.remove_prefix(eq + 1);
  }
  // :TYPE is after the last ':' outside parentheses.
  int depth = 0;
  size_t colon = std::string_view::npos;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '(') ++depth;
    else if (rest[i] == ')') --depth;
    else if (rest[i] == ':' && depth == 0) colon = i;
  }
  if (colon != std::string_view::npos) {
    arg.type = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (arg.type.empty()) return Fail("probe argument " + Quote(text) + ": empty type after ':'");
  }
  if (rest.empty()) return Fail("probe argument " + Quote(text) + ": nothing to fetch");
  arg.expr = std::string(rest);
  if (rest == "$params") {
    arg.kind = ProbeArg::Kind::kAllParams;
  } else if (rest == "$vars") {
    arg.kind = ProbeArg::Kind::kAllVars;
  } else if (rest[0] == '%' || rest[0] == '+' || rest[0] == '-' || rest[0] == '$' || rest[0] == '@' ||
             rest[0] == '\\' || std::isdigit(static_cast<unsigned char>(rest[0]))) {
    arg.kind = ProbeArg::Kind::kFetch;
  } else if (IsVariableExpr(rest)) {
    arg.kind = ProbeArg::Kind::kVariable;
  } else {
    return Fail("probe argument " + Quote(text) + ": " + Quote(rest) +
                " is neither a variable (name, name->field, name.field, name[N]) nor a fetch "
                "(%REG, +OFF(%REG), $retval, $stack, @SYMBOL)");
  }
  return arg;
}

Result<ProbeSpec> ParseProbeSpec(std::string_view text) {
  ProbeSpec spec;
  spec.text = std::string(text);
  auto words = SplitSpaces(text);
  if (words.empty()) return Fail("probe definition is empty: expected [[GROUP:]EVENT=]FUNC[+OFF|%return|:LINE] [ARG ...]");
  std::string_view point = words[0];
  auto bad = [&](const std::string& what) { return Fail("probe " + Quote(text) + ": " + what); };

  // ;PTN ends the point and may contain anything, so it comes off first.
  if (auto semi = point.find(';'); semi != std::string_view::npos) {
    spec.lazy_pattern = std::string(point.substr(semi + 1));
    point = point.substr(0, semi);
    if (spec.lazy_pattern.empty()) return bad("empty lazy pattern after ';'");
  }
  if (auto eq = point.find('='); eq != std::string_view::npos) {
    std::string_view name = point.substr(0, eq);
    point.remove_prefix(eq + 1);
    if (auto colon = name.find(':'); colon != std::string_view::npos) {
      spec.group = std::string(name.substr(0, colon));
      name.remove_prefix(colon + 1);
      if (!IsCIdentifier(spec.group)) return bad(Quote(spec.group) + " is bad for a group name: it must follow C symbol-naming rules");
    }
    spec.event = std::string(name);
    if (!IsCIdentifier(spec.event)) return bad(Quote(spec.event) + " is bad for an event name: it must follow C symbol-naming rules");
  }
  if (point.empty()) return bad("no function or source line to probe");

  // %return
  constexpr std::string_view kReturn = "%return";
  if (point.size() > kReturn.size() && point.substr(point.size() - kReturn.size()) == kReturn) {
    spec.is_return = true;
    point.remove_suffix(kReturn.size());
  } else if (auto pct = point.find('%'); pct != std::string_view::npos) {
    return bad(Quote(point.substr(pct)) + " is not a probe suffix (expected %return)");
  }
  // @SRC may sit after FUNC (FUNC@SRC:RLN) or at the end.
  std::string without_source;  // FUNC[suffix] once @SRC is cut out
  std::string_view head = point;
  std::string_view suffix;
  size_t cut = head.find_first_of(":+");
  size_t at = head.find('@');
  if (at != std::string_view::npos) {
    size_t end = head.find_first_of(":+", at);
    spec.source = std::string(head.substr(at + 1, end == std::string_view::npos ? std::string_view::npos : end - at - 1));
    if (spec.source.empty()) return bad("empty source file after '@'");
    without_source = std::string(head.substr(0, at)) + (end == std::string_view::npos ? "" : std::string(head.substr(end)));
    head = without_source;
    cut = head.find_first_of(":+");
  }
  std::string name(head.substr(0, cut));
  if (cut != std::string_view::npos) suffix = head.substr(cut);

  if (LooksLikeSourceFile(name)) {
    if (!spec.source.empty()) return bad("both a source file and @SRC given");
    spec.source = name;
    spec.function.clear();
    if (suffix.empty() && spec.lazy_pattern.empty()) return bad("a source file needs :LINE or ;PATTERN (e.g. " + name + ":42)");
  } else {
    if (!IsCIdentifier(name) && name.find('.') == std::string::npos) {
      return bad(Quote(name) + " is not a function name");
    }
    spec.function = name;
  }
  if (!suffix.empty()) {
    char kind = suffix[0];
    std::string_view number = suffix.substr(1);
    auto value = ParseNumber(number);
    if (!value) {
      return bad(Quote(suffix) + ": expected " + (kind == ':' ? "a line number after ':'" : "a byte offset after '+'"));
    }
    if (kind == ':') {
      if (*value > UINT32_MAX) return bad("line " + std::string(number) + " is out of range");
      spec.line = static_cast<uint32_t>(*value);
    } else {
      if (spec.function.empty()) return bad("+OFFSET needs a function, not a source file");
      spec.offset = *value;
    }
  }
  if (spec.is_return && (spec.line || spec.offset || !spec.lazy_pattern.empty())) {
    return bad("offset, line or lazy pattern can't be used with a return probe");
  }
  if (spec.is_return && spec.function.empty()) return bad("%return needs a function");
  for (size_t i = 1; i < words.size(); ++i) {
    auto arg = ParseProbeArg(words[i]);
    if (!arg) return Fail("probe " + Quote(text) + ": " + arg.error().message);
    spec.args.push_back(std::move(*arg));
  }
  return spec;
}

std::string UprobeGroupFor(std::string_view binary) {
  auto slash = binary.rfind('/');
  std::string_view base = slash == std::string_view::npos ? binary : binary.substr(slash + 1);
  size_t n = 0;
  while (n < base.size() && (std::isalnum(static_cast<unsigned char>(base[n])) || base[n] == '_')) ++n;
  return "probe_" + std::string(base.substr(0, n));
}

std::string DefaultEventName(const ProbeSpec& spec) {
  std::string name = spec.event.empty() ? spec.function : spec.event;
  if (name.empty()) return name;
  // Kernel event names are C identifiers: local symbols like "foo.isra.0" become "foo_isra_0".
  for (char& c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) c = '_';
  }
  if (spec.is_return) return name + "__return";
  if (spec.event.empty() && spec.line && !spec.function.empty()) return name + "_L" + std::to_string(*spec.line);
  return name;
}

}  // namespace exitprof::probe
