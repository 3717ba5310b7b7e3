// A flame graph as one self-contained SVG file (no network, no external script): frames sized by
// weight with the root at the bottom, a tooltip per frame, click to zoom into a frame, Reset Zoom,
// and Search (regular expression) that highlights matches and says what share they hold.
#pragma once

#include <string>

#include "callgraph/call_tree.h"

namespace exitprof::callgraph {

struct FlameGraphOptions {
  std::string title = "exitprof flame graph";
  std::string subtitle;       // e.g. the recording and event
  std::string count_name = "samples";
  int width = 1200;           // pixels
  int frame_height = 16;
  double min_width_px = 0.1;  // narrower frames are left out (their weight stays in the parent)
};

std::string RenderFlameGraphSvg(const CallNode& callers_root, const FlameGraphOptions& options);

}  // namespace exitprof::callgraph
