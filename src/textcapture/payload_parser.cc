#include "textcapture/payload_parser.h"

#include <charconv>

#include "kvm/reason_table.h"

namespace exitprof::textcapture {

namespace {

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
};

// Reason names as text: letters, digits, '_', '-', '.', and the space of "DB excp".
bool NameLike(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.' || c == ' ')) {
      return false;
    }
  }
  return true;
}

// The reason of "reason NAME[ FLAGS] rip" into r.f[0] (value) and r.f[2] (ISA, 0 = settled later).
bool ReadReason(const Tokens& t, size_t from, size_t rip, Record& r, PayloadContext& ctx) {
  auto f = r.f.data();
  if (from >= rip) return false;
  // "UNKNOWN (35)": the kvm plugin's way to print a value its table lacks.
  if (t[from] == "UNKNOWN" && from + 1 < rip && t[from + 1].size() > 2 && t[from + 1].front() == '(') {
    std::string_view num = t[from + 1].substr(1, t[from + 1].size() - 2);
    f[2] = 0;
    return ParseDec(num, f[0]);
  }
  // Two-word names ("DB excp") first, then the name alone (" FAILED_VMENTRY" may follow).
  const kvm::ReasonTable& reasons = kvm::ReasonTable::Builtin();
  kvm::ReasonTable::Match v;
  std::string_view name = t[from];
  std::string two;
  if (from + 2 <= rip && from + 1 < rip) {
    two.assign(t[from]).append(" ").append(t[from + 1]);
    v = reasons.Lookup(two);
    if (v.vmx || v.svm) name = two;
  }
  if (!v.vmx && !v.svm) v = reasons.Lookup(name);
  if (v.vmx && v.svm && v.vmx->code < Record::kNoAlt) {
    f[0] = v.svm->code, f[2] = 0, r.vmx_alt = static_cast<uint16_t>(v.vmx->code);
    return true;
  }
  if (v.vmx || v.svm) {
    f[0] = v.vmx ? v.vmx->code : v.svm->code;
    f[2] = v.vmx ? 1 : 2;
    ctx.isa_seen = v.vmx ? "VMX" : "SVM";
    return true;
  }
  if (ParseDec(t[from], f[0]) || ParseHex(t[from], f[0])) {
    f[2] = 0;  // a number: the ISA is settled from the rest of the file
    return true;
  }
  if (!NameLike(name)) return false;
  auto it = ctx.unknown_ids.find(name);
  if (it == ctx.unknown_ids.end()) {
    if (ctx.unknown_reasons.size() >= kMaxUnknownReasons) return false;
    it = ctx.unknown_ids.emplace(std::string(name), kUnknownReasonBase + ctx.unknown_reasons.size()).first;
    ctx.unknown_reasons.emplace_back(name);
  }
  f[0] = it->second, f[2] = 0;
  return true;
}

}  // namespace

bool ParseHex(std::string_view s, uint64_t& v) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}
bool ParseDec(std::string_view s, uint64_t& v) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool ParsePayload(uint8_t kind, std::string_view payload, Record& r, PayloadContext& ctx) {
  const Tokens t(payload);
  const size_t n = t.size();
  auto f = r.f.data();
  switch (kind) {
    case kExit: {
      size_t i = 0;
      if (n >= 2 && t[0] == "vcpu") {
        if (!ParseDec(t[1], f[7])) return false;
        r.has_vcpu = true;
        i = 2;
      }
      if (i + 1 >= n || t[i] != "reason") return false;
      size_t rip = i + 1;
      while (rip < n && t[rip] != "rip") ++rip;
      if (rip + 1 >= n || !ParseHex(t[rip + 1], f[1])) return false;
      if (!ReadReason(t, i + 1, rip, r, ctx)) return false;
      i = rip + 2;
      // trace-cmd's kvm plugin may name the RIP's function ("rip 0x.. func+0x12 info 0 0").
      if (i + 1 < n && t[i] != "info" && t[i] != "info1" && t[i + 1] == "info") ++i;
      if (i < n && t[i] == "info") {  // older: "info A B" in hex without 0x
        if (i + 2 >= n || !ParseHex(t[i + 1], f[3]) || !ParseHex(t[i + 2], f[4])) return false;
        return true;
      }
      for (; i + 1 < n; i += 2) {
        uint64_t v = 0;
        if (!ParseHex(t[i + 1], v)) return false;
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
      if (!ParseDec(v, f[0])) return false;
      size_t i = 2;
      if (n >= 4 && t[2] == "rip") {
        if (!ParseHex(t[3], f[1])) return false;
        i = 4;
        // The kvm plugin's function name after the RIP.
        if (i < n && t[i] != "intr_info" && t[i] != "error_code") ++i;
      }
      for (; i + 1 < n; i += 2) {
        std::string_view val = t[i + 1];
        if (auto b = val.find("[immediate"); b != std::string_view::npos) {  // "%08x%s": glued on
          val = val.substr(0, b);
          f[4] = 1;
        }
        uint64_t x = 0;
        if (!ParseHex(val, x)) return false;
        if (t[i] == "intr_info") f[2] = x;
        else if (t[i] == "error_code") f[3] = x;
      }
      return i == n || (f[4] && i + 1 == n && t[i] == "exit]");
    }
    case kPio: {
      if (n < 7 || t[1] != "at" || t[3] != "size" || t[5] != "count") return false;
      if (t[0] == "pio_write") f[0] = 1;
      else if (t[0] != "pio_read") return false;
      if (!ParseHex(t[2], f[1]) || !ParseDec(t[4], f[2]) || !ParseDec(t[6], f[3])) return false;
      if (n >= 9 && t[7] == "val" && !ParseHex(t[8], f[4])) return false;
      return true;
    }
    case kMmio: {
      if (n < 8 || t[0] != "mmio" || t[2] != "len" || t[4] != "gpa" || t[6] != "val") return false;
      if (t[1] == "unsatisfied-read") f[0] = 0;
      else if (t[1] == "read") f[0] = 1;
      else if (t[1] == "write") f[0] = 2;
      else return false;
      return ParseDec(t[3], f[1]) && ParseHex(t[5], f[2]) && ParseHex(t[7], f[3]);
    }
    case kUserspace: {
      if (n != 3 || t[0] != "reason" || t[2].size() < 3 || t[2].front() != '(' || t[2].back() != ')') return false;
      uint64_t num = 0;
      if (!ParseDec(t[2].substr(1, t[2].size() - 2), num)) return false;
      if (t[1] == "restart" || t[1] == "error") {
        f[1] = static_cast<uint64_t>(-static_cast<int64_t>(num));  // errno < 0: the number is -errno
        return true;
      }
      if (const auto* v = kvm::ReasonTable::Builtin().Lookup(t[1]).userspace) {
        f[0] = v->code;
        return true;
      }
      f[0] = num;  // a reason this kernel's table lacks: its number is printed anyway
      return true;
    }
    case kMsr: {
      if (n < 4 || t[2] != "=") return false;
      if (t[0] == "msr_write") f[0] = 1;
      else if (t[0] != "msr_read") return false;
      if (!ParseHex(t[1], f[1]) || !ParseHex(t[3], f[2])) return false;
      f[3] = n >= 5 && t[4] == "(#GP)";
      return true;
    }
    default: return false;
  }
}

}  // namespace exitprof::textcapture
