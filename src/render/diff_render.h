// Renders a DiffModel as text tables (per kind, biggest changes first) or JSON.
#pragma once

#include <string>

#include "analysis/diff_model.h"

namespace exitprof::render {

std::string RenderDiffText(const analysis::DiffModel& d, size_t top);
std::string RenderDiffJson(const analysis::DiffModel& d);

}  // namespace exitprof::render
