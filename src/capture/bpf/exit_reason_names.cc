#include "capture/bpf/exit_reason_names.h"

#include <fstream>
#include <sstream>

namespace exitprof::capture::bpf {

ExitReasonNames ExitReasonNames::FromTracefs() {
  for (const char* path : {"/sys/kernel/tracing/events/kvm/kvm_exit/format", "/sys/kernel/debug/tracing/events/kvm/kvm_exit/format"}) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("print fmt:", 0) == 0) return FromPrintFmt(line);
    }
  }
  return {};
}

ExitReasonNames ExitReasonNames::FromPrintFmt(const std::string& fmt) {
  ExitReasonNames out;
  const std::string marker = "__print_symbolic(";
  size_t at = fmt.find(marker);
  for (uint32_t isa = 1; isa <= 2 && at != std::string::npos; ++isa) {
    size_t end = fmt.find("__print_", at + marker.size());
    if (end == std::string::npos) end = fmt.size();
    // Pairs look like { 30, "IO_INSTRUCTION" } or { 0x400, "npf" }.
    size_t pos = at;
    while ((pos = fmt.find('{', pos)) != std::string::npos && pos < end) {
      size_t quote = fmt.find('"', pos), close = quote == std::string::npos ? quote : fmt.find('"', quote + 1);
      if (close == std::string::npos || close > end) break;
      try {
        uint64_t value = std::stoull(fmt.substr(pos + 1, quote - pos - 1), nullptr, 0);
        out.names_[{isa, value}] = fmt.substr(quote + 1, close - quote - 1);
      } catch (...) {
        // not a number: skip this pair
      }
      pos = close + 1;
    }
    at = end < fmt.size() && fmt.compare(end, marker.size(), marker) == 0 ? end : fmt.find(marker, end);
  }
  return out;
}

std::string ExitReasonNames::Name(uint32_t isa, uint32_t reason) const {
  uint64_t key = isa == 1 ? (reason & 0xffff) : reason;  // VMX keeps flags in the high bits
  auto it = names_.find({isa, key});
  if (it != names_.end()) return it->second;
  std::ostringstream s;
  s << "reason " << reason;
  return s.str();
}

}  // namespace exitprof::capture::bpf
