#include <fmt/format.h>

#include "render/report_render.h"

namespace exitprof::render {

namespace {
// Quotes a field when it holds a comma, quote or newline (RFC 4180).
std::string Field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}
}  // namespace

std::string RenderCsv(const analysis::ReportModel& m, const std::string& table) {
  std::string out;
  if (table == "reason") {
    out = "reason,count,percent,rate_per_s\n";
    for (const auto& r : m.by_reason) out += fmt::format("{},{},{:.4f},{:.3f}\n", Field(r.reason), r.count, r.percent, r.rate_per_s);
  } else if (table == "rip") {
    if (m.guest_symbols.empty()) {
      out = "reason,rip,count\n";
      for (const auto& r : m.by_rip) out += fmt::format("{},{:#x},{}\n", Field(r.reason), r.rip, r.count);
    } else {
      out = "reason,rip,count,symbol,offset,module,srcline\n";
      for (const auto& r : m.by_rip)
        out += fmt::format("{},{:#x},{},{},{:#x},{},{}\n", Field(r.reason), r.rip, r.count, Field(r.symbol), r.symbol_offset, Field(r.module), Field(r.srcline));
    }
  } else if (table == "sym") {
    out = "reason,symbol,module,count,percent,rips\n";
    for (const auto& r : m.by_sym)
      out += fmt::format("{},{},{},{},{:.4f},{}\n", Field(r.reason), Field(r.symbol), Field(r.module), r.count, r.percent_of_reason, r.rips);
  } else if (table == "vcpu") {
    out = "pid,vcpu,tid,comm,count\n";
    for (const auto& r : m.by_vcpu)
      out += fmt::format("{},{},{},{},{}\n", r.pid, r.vcpu < 0 ? std::string() : std::to_string(r.vcpu), r.tid, Field(r.comm), r.count);
  } else if (table == "vm") {
    out = "pid,comm,name,vcpus,count\n";
    for (const auto& r : m.by_vm) out += fmt::format("{},{},{},{},{}\n", r.pid, Field(r.comm), Field(r.name), r.vcpus, r.count);
  } else if (table == "pio") {
    out = "port,direction,size,count\n";
    for (const auto& r : m.pio) out += fmt::format("{:#x},{},{},{}\n", r.port, r.write ? "write" : "read", r.size, r.count);
  } else if (table == "mmio") {
    out = "gpa,type,len,count\n";
    for (const auto& r : m.mmio) out += fmt::format("{:#x},{},{},{}\n", r.gpa, r.type, r.len, r.count);
  } else if (table == "msr") {
    out = "index,direction,count\n";
    for (const auto& r : m.msr) out += fmt::format("{:#x},{},{}\n", r.index, r.write ? "write" : "read", r.count);
  } else if (table == "latency" || table == "ioport" || table == "mmio-cost") {
    const auto& rows = table == "latency" ? m.latency : table == "ioport" ? m.latency_ioport : m.latency_mmio;
    out = table == "latency" ? "reason,idle," : "key,";
    out += "count,total_ns,min_ns,mean_ns,p50_ns,p90_ns,p99_ns,p999_ns,max_ns,percentiles,rel_stderr_percent\n";
    for (const auto& r : rows) {
      const auto& s = r.summary;
      if (table == "latency") out += fmt::format("{},{},", Field(r.reason), r.idle ? 1 : 0);
      else out += Field(r.reason) + ",";
      out += fmt::format("{},{},{},{:.1f},{},{},{},{},{},{},{:.2f}\n", s.count, s.total_ns, s.min_ns, s.mean_ns, s.p50_ns,
                         s.p90_ns, s.p99_ns, s.p999_ns, s.max_ns, s.exact ? "exact" : "approximate", s.rel_stderr_percent());
    }
  } else if (table == "cpu") {
    out = "cpu,count\n";
    for (const auto& r : m.by_cpu) out += fmt::format("{},{}\n", r.cpu, r.count);
  } else if (table == "timeline") {
    out = "time_s,series,count\n";
    for (const auto& s : m.timeline.series) {
      for (size_t i = 0; i < s.counts.size(); ++i) {
        uint64_t t = m.timeline.first_ns + i * m.timeline.bucket_ns;
        out += fmt::format("{}.{:09},{},{}\n", t / 1000000000, t % 1000000000, Field(s.name), s.counts[i]);
      }
    }
  } else if (table == "device") {
    out = RenderDeviceCsv(m);
  } else if (table == "userspace") {
    out = "reason,count\n";
    for (const auto& r : m.userspace_exits) out += fmt::format("{},{}\n", Field(r.name), r.count);
  }
  return out;
}

}  // namespace exitprof::render
