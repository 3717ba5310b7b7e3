#include "symbols/guest_symbols.h"

#include <elf.h>
#include <fmt/format.h>

namespace exitprof::symbols {

namespace {

// x86-64 kernels run in the upper half of the canonical address space.
constexpr uint64_t kUpperHalf = 0xffff800000000000ULL;

std::optional<uint64_t> TextStart(const KernelSymbolMap& map) {
  if (auto a = map.AddressOf("_text")) return a;
  return map.AddressOf("_stext");
}

std::optional<uint64_t> TextStart(const ElfSymbolizer& elf) {
  if (auto a = elf.SymbolAddress("_text")) return a;
  return elf.SymbolAddress("_stext");
}

std::string SignedHex(int64_t v) {
  return v < 0 ? fmt::format("-{:#x}", -static_cast<uint64_t>(v)) : fmt::format("{:#x}", static_cast<uint64_t>(v));
}

}  // namespace

std::optional<int64_t> KaslrOffsetFromText(const KernelSymbolMap& runtime, const ElfSymbolizer& linked) {
  auto r = TextStart(runtime);
  auto l = TextStart(linked);
  if (!r || !l) return std::nullopt;
  return static_cast<int64_t>(*r - *l);
}

Result<int64_t> ParseKaslrOffset(const std::string& text) {
  std::string s = text;
  bool negative = !s.empty() && s[0] == '-';
  if (negative) s = s.substr(1);
  int base = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10;
  if (base == 16) s = s.substr(2);
  if (s.empty() || s.size() > 16) return Fail("--kaslr-offset " + text + ": expected a number such as 0x1e000000");
  uint64_t v = 0;
  for (char c : s) {
    int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
            : (base == 16 && std::isxdigit(static_cast<unsigned char>(c))) ? std::tolower(c) - 'a' + 10 : -1;
    if (d < 0) return Fail("--kaslr-offset " + text + ": expected a number such as 0x1e000000");
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
}

Result<std::unique_ptr<GuestSymbols>> GuestSymbols::Open(const GuestSymbolOptions& options) {
  std::unique_ptr<GuestSymbols> g(new GuestSymbols());
  std::vector<std::string> parts;
  if (!options.kallsyms.empty()) {
    auto map = KernelSymbolMap::Load(options.kallsyms);
    if (!map) return tl::unexpected(map.error());
    g->kallsyms_ = std::move(*map);
    parts.push_back(fmt::format("kallsyms {} ({} functions)", options.kallsyms, g->kallsyms_->function_count()));
  }
  if (!options.system_map.empty()) {
    auto map = KernelSymbolMap::Load(options.system_map);
    if (!map) return tl::unexpected(map.error());
    g->system_map_ = std::move(*map);
    parts.push_back(fmt::format("System.map {} ({} functions)", options.system_map, g->system_map_->function_count()));
  }
  if (!options.vmlinux.empty()) {
    SymbolizerOptions so;
    so.debug_dirs = options.debug_dirs;
    auto elf = ElfSymbolizer::Open(options.vmlinux, so);
    if (!elf) return tl::unexpected(elf.error());
    if ((*elf)->machine() != EM_X86_64) {
      return Fail(options.vmlinux + ": ELF machine " + std::to_string((*elf)->machine()) +
                  ", expected x86-64 (62): the guest kernel's vmlinux");
    }
    g->vmlinux_ = std::move(*elf);
    if (!g->vmlinux_->warning().empty()) g->warnings_.push_back(g->vmlinux_->warning());
    parts.push_back(fmt::format("vmlinux {}{}", options.vmlinux, g->vmlinux_->has_dwarf() ? " (DWARF)" : " (symbols only)"));
  }
  // Link-time tables: vmlinux, else System.map. Runtime: kallsyms.
  std::string offset_from;
  if (options.kaslr_offset) {
    g->kaslr_ = *options.kaslr_offset;
    offset_from = "given";
  } else if (g->kallsyms_ && (g->vmlinux_ || g->system_map_)) {
    auto runtime = TextStart(*g->kallsyms_);
    auto linked = g->vmlinux_ ? TextStart(*g->vmlinux_) : TextStart(*g->system_map_);
    if (runtime && linked) {
      g->kaslr_ = static_cast<int64_t>(*runtime - *linked);
      offset_from = g->vmlinux_ ? "kallsyms _text - vmlinux _text" : "kallsyms _text - System.map _text";
    } else {
      g->warnings_.push_back("no _text or _stext in both symbol sources: KASLR offset taken as 0");
      offset_from = "no _text to compare";
    }
  }
  // The runtime text range: kallsyms as it is, else the link-time tables moved by the offset.
  g->text_low_ = g->low();
  g->text_high_ = g->high();
  std::optional<uint64_t> text = g->kallsyms_ ? TextStart(*g->kallsyms_)
                                 : g->system_map_ ? TextStart(*g->system_map_)
                                 : g->vmlinux_    ? TextStart(*g->vmlinux_)
                                                  : std::nullopt;
  if (!g->kallsyms_ && !g->system_map_ && g->vmlinux_ && text) {
    auto end = g->vmlinux_->SymbolAddress("_etext");
    if (end && *end > *text) {
      g->text_low_ = *text + static_cast<uint64_t>(g->kaslr_);
      g->text_high_ = *end + static_cast<uint64_t>(g->kaslr_);
    }
  }
  if (!text) text = g->kallsyms_ ? g->kallsyms_->high() : g->system_map_ ? g->system_map_->high() : 0;
  g->upper_half_kernel_ = text && *text >= kUpperHalf;
  // Link-time tables moved by the offset: an offset that takes the text out of the kernel's
  // half is wrong, and says so (kallsyms addresses are not moved).
  const uint64_t runtime_text = g->kallsyms_ ? *text : *text + static_cast<uint64_t>(g->kaslr_);
  if (g->upper_half_kernel_ && runtime_text < kUpperHalf) {
    g->warnings_.push_back(fmt::format("KASLR offset {} moves the kernel text to {:#x}, out of the kernel's half of the "
                                       "address space: the offset is wrong (kernel RIPs will not resolve)",
                                       SignedHex(g->kaslr_), runtime_text));
  }
  if (offset_from.empty() && (g->vmlinux_ || g->system_map_)) offset_from = "none given: pass --kaslr-offset, or --kallsyms to work it out";
  g->description_ = "guest symbols: " + fmt::format("{}", fmt::join(parts, ", "));
  if (!offset_from.empty()) g->description_ += "; KASLR offset " + SignedHex(g->kaslr_) + " (" + offset_from + ")";
  return g;
}

uint64_t GuestSymbols::low() const {
  if (kallsyms_) return kallsyms_->low();
  if (system_map_) return system_map_->low() + static_cast<uint64_t>(kaslr_);
  return 0;
}

uint64_t GuestSymbols::high() const {
  if (kallsyms_) return kallsyms_->high();
  if (system_map_) return system_map_->high() + static_cast<uint64_t>(kaslr_);
  return 0;
}

const GuestSymbol& GuestSymbols::Resolve(uint64_t rip) {
  auto it = cache_.find(rip);
  if (it != cache_.end()) return it->second;
  return cache_.emplace(rip, Compute(rip)).first->second;
}

GuestSymbol GuestSymbols::Compute(uint64_t rip) {
  GuestSymbol out;
  // Only kernel text is named: a user or real-mode RIP (0x8f1) must not take the name of a
  // kernel function, whatever offset or table was given.
  if (upper_half_kernel_ && rip < kUpperHalf) return out;
  if (text_high_ && (rip < text_low_ || rip >= text_high_)) return out;
  uint64_t linked = rip - static_cast<uint64_t>(kaslr_);
  if (vmlinux_) {
    const Symbolized& s = vmlinux_->Symbolize(linked);
    // Only trust the ELF answer inside a symbol's extent or with DWARF behind it.
    if (s.found && !s.symbol.empty()) {
      out.found = true;
      out.symbol = s.symbol;
      out.offset = s.symbol_offset;
      if (!s.frames.empty() && !s.frames[0].file.empty() && s.frames[0].line != 0) {
        out.srcline = fmt::format("{}:{}", s.frames[0].file, s.frames[0].line);
        for (size_t i = 0; s.frames.size() > 1 && i < s.frames.size(); ++i) {
          const Frame& f = s.frames[i];
          out.inline_chain.push_back(fmt::format("{} at {}:{}", f.function.empty() ? "??" : f.function, f.file.empty() ? "??" : f.file, f.line));
        }
      }
      return out;
    }
  }
  const KernelSymbolMap* map = kallsyms_ ? &*kallsyms_ : system_map_ ? &*system_map_ : nullptr;
  uint64_t lookup = kallsyms_ ? rip : linked;
  if (map) {
    if (auto hit = map->Find(lookup)) {
      out.found = true;
      out.symbol = hit->symbol->name;
      out.offset = hit->offset;
      out.module = hit->symbol->module;
    }
  }
  return out;
}

}  // namespace exitprof::symbols
