// perf probe's probe definitions, parsed: `[[GROUP:]EVENT=]FUNC[@SRC][:RLN|+OFFS|%return|;PTN] [ARG ...]`,
// `[[GROUP:]EVENT=]SRC:ALN [ARG ...]` and `SRC;PTN`, with arguments `[NAME=]EXPR[:TYPE]`.
//
// Parsing is separate from resolving (symbols, lines and variables need the binary's ELF/DWARF)
// and from writing (tracefs), so each is tested alone and bad specs are refused before anything
// touches the kernel. Errors name the part of the spec that is wrong.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace exitprof::probe {

// One probe argument as written. Register and memory fetches (`%di`, `+8(%sp)`, `$retval`,
// `$stack`, `@sym`) pass to the kernel as they are; a bare C name is a variable that DWARF must
// locate; `$params`/`$vars` expand to every parameter/variable.
struct ProbeArg {
  enum class Kind { kFetch, kVariable, kAllParams, kAllVars };
  Kind kind = Kind::kFetch;
  std::string name;   // NAME= part, empty when not given
  std::string expr;   // what is fetched: "%di", "+0(+8(%sp))", "x", "p->next"
  std::string type;   // :TYPE part ("u64", "string", "b4@2/32"), empty when not given
  std::string text;   // the argument exactly as written
};

struct ProbeSpec {
  std::string group;   // empty: "probe" for kprobes, "probe_BINARY" for uprobes
  std::string event;   // empty: derived from the function (and __return, _L<line>)
  std::string function;
  std::string source;  // @SRC, or the SRC of SRC:ALN / SRC;PTN
  std::optional<uint32_t> line;  // relative to FUNC's first line when function is set, else absolute
  std::optional<uint64_t> offset;
  bool is_return = false;
  std::string lazy_pattern;  // ;PTN
  std::vector<ProbeArg> args;
  std::string text;  // the whole definition as written
};

// Parses one definition (the point and its arguments, space separated as perf takes them in one
// argv element or several joined by spaces).
Result<ProbeSpec> ParseProbeSpec(std::string_view text);
Result<ProbeArg> ParseProbeArg(std::string_view text);

// perf's group name for uprobes on `binary`: "probe_" + the leading C-identifier part of its
// basename ("/usr/bin/my-prog.v2" -> "probe_my").
std::string UprobeGroupFor(std::string_view binary);
// The event name perf gives a spec without EVENT= ("f", "f__return", "f_L3").
std::string DefaultEventName(const ProbeSpec& spec);
bool IsCIdentifier(std::string_view s);

}  // namespace exitprof::probe
