// The lines perf writes to tracefs kprobe_events / uprobe_events for a resolved probe, and the
// event names perf gives them, so that perf and exitprof can use each other's probes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "probe/probe_spec.h"

namespace exitprof::probe {

// Where a spec landed once resolved against a binary or the kernel, with its arguments turned
// into fetch expressions (variables located by DWARF become registers or memory fetches).
struct ResolvedProbe {
  std::string group, event;
  bool is_return = false;
  bool is_uprobe = false;
  std::string binary;     // uprobes: the path as given
  uint64_t file_offset = 0;  // uprobes: offset of the probed instruction in the file
  std::string symbol;     // kprobes: probed symbol
  uint64_t offset = 0;    // kprobes: offset from the symbol
  // kprobes: the probed address minus _text's. perf writes entry probes as "_text+N" (decimal),
  // which stays right when several symbols share a name; return probes too where the kernel
  // takes offsets on kretprobes (kretprobe_offset), else as "SYMBOL+0".
  std::optional<uint64_t> text_offset;
  bool kretprobe_offset = false;
  struct Arg {
    std::string name;   // empty: the kernel names it argN
    std::string fetch;  // "%di", "+0(%si)"
    std::string type;   // "s32", "string", empty = the kernel's default
  };
  std::vector<Arg> args;
  std::string note;  // a placement the user did not ask for in so many words (printed on stderr)
};

// "p:probe_pt/f /tmp/pt:0x1190 x=%di:s32" (uprobe) or "r:probe/vfs_read__return vfs_read+0 $retval".
std::string ProbeDefinition(const ResolvedProbe& probe);
// "-:GROUP/EVENT": the line that removes it.
std::string ProbeRemoval(const std::string& group, const std::string& event);

// Checks a fetch expression and type against what the kernel's probe tracers accept on x86-64
// (registers, +|-OFF(FETCH) nesting, $retval/$stack/$stackN/$comm/$argN, @SYMBOL[+|-OFF], immediates
// \IMM, types u8..u64 s8..s64 x8..x64 string ustring symbol bN@O/C) so mistakes are caught with a
// clear message before the kernel answers only EINVAL.
Result<void> CheckFetch(std::string_view fetch, bool is_return, bool is_uprobe);
Result<void> CheckType(std::string_view type);

}  // namespace exitprof::probe
