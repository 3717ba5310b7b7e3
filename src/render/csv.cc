#include "render/report_render.h"
#include "render/report_tables.h"

namespace exitprof::render {

std::string RenderCsv(const analysis::ReportModel& m, const std::string& name, size_t top) {
  Table table;
  if (!BuildReportTable(m, name, {.top = top}, &table)) return "";
  return TableCsv(table);
}

}  // namespace exitprof::render
