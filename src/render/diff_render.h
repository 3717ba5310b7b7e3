// Renders a DiffModel as text tables (per kind, biggest changes first) or JSON.
#pragma once

#include <string>

#include "analysis/diff_model.h"
#include "render/table.h"

namespace exitprof::render {

// The rows of one kind ("reason", "port", "latency_p50"...; "" = every kind), `top` of them (0 = all).
Table DiffTable(const analysis::DiffModel& d, const std::string& kind, size_t top);
std::string RenderDiffText(const analysis::DiffModel& d, size_t top);
std::string RenderDiffJson(const analysis::DiffModel& d);

}  // namespace exitprof::render
