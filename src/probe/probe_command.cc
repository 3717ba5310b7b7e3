#include "probe/probe_command.h"

#include <cctype>
#include <cstdio>

namespace exitprof::probe {

namespace {

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// x86-64 register names the probe tracers accept (arch/x86/include/asm/ptrace.h offsets table).
bool IsX86Register(std::string_view r) {
  for (std::string_view name : {"ax", "bx", "cx", "dx", "si", "di", "bp", "sp", "ip", "flags", "cs", "ss", "ds",
                                "es", "fs", "gs", "orig_ax", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
                                "r15", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "rip"}) {
    if (r == name) return true;
  }
  return false;
}

bool AllDigits(std::string_view s, bool allow_hex) {
  if (s.empty()) return false;
  if (allow_hex && s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty()) return false;
  for (char c : s) {
    if (!(allow_hex ? std::isxdigit(static_cast<unsigned char>(c)) : std::isdigit(static_cast<unsigned char>(c)))) return false;
  }
  return true;
}

Result<void> CheckFetchAt(std::string_view whole, std::string_view f, bool is_return, bool is_uprobe, int depth) {
  auto bad = [&](const std::string& what) { return Fail("probe argument " + Quote(whole) + ": " + what); };
  if (depth > 3) return bad("memory fetches nest at most 3 deep");
  if (f.empty()) return bad("nothing to fetch");
  if (f[0] == '%') {
    if (!IsX86Register(f.substr(1))) return bad(Quote(f) + " is not an x86-64 register (e.g. %di, %ax, %sp, %r8)");
    return {};
  }
  if (f[0] == '$') {
    std::string_view v = f.substr(1);
    if (v == "retval") {
      if (!is_return) return bad("$retval is only available in a return probe (FUNC%return)");
      return {};
    }
    if (v == "stack" || v == "comm") return {};
    if (v.substr(0, 5) == "stack" && AllDigits(v.substr(5), false)) return {};
    if (v.substr(0, 3) == "arg" && AllDigits(v.substr(3), false)) {
      if (is_return) return bad("$argN is only available at function entry");
      return {};
    }
    return bad(Quote(f) + " is not a special variable ($retval, $stack, $stackN, $comm, $argN)");
  }
  if (f[0] == '@') {
    if (is_uprobe) {
      // Uprobes take @ADDR or @+OFFSET (file offset), not symbols.
      std::string_view v = f.substr(1);
      if (!v.empty() && v[0] == '+') v.remove_prefix(1);
      if (!AllDigits(v, true)) return bad(Quote(f) + ": a uprobe fetches memory as @ADDR or @+FILE_OFFSET");
    } else if (f.size() < 2) {
      return bad("'@' needs a symbol or address");
    }
    return {};
  }
  if (f[0] == '\\') {
    std::string_view v = f.substr(1);
    if (!v.empty() && v[0] == '"') return {};  // immediate string
    if (!v.empty() && v[0] == '-') v.remove_prefix(1);
    if (!AllDigits(v, true)) return bad(Quote(f) + ": an immediate is \\NUMBER or \\\"STRING\\\"");
    return {};
  }
  if (f[0] == '+' || f[0] == '-') {
    size_t open = f.find('(');
    if (open == std::string_view::npos || f.back() != ')') return bad(Quote(f) + ": expected +|-OFFSET(FETCH), e.g. +8(%sp)");
    if (!AllDigits(f.substr(1, open - 1), true)) return bad(Quote(f.substr(0, open)) + ": expected a decimal or 0x offset");
    return CheckFetchAt(whole, f.substr(open + 1, f.size() - open - 2), is_return, is_uprobe, depth + 1);
  }
  return bad(Quote(f) + " is not a fetch the kernel knows (%REG, +OFF(FETCH), $retval, $stack, @SYMBOL, \\IMM)");
}

}  // namespace

Result<void> CheckFetch(std::string_view fetch, bool is_return, bool is_uprobe) {
  return CheckFetchAt(fetch, fetch, is_return, is_uprobe, 0);
}

Result<void> CheckType(std::string_view type) {
  if (type.empty()) return {};
  auto bad = [&] {
    return Fail("probe argument type " + Quote(type) +
                ": expected u8/u16/u32/u64, s8..s64, x8..x64, string, ustring, symbol or bSIZE@OFFSET/CONTAINER");
  };
  std::string_view t = type;
  // Arrays: TYPE[N].
  if (t.back() == ']') {
    size_t open = t.rfind('[');
    if (open == std::string_view::npos || !AllDigits(t.substr(open + 1, t.size() - open - 2), false)) return bad();
    t = t.substr(0, open);
  }
  if (t == "string" || t == "ustring" || t == "symbol") return {};
  if ((t[0] == 'u' || t[0] == 's' || t[0] == 'x') && t.size() <= 3) {
    std::string_view bits = t.substr(1);
    if (bits == "8" || bits == "16" || bits == "32" || bits == "64") return {};
    return bad();
  }
  if (t[0] == 'b') {
    size_t at = t.find('@'), slash = t.find('/');
    if (at == std::string_view::npos || slash == std::string_view::npos || slash < at) return bad();
    if (!AllDigits(t.substr(1, at - 1), false) || !AllDigits(t.substr(at + 1, slash - at - 1), false)) return bad();
    std::string_view container = t.substr(slash + 1);
    if (container != "8" && container != "16" && container != "32" && container != "64") return bad();
    return {};
  }
  return bad();
}

std::string ProbeDefinition(const ResolvedProbe& p) {
  std::string line = std::string(p.is_return ? "r:" : "p:") + p.group + "/" + p.event + " ";
  if (p.is_uprobe) {
    line += p.binary + ":" + Hex(p.file_offset);
  } else if ((!p.is_return || p.kretprobe_offset) && p.text_offset) {
    line += "_text+" + std::to_string(*p.text_offset);
  } else {
    line += p.symbol + "+" + std::to_string(p.offset);
  }
  for (const auto& arg : p.args) {
    line += " ";
    if (!arg.name.empty()) line += arg.name + "=";
    line += arg.fetch;
    if (!arg.type.empty()) line += ":" + arg.type;
  }
  return line;
}

std::string ProbeRemoval(const std::string& group, const std::string& event) { return "-:" + group + "/" + event; }

}  // namespace exitprof::probe
