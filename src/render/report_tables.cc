// The exit tables (reason, VM, vCPU, CPU, RIP, guest function, userspace exits) and the registry.
#include "render/report_tables.h"

#include <fmt/format.h>

namespace exitprof::render {

using analysis::ReportModel;

namespace {

// The columns most tables share: a count and its share of the table's total (text only).
Column Count() { return {.key = "count", .header = "Count", .width = 10}; }
Column Share(unsigned show = kText) {
  return {.key = "percent", .header = "Share", .show = show, .width = 7, .digits = 2, .csv_digits = 4, .percent = true};
}

}  // namespace

std::string EventWhy(const ReportModel& m, const std::string& event) {
  for (const auto& e : m.events) {
    if (e.name == event) return event + " was recorded, but none fired or none passed the filters";
  }
  return event + " was not recorded (perf record -e " + event + ", or exitprof record)";
}

std::string ExitsWhy(const ReportModel& m) {
  if (m.exits_total == 0 && m.has_kvm_exit) return "no exit passed the filters (--reason, -p, --vcpu, --time, -g)";
  return EventWhy(m, "kvm:kvm_exit");
}

Table ReasonTable(const ReportModel& m, const TableOptions&) {
  Table t{.name = "reason", .title = fmt::format("Exits by reason{}: {} exits", m.isa.empty() ? "" : " (" + m.isa + ")", m.exits_total)};
  t.Add({.key = "reason", .header = "Reason"});
  t.Add(Count());
  t.Add(Share(kAll));
  t.Add({.key = "rate_per_s", .header = "Rate/s", .width = 10, .digits = 1, .csv_digits = 3});
  t.text_order = {1, 2, 3, 0};
  for (const auto& r : m.by_reason) t.rows.push_back({{r.reason, r.count, r.percent, r.rate_per_s}});
  t.why_empty = ExitsWhy(m);
  return t;
}

Table VmTable(const ReportModel& m, const TableOptions&) {
  Table t{.name = "vm", .title = "Exits by VM"};
  t.Add({.key = "pid", .header = "PID", .width = 8});
  t.Add({.key = "comm", .show = kData});
  t.Add({.key = "name", .show = kData});
  t.Add({.key = "vcpus", .header = "vCPUs", .width = 5});
  t.Add(Count());
  t.Add(Share());
  t.Add({.key = "vm", .header = "VM (process)", .show = kText});
  t.text_order = {4, 5, 0, 3, 6};
  for (const auto& r : m.by_vm) {
    t.rows.push_back({{r.pid, r.comm, Cell::TextOrNull(r.name), r.vcpus, r.count, r.percent,
                       r.name.empty() ? r.comm : r.name + " (" + r.comm + ")"}});
  }
  t.why_empty = ExitsWhy(m);
  return t;
}

namespace {
Table ThreadTable(const std::vector<analysis::VcpuRow>& rows, bool with_vcpu) {
  Table t;
  t.Add({.key = "pid", .header = "PID", .width = 8});
  if (with_vcpu) t.Add({.key = "vcpu", .header = "vCPU", .width = 5});
  t.Add({.key = "tid", .header = "TID", .width = 8});
  t.Add({.key = "comm", .header = "Thread"});
  t.Add(Count());
  t.Add(Share());
  t.text_order = with_vcpu ? std::vector<size_t>{4, 5, 0, 1, 2, 3} : std::vector<size_t>{3, 4, 0, 1, 2};
  for (const auto& r : rows) {
    Row row;
    row.cells = {r.pid};
    if (with_vcpu) row.cells.push_back(r.vcpu < 0 ? Cell() : Cell(r.vcpu));
    row.cells.insert(row.cells.end(), {r.tid, r.comm, r.count, r.percent});
    t.rows.push_back(std::move(row));
  }
  return t;
}
}  // namespace

Table VcpuTable(const ReportModel& m, const TableOptions&) {
  Table t = ThreadTable(m.by_vcpu, true);
  t.name = "vcpu";
  t.title = "Exits by vCPU";
  t.why_empty = ExitsWhy(m);
  return t;
}

Table UserspaceThreadTable(const ReportModel& m, const TableOptions&) {
  Table t = ThreadTable(m.userspace_exits_by_thread, false);
  t.name = "userspace_threads";
  t.title = "Exits to userspace by vCPU thread";
  return t;
}

Table CpuTable(const ReportModel& m, const TableOptions&) {
  Table t{.name = "cpu", .title = "Exits by host CPU"};
  t.Add({.key = "cpu", .header = "CPU", .width = 5});
  t.Add(Count());
  t.Add(Share());
  t.text_order = {1, 2, 0};
  for (const auto& r : m.by_cpu) t.rows.push_back({{r.cpu, r.count, r.percent}});
  t.why_empty = ExitsWhy(m);
  return t;
}

Table RipTable(const ReportModel& m, const TableOptions& o) {
  Table t{.name = "rip", .title = o.top ? fmt::format("Top {} guest RIPs per reason", o.top) : "Guest RIPs per reason"};
  // Symbol columns: in CSV when RIPs were symbolized; in JSON for the rows that have one.
  const unsigned symbols = m.guest_symbols.empty() ? kJson : kData;
  t.Add({.key = "reason", .show = kData});
  // As perf script prints a RIP (and JSON and CSV give it), right-aligned.
  t.Add({.key = "rip", .header = "Guest RIP", .width = 18, .pad_header = false});
  t.Add(Count());
  t.Add({.key = "symbol", .show = symbols, .skip_null = true});
  t.Add({.key = "offset", .show = symbols & kCsv});
  t.Add({.key = "offset", .show = kJson, .skip_null = true});
  t.Add({.key = "module", .show = symbols, .skip_null = true});
  t.Add({.key = "srcline", .show = symbols, .skip_null = true});
  t.Add({.key = "inline_chain", .show = kJson, .skip_null = true});
  t.Add(Share());
  t.Add({.key = "function", .show = kText, .skip_null = true});
  t.text_order = {2, 9, 1, 10};
  t.group = 0;
  for (const auto& r : m.by_rip) {
    const bool sym = !r.symbol.empty();
    Row row;
    Cell where;
    if (sym) {
      std::string text = fmt::format("{}+{:#x}", r.symbol, r.symbol_offset);
      if (!r.module.empty()) text += " [" + r.module + "]";
      if (!r.srcline.empty()) text += "  " + r.srcline;
      where = text;
    }
    row.cells = {r.reason, Cell::Hex(r.rip), r.count, Cell::TextOrNull(r.symbol), Cell::Hex(r.symbol_offset),
                 sym ? Cell::Hex(r.symbol_offset) : Cell(), sym ? Cell::TextOrNull(r.module) : Cell(),
                 sym ? Cell::TextOrNull(r.srcline) : Cell(),
                 sym && !r.inline_chain.empty() ? Cell::Json(r.inline_chain) : Cell(), r.percent_of_reason, where};
    if (o.inline_chain) {
      for (size_t i = 0; i < r.inline_chain.size(); ++i)
        row.text_after.push_back(fmt::format("  {:>10}   {:>6}   {:>18}  {} {}", "", "", "", i == 0 ? "inlined:" : "     by:", r.inline_chain[i]));
    }
    t.rows.push_back(std::move(row));
  }
  t.why_empty = ExitsWhy(m);
  return t;
}

Table SymbolTable(const ReportModel& m, const TableOptions& o) {
  Table t{.name = "sym", .title = "Exits by guest function", .text_when_empty = false};
  t.Add({.key = "reason", .show = kData});
  t.Add({.key = "symbol", .show = kData});
  t.Add({.key = "module", .show = kCsv});
  t.Add(Count());
  t.Add(Share(kAll));
  t.Add({.key = "rips", .header = "RIPs", .width = 6});
  t.Add({.key = "module", .show = kJson, .skip_null = true});
  t.Add({.key = "function", .header = "Function", .show = kText});
  t.text_order = {3, 4, 5, 7};
  t.group = 0;
  std::string reason;
  size_t in_reason = 0;
  bool cut = false;
  for (const auto& r : m.by_sym) {
    in_reason = r.reason == reason ? in_reason + 1 : 1;
    reason = r.reason;
    if (o.top && in_reason > o.top) {  // rows come biggest first within a reason
      cut = true;
      continue;
    }
    std::string name = r.symbol.empty() ? std::string("[unknown]") : r.symbol;
    if (!r.module.empty()) name += " [" + r.module + "]";
    t.rows.push_back({{r.reason, r.symbol, r.module, r.count, r.percent_of_reason, r.rips, Cell::TextOrNull(r.module), name}});
  }
  if (cut) t.title += fmt::format(", top {} per reason (--top 0: all)", o.top);
  t.why_empty = "needs guest symbols: --kallsyms FILE, --system-map FILE or --vmlinux ELF";
  return t;
}

Table UserspaceTable(const ReportModel& m, const TableOptions&) {
  uint64_t total = 0;
  for (const auto& r : m.userspace_exits) total += r.count;
  Table t{.name = "userspace", .title = fmt::format("Exits to userspace (kvm_userspace_exit): {}", total), .text_when_empty = false};
  t.Add({.key = "reason", .header = "Reason"});
  t.Add(Count());
  t.Add(Share());
  t.Add({.key = "rate_per_s", .header = "Rate/s", .show = kText, .width = 10, .digits = 1});
  t.text_order = {1, 2, 3, 0};
  for (const auto& r : m.userspace_exits) {
    t.rows.push_back({{r.name, r.count, total ? 100.0 * r.count / total : 0.0, m.span_s > 0 ? r.count / m.span_s : 0.0}});
  }
  t.why_empty = EventWhy(m, "kvm:kvm_userspace_exit");
  return t;
}

// Long form (a row per bucket and series): what CSV gives; text draws bars, JSON a list per series.
Table TimelineTable(const ReportModel& m, const TableOptions&) {
  Table t{.name = "timeline", .text_when_empty = false};
  for (const char* key : {"time_s", "series", "count"}) t.Add({.key = key, .show = kCsv});
  for (const auto& s : m.timeline.series) {
    for (size_t i = 0; i < s.counts.size(); ++i) {
      const uint64_t ns = m.timeline.first_ns + i * m.timeline.bucket_ns;
      t.rows.push_back({{fmt::format("{}.{:09}", ns / 1000000000, ns % 1000000000), s.name, s.counts[i]}});
    }
  }
  t.why_empty = "needs --timeline";  // text draws the compact model; this is for CSV
  return t;
}

Table ExplainTable(const ReportModel& m, const TableOptions&) {
  Table t{.name = "explain"};
  for (const char* key : {"source", "count", "percent", "what", "remedy"}) t.Add({.key = key, .show = kData});
  for (const auto& e : m.explain) t.rows.push_back({{e.source, e.count, e.percent, e.what, e.remedy}});
  return t;
}

const std::vector<TableSpec>& ReportTables() {
  static const std::vector<TableSpec> kTables = {
      {"reason", "exits by reason", ReasonTable},
      {"latency", "exit cost per reason (needs --latency; --event ioport/mmio: per port, address)", LatencyTable},
      {"vm", "exits by VM (process)", VmTable},
      {"vcpu", "exits by vCPU thread", VcpuTable},
      {"cpu", "exits by host CPU", CpuTable},
      {"rip", "guest RIPs per reason (--top per reason)", RipTable},
      {"pio", "port IO: kvm_pio, else decoded from IO exits", PioTable},
      {"mmio", "MMIO accesses (kvm_mmio), and by 4 KiB page", MmioTable},
      {"msr", "MSR accesses (kvm_msr)", MsrTable},
      {"userspace", "exits to userspace (kvm_userspace_exit)", UserspaceTable},
      {"timeline", "exits per reason per time bucket (needs --timeline)", TimelineTable},
      {"injected", "injected interrupts (kvm_inj_virq)", InjectedTable},
      {"device", "exits by device, BAR and register (a device map)", DeviceTable},
      {"sym", "exits by guest function (needs guest symbols)", SymbolTable},
  };
  return kTables;
}

std::vector<std::string> ReportTableNames() {
  std::vector<std::string> names;
  for (const auto& t : ReportTables()) names.push_back(t.name);
  return names;
}

std::string ReportTablesHelp() {
  std::string out = "\nTables (--by NAME; text shows those with data, cpu only when asked; CSV shows one):\n";
  for (const auto& t : ReportTables()) out += fmt::format("  {:<10} {}\n", t.name, t.what);
  return out;
}

bool BuildReportTable(const ReportModel& m, const std::string& name, const TableOptions& o, Table* out) {
  if (name == "ioport" || name == "mmio-cost") {
    TableOptions latency = o;
    latency.latency_event = name == "ioport" ? "ioport" : "mmio";
    *out = LatencyTable(m, latency);
    return true;
  }
  for (const auto& t : ReportTables()) {
    if (t.name != name) continue;
    *out = t.build(m, o);
    return true;
  }
  return false;
}

}  // namespace exitprof::render
