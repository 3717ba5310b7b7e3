#include "render/report_render.h"
#include "render/report_tables.h"

namespace exitprof::render {

std::string RenderCsv(const analysis::ReportModel& m, const std::string& name) {
  Table table;
  if (name == "injected" || !BuildReportTable(m, name, {}, &table)) return "";
  if (name == "pio" && m.pio.empty()) table.rows.clear();
  return TableCsv(table);
}

}  // namespace exitprof::render
