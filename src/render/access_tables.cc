// The access tables: port IO, MMIO (by address, process and page), MSRs, injected interrupts and
// the devices they went to.
#include <fmt/format.h>

#include <algorithm>

#include "render/report_render.h"
#include "render/report_tables.h"

namespace exitprof::render {

using analysis::ReportModel;

namespace {

Column Count() { return {.key = "count", .header = "Count", .width = 10}; }
Column Direction() { return {.key = "direction", .header = "Dir", .width = 5}; }
const char* Dir(bool write) { return write ? "write" : "read"; }
// kvm_mmio's types: read, write and unsatisfied-read (the exit half of a read).
const char* MmioDirection(const std::string& type) { return type == "write" ? "write" : "read"; }

template <typename Rows>
size_t Kept(const Rows& rows, size_t top) {
  return top == 0 ? rows.size() : std::min(top, rows.size());
}

// The heading says when --top left rows out.
template <typename Rows>
std::string Cut(const Rows& rows, size_t top) {
  return Kept(rows, top) < rows.size() ? fmt::format(", top {} of {} (--top 0: all)", top, rows.size()) : "";
}

}  // namespace

Table PioRowsTable(const std::vector<analysis::PioRow>& rows, const std::string& title, size_t top) {
  Table t{.name = "pio", .title = title + Cut(rows, top), .text_when_empty = false};
  t.Add({.key = "port", .header = "Port", .width = 6});
  t.Add(Direction());
  t.Add({.key = "size", .header = "Size", .width = 4});
  t.Add(Count());
  t.Add({.key = "name", .show = kJson});
  t.Add({.key = "device", .show = kJson});
  t.Add({.key = "device", .header = "Device", .show = kText});
  t.text_order = {3, 0, 1, 2, 6};
  for (size_t i = 0; i < Kept(rows, top); ++i) {
    const auto& r = rows[i];
    t.rows.push_back({{Cell::Hex(r.port), Dir(r.write), uint64_t{r.size}, r.count, r.name, Cell::Json(DeviceJson(r.device)),
                       DeviceText(r.device, r.name)}});
  }
  t.why_empty = "no kvm:kvm_pio event and no IO exit (or none passed the filters)";
  return t;
}

Table PioTable(const ReportModel& m, const TableOptions& o) {
  if (!m.pio.empty()) return PioRowsTable(m.pio, "Port IO (kvm_pio)", o.top);
  return PioRowsTable(m.pio_from_exits, "Port IO (decoded from kvm_exit IO exit qualifications)", o.top);
}

Table PioThreadTable(const ReportModel& m, const TableOptions&) {
  Table t{.name = "pio_by_thread"};
  for (const char* key : {"pid", "tid", "comm", "port", "direction", "size", "count", "device"}) t.Add({.key = key, .show = kJson});
  for (const auto& r : m.pio_by_thread) {
    const auto& a = r.access;
    t.rows.push_back({{r.pid, r.tid, r.comm, Cell::Hex(a.port), Dir(a.write), uint64_t{a.size}, a.count, Cell::Json(DeviceJson(a.device))}});
  }
  return t;
}

Table MmioTable(const ReportModel& m, const TableOptions& o) {
  Table t{.name = "mmio", .title = "MMIO (kvm_mmio)" + Cut(m.mmio, o.top), .text_when_empty = false};
  t.Add({.key = "gpa", .header = "GPA", .width = 18});
  t.Add({.key = "direction", .show = kJson});
  t.Add({.key = "type", .header = "Type", .width = 16});
  t.Add({.key = "len", .header = "Len", .width = 4});
  t.Add(Count());
  t.Add({.key = "name", .show = kJson});
  t.Add({.key = "device", .show = kJson});
  t.Add({.key = "device", .header = "Region", .show = kText});
  t.text_order = {4, 0, 2, 3, 7};
  for (size_t i = 0; i < Kept(m.mmio, o.top); ++i) {
    const auto& r = m.mmio[i];
    t.rows.push_back({{Cell::Hex(r.gpa), MmioDirection(r.type), r.type, r.len, r.count, r.name, Cell::Json(DeviceJson(r.device)),
                       DeviceText(r.device, r.name)}});
  }
  t.why_empty = EventWhy(m, "kvm:kvm_mmio");
  return t;
}

Table MmioPidTable(const ReportModel& m, const TableOptions&) {
  Table t{.name = "mmio_by_pid"};
  for (const char* key : {"pid", "gpa", "direction", "type", "len", "count", "device"}) t.Add({.key = key, .show = kJson});
  for (const auto& r : m.mmio_by_pid) {
    const auto& a = r.access;
    t.rows.push_back({{r.pid, Cell::Hex(a.gpa), MmioDirection(a.type), a.type, a.len, a.count, Cell::Json(DeviceJson(a.device))}});
  }
  return t;
}

Table MmioPageTable(const ReportModel& m, const TableOptions&) {
  Table t{.name = "mmio_pages", .title = "MMIO by 4 KiB page", .text_when_empty = false};
  t.Add({.key = "page", .header = "Page", .width = 18});
  t.Add({.key = "reads", .header = "Reads", .width = 10});
  t.Add({.key = "writes", .header = "Writes", .width = 10});
  t.Add({.key = "name", .header = "Region"});
  t.text_order = {1, 2, 0, 3};
  for (const auto& r : m.mmio_pages) t.rows.push_back({{Cell::Hex(r.page), r.reads, r.writes, r.name}});
  return t;
}

Table InjectedTable(const ReportModel& m, const TableOptions&) {
  Table t{.name = "injected", .title = "Injected interrupts (kvm_inj_virq)", .text_when_empty = false};
  t.Add({.key = "vector", .show = kData});
  t.Add({.key = "soft", .show = kData});
  t.Add(Count());
  t.Add({.key = "vector", .header = "Vector", .show = kText, .width = 6});
  t.Add({.key = "kind", .header = "Kind", .show = kText});
  t.text_order = {2, 3, 4};
  for (const auto& r : m.injected) {
    t.rows.push_back({{r.vector, r.soft, r.count, Cell::Hex(r.vector), r.soft ? "soft (INTn)" : "IRQ"}});
  }
  t.why_empty = EventWhy(m, "kvm:kvm_inj_virq");
  return t;
}

Table MsrTable(const ReportModel& m, const TableOptions&) {
  Table t{.name = "msr", .title = "MSR accesses (kvm_msr)", .text_when_empty = false};
  t.Add({.key = "index", .header = "MSR", .width = 10});
  t.Add(Direction());
  t.Add(Count());
  t.Add({.key = "name", .header = "Name", .show = kText | kJson});
  t.text_order = {2, 0, 1, 3};
  for (const auto& r : m.msr) t.rows.push_back({{Cell::Hex(r.index), Dir(r.write), r.count, r.name}});
  t.why_empty = EventWhy(m, "kvm:kvm_msr");
  return t;
}

Table DeviceTable(const ReportModel& m, const TableOptions&) {
  Table t{.name = "device", .text_when_empty = false};
  t.title = "Exits by device" + (m.device_map_source.empty() ? std::string(" (fixed names only: no device map)")
                                                             : " (device map: " + m.device_map_source + ")");
  if (!m.device_map_warning.empty()) t.title += "\nwarning: " + m.device_map_warning;
  // Per VM when each VMM had its own map: a PID column first.
  const bool per_vm = std::any_of(m.by_device.begin(), m.by_device.end(), [](const auto& r) { return r.pid != 0; });
  t.Add({.key = "pid", .show = kJson});
  t.Add({.key = "device", .show = kJson});
  t.Add({.key = "device", .show = kCsv});
  t.Add({.key = "id", .show = kCsv});
  t.Add({.key = "pci", .header = "PCI", .show = kText | kCsv, .width = 8, .left = true, .gap = 1});
  t.Add({.key = "bar", .header = "BAR", .show = kText | kCsv, .width = 5, .gap = 1});
  t.Add({.key = "offset", .show = kCsv});
  t.Add({.key = "register", .show = kCsv});
  t.Add({.key = "region", .show = kCsv});
  t.Add({.key = "pio", .header = "PIO", .width = 8});
  t.Add({.key = "mmio", .header = "MMIO", .width = 8});
  t.Add({.key = "count", .header = "Exits", .width = 10});
  t.Add({.key = "name", .header = "Device", .show = kText, .width = 24, .left = true});
  t.Add({.key = "offset", .header = "Offset", .show = kText, .width = 8});
  t.Add({.key = "where", .header = "Register / region", .show = kText});
  t.Add({.key = "pid", .header = "PID", .show = per_vm ? kText : 0u, .width = 8});
  t.text_order = {15, 11, 9, 10, 12, 4, 5, 13, 14};
  for (const auto& r : m.by_device) {
    const auto& a = r.device;
    t.rows.push_back({{r.pid ? Cell(r.pid) : Cell(), Cell::Json(DeviceJson(a)), a.device, a.id, Cell::TextOrNull(a.pci),
                       a.bar < 0 ? Cell() : Cell(int64_t{a.bar}), Cell::Hex(a.offset), a.reg, a.region, r.pio, r.mmio, r.count(),
                       a.id.empty() ? a.device : a.device + " (" + a.id + ")", a.bar < 0 ? Cell() : Cell::Hex(a.offset),
                       a.reg.empty() ? a.region : a.reg, r.pid}});
  }
  t.why_empty = "no port IO or MMIO to attribute to a device";
  return t;
}

Table UnattributedTable(const ReportModel& m, const TableOptions&) {
  Table t{.name = "unattributed"};
  for (const char* key : {"pid", "kind", "address", "count", "why"}) t.Add({.key = key, .show = kJson});
  for (const auto& r : m.unattributed) {
    t.rows.push_back({{r.pid ? Cell(r.pid) : Cell(), r.io ? "pio" : "mmio", Cell::Hex(r.address), r.count, r.why}});
  }
  return t;
}

}  // namespace exitprof::render
