// The report's tables, each declared once from the model by one function, and the registry that
// names them: `--by`, its --help text, and the text, CSV and JSON renderers all read it.
#pragma once

#include <string>
#include <vector>

#include "analysis/report_model.h"
#include "render/table.h"

namespace exitprof::render {

struct TableOptions {
  size_t top = 0;             // rows kept (per reason in the RIP and function tables); 0 = all
  bool inline_chain = false;  // RIP rows: the functions their code was inlined into (text)
  std::string latency_event = "vmexit";  // the latency table: by "vmexit" reason, "ioport" or "mmio"
};

// The `--by` tables, in the order text shows them.
struct TableSpec {
  std::string name;  // --by NAME, --format csv's one table
  std::string what;  // for --help
  Table (*build)(const analysis::ReportModel&, const TableOptions&);
};
const std::vector<TableSpec>& ReportTables();
// "reason,latency,vm,...": the names --by accepts.
std::vector<std::string> ReportTableNames();
// "\nTables (--by NAME):\n  reason     exits by reason\n...": for --help.
std::string ReportTablesHelp();
// One table by name (also "ioport" and "mmio-cost": the latency table of that event);
// false for an unknown name.
bool BuildReportTable(const analysis::ReportModel& m, const std::string& name, const TableOptions& o, Table* out);

// Why a table fed by `event` ("kvm:kvm_msr") has no row: it was not recorded, or none of it fired
// or passed the filters.
std::string EventWhy(const analysis::ReportModel& m, const std::string& event);
// Why the exit tables have no row (kvm_exit not recorded or silent, or the filters matched nothing).
std::string ExitsWhy(const analysis::ReportModel& m);

// One function per table.
Table ReasonTable(const analysis::ReportModel& m, const TableOptions& o);
Table VmTable(const analysis::ReportModel& m, const TableOptions& o);
Table VcpuTable(const analysis::ReportModel& m, const TableOptions& o);
Table CpuTable(const analysis::ReportModel& m, const TableOptions& o);
Table RipTable(const analysis::ReportModel& m, const TableOptions& o);
Table SymbolTable(const analysis::ReportModel& m, const TableOptions& o);
Table UserspaceTable(const analysis::ReportModel& m, const TableOptions& o);
Table UserspaceThreadTable(const analysis::ReportModel& m, const TableOptions& o);
// Port IO: kvm_pio's counts, else those decoded from IO exits; PioRowsTable: either list (JSON).
Table PioTable(const analysis::ReportModel& m, const TableOptions& o);
Table PioRowsTable(const std::vector<analysis::PioRow>& rows, const std::string& title, size_t top);
Table PioThreadTable(const analysis::ReportModel& m, const TableOptions& o);
Table MmioTable(const analysis::ReportModel& m, const TableOptions& o);
Table MmioPidTable(const analysis::ReportModel& m, const TableOptions& o);
Table MmioPageTable(const analysis::ReportModel& m, const TableOptions& o);
Table InjectedTable(const analysis::ReportModel& m, const TableOptions& o);
Table MsrTable(const analysis::ReportModel& m, const TableOptions& o);
Table DeviceTable(const analysis::ReportModel& m, const TableOptions& o);
Table UnattributedTable(const analysis::ReportModel& m, const TableOptions& o);
Table LatencyTable(const analysis::ReportModel& m, const TableOptions& o);
Table TimelineTable(const analysis::ReportModel& m, const TableOptions& o);
Table ExplainTable(const analysis::ReportModel& m, const TableOptions& o);

}  // namespace exitprof::render
