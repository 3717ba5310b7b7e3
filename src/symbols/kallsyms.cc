#include "symbols/kallsyms.h"

#include <algorithm>
#include <fstream>
#include <span>
#include <sstream>

#include "tracedat/file.h"

namespace exitprof::symbols {

namespace {

bool IsFunctionType(char t) { return t == 't' || t == 'T' || t == 'w' || t == 'W'; }

bool ParseHex(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  out = v;
  return true;
}

// Splits on runs of spaces and tabs.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

Result<KernelSymbolMap> KernelSymbolMap::Parse(std::string_view text, const std::string& origin) {
  KernelSymbolMap map;
  map.origin_ = origin;
  size_t line_no = 0, first_bad = 0;
  bool any_nonzero = false;
  std::string first_bad_text;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto f = Fields(line);
    if (f.empty()) continue;
    uint64_t address = 0;
    if (f.size() < 3 || f.size() > 4 || f[1].size() != 1 || !ParseHex(f[0], address)) {
      if (map.skipped_lines_++ == 0) {
        first_bad = line_no;
        first_bad_text = std::string(line.substr(0, 60));
        // Shown to the user: no control bytes or non-ASCII from a binary file on the terminal.
        for (char& c : first_bad_text)
          if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
      }
      continue;
    }
    ++map.all_count_;
    any_nonzero |= address != 0;
    char type = f[1][0];
    std::string_view name = f[2];
    if (name == "_text" || name == "_stext" || name == "_etext" || name == "_end") {
      map.markers_.emplace_back(std::string(name), address);
    }
    if (!IsFunctionType(type)) continue;
    KernelSymbol sym{address, type, std::string(name), {}};
    if (f.size() == 4) {
      std::string_view mod = f[3];
      if (mod.size() >= 2 && mod.front() == '[' && mod.back() == ']') mod = mod.substr(1, mod.size() - 2);
      sym.module = std::string(mod);
    }
    map.functions_.push_back(std::move(sym));
  }
  if (map.all_count_ == 0) {
    if (map.skipped_lines_ > 0) {
      return Fail(origin + ": line " + std::to_string(first_bad) + ": expected 'ADDRESS TYPE NAME [[MODULE]]' as in /proc/kallsyms or System.map, found '" + first_bad_text + "'");
    }
    return Fail(origin + ": no symbols (expected lines 'ADDRESS TYPE NAME' as in /proc/kallsyms or System.map)");
  }
  if (!any_nonzero) {
    return Fail(origin + ": every address is 0: the dump was read without privileges (kptr_restrict); read /proc/kallsyms as root");
  }
  if (map.functions_.empty()) return Fail(origin + ": no function (t/T/w/W) symbols");
  std::stable_sort(map.functions_.begin(), map.functions_.end(),
                   [](const KernelSymbol& a, const KernelSymbol& b) { return a.address < b.address; });
  uint64_t last = map.functions_.back().address;
  map.high_ = (last | 0xfff) + 1 > last ? (last | 0xfff) + 1 : last;
  return map;
}

Result<KernelSymbolMap> KernelSymbolMap::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(path + ": cannot open the symbol file (expected a /proc/kallsyms dump or System.map)");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  // A trace.dat carries the kallsyms of the kernel it was recorded on (trace-cmd record).
  std::span<const uint8_t> raw(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (tracedat::HasTraceDatMagic(raw)) {
    auto file = tracedat::ParseTraceDat(raw, path);
    if (!file) return tl::unexpected(file.error());
    if (file->meta.kallsyms.empty()) {
      return Fail(path + ": this trace.dat has no kallsyms (recorded without them): give the kernel's /proc/kallsyms dump");
    }
    return Parse(file->meta.kallsyms, path + " (its kallsyms)");
  }
  return Parse(bytes, path);
}

std::optional<KernelSymbolHit> KernelSymbolMap::Find(uint64_t address) const {
  if (functions_.empty() || address < functions_.front().address || address >= high_) return std::nullopt;
  auto it = std::upper_bound(functions_.begin(), functions_.end(), address,
                             [](uint64_t a, const KernelSymbol& s) { return a < s.address; });
  auto next = it;  // the first symbol above the address, or end
  --it;            // the last symbol at or below it
  // Across the end of the image or of a module (the gap before the next module), a symbol
  // ends with its page instead of reaching the next symbol.
  bool last_of_region = next == functions_.end() || next->module != it->module;
  if (last_of_region && address >= ((it->address | 0xfff) + 1)) return std::nullopt;
  // Aliases share an address: perf shows the first one listed, so walk back to it.
  while (it != functions_.begin() && std::prev(it)->address == it->address) --it;
  return KernelSymbolHit{&*it, address - it->address};
}

std::optional<uint64_t> KernelSymbolMap::AddressOf(std::string_view name) const {
  for (const auto& [n, a] : markers_)
    if (n == name) return a;
  for (const auto& s : functions_)
    if (s.name == name) return s.address;
  return std::nullopt;
}

}  // namespace exitprof::symbols
