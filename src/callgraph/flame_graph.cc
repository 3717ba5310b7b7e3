#include "callgraph/flame_graph.h"

#include <algorithm>
#include <cstdio>
#include <functional>

namespace exitprof::callgraph {

namespace {

std::string Escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default:
        // Control bytes are not allowed in XML 1.0 text.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t') out += '?';
        else out += c;
    }
  }
  return out;
}

// A warm color from the name, so the same function has the same color in every graph.
std::string ColorFor(const std::string& name) {
  uint32_t h = 2166136261u;
  for (unsigned char c : name) h = (h ^ c) * 16777619u;
  int r = 205 + static_cast<int>(h % 50);
  int g = static_cast<int>((h >> 8) % 180);
  int b = static_cast<int>((h >> 16) % 55);
  char buf[24];
  std::snprintf(buf, sizeof(buf), "rgb(%d,%d,%d)", r, g, b);
  return buf;
}

int MaxDepth(const CallNode& node) {
  int d = 0;
  for (const auto& c : node.children) d = std::max(d, 1 + MaxDepth(*c));
  return d;
}

constexpr const char* kScript = R"JS(
(function () {
  var svg = document.documentElement, W = +svg.getAttribute('data-width'), pad = 10;
  var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
  var details = document.getElementById('details'), matched = document.getElementById('matched');
  var reset = document.getElementById('reset');
  function num(g, k) { return parseFloat(g.getAttribute('data-' + k)); }
  function fit(g) {
    var r = g.querySelector('rect'), t = g.querySelector('text'), w = +r.getAttribute('width');
    var name = g.getAttribute('data-name'), n = Math.floor((w - 6) / 7);
    t.setAttribute('x', +r.getAttribute('x') + 3);
    t.textContent = n < 3 ? '' : (name.length <= n ? name : name.substring(0, n - 2) + '..');
  }
  function place(g, x, w) {
    var r = g.querySelector('rect');
    r.setAttribute('x', pad + x * (W - 2 * pad)); r.setAttribute('width', Math.max(0, w * (W - 2 * pad) - 0.5));
    fit(g);
  }
  function zoom(target) {
    var x0 = num(target, 'x'), w0 = num(target, 'w'), d0 = num(target, 'd');
    frames.forEach(function (g) {
      var x = num(g, 'x'), w = num(g, 'w'), d = num(g, 'd');
      var inside = x >= x0 - 1e-12 && x + w <= x0 + w0 + 1e-9;
      var ancestor = d < d0 && x <= x0 + 1e-12 && x + w >= x0 + w0 - 1e-9;
      g.style.display = inside && d >= d0 || ancestor ? '' : 'none';
      g.style.opacity = ancestor ? 0.5 : 1;
      if (ancestor) place(g, 0, 1); else if (inside) place(g, (x - x0) / w0, w / w0);
    });
    reset.style.opacity = 1;
  }
  function unzoom() {
    frames.forEach(function (g) { g.style.display = ''; g.style.opacity = 1; place(g, num(g, 'x'), num(g, 'w')); });
    reset.style.opacity = 0.3;
  }
  frames.forEach(function (g) {
    g.addEventListener('click', function () { zoom(g); });
    g.addEventListener('mouseover', function () { details.textContent = g.querySelector('title').textContent; });
    g.addEventListener('mouseout', function () { details.textContent = ' '; });
  });
  reset.addEventListener('click', unzoom);
  function search(term) {
    var re; try { re = new RegExp(term); } catch (e) { matched.textContent = 'bad pattern'; return; }
    var spans = [];
    frames.forEach(function (g) {
      var r = g.querySelector('rect'), hit = term !== '' && re.test(g.getAttribute('data-name'));
      r.setAttribute('fill', hit ? 'rgb(230,0,230)' : g.getAttribute('data-fill'));
      if (hit) spans.push([num(g, 'x'), num(g, 'x') + num(g, 'w')]);
    });
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var total = 0, end = -1;
    spans.forEach(function (s) { if (s[0] >= end) { total += s[1] - s[0]; end = s[1]; } else if (s[1] > end) { total += s[1] - end; end = s[1]; } });
    matched.textContent = term === '' ? ' ' : 'Matched: ' + (100 * total).toFixed(2) + '%';
  }
  document.getElementById('search').addEventListener('click', function () {
    var term = window.prompt('Search for (regular expression):', '');
    if (term !== null) search(term);
  });
  window.exitprofFlame = { zoom: function (name) { for (var i = 0; i < frames.length; i++) if (frames[i].getAttribute('data-name') === name) { zoom(frames[i]); return true; } return false; }, unzoom: unzoom, search: search };
  frames.forEach(fit);
})();
)JS";

}  // namespace

std::string RenderFlameGraphSvg(const CallNode& root, const FlameGraphOptions& o) {
  const int pad = 10, top = 60, bottom = 30;
  int depth = MaxDepth(root);
  int height = top + depth * o.frame_height + bottom;
  double total = static_cast<double>(root.total ? root.total : 1);
  double usable = o.width - 2 * pad;
  std::string body;
  // Depth 0 is the root ("all"), drawn at the bottom.
  std::function<void(const CallNode&, double, int)> draw = [&](const CallNode& node, double x, int d) {
    double w = static_cast<double>(node.total) / total;
    if (w * usable < o.min_width_px) return;
    const std::string name = d == 0 ? "all" : node.name;
    double y = height - bottom - (d + 1) * o.frame_height;
    char buf[512];
    double pct = 100.0 * w;
    std::string fill = d == 0 ? "rgb(200,200,200)" : ColorFor(name);
    std::snprintf(buf, sizeof(buf),
                  "<g class=\"f\" data-x=\"%.12g\" data-w=\"%.12g\" data-d=\"%d\" data-fill=\"%s\" data-name=\"",
                  x, w, d, fill.c_str());
    body += buf;
    body += Escape(name);
    body += "\"><title>";
    std::snprintf(buf, sizeof(buf), " (%llu %s, %.2f%%)", static_cast<unsigned long long>(node.total),
                  o.count_name.c_str(), pct);
    body += Escape(name) + buf;
    std::snprintf(buf, sizeof(buf),
                  "</title><rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" fill=\"%s\" rx=\"2\"/>"
                  "<text x=\"%.2f\" y=\"%.0f\"></text></g>\n",
                  pad + x * usable, y, std::max(0.0, w * usable - 0.5), o.frame_height - 1, fill.c_str(),
                  pad + x * usable + 3, y + o.frame_height - 5);
    body += buf;
    // Children left to right by name, as flame graphs do (the x axis is not time).
    std::vector<const CallNode*> kids;
    for (const auto& c : node.children) kids.push_back(c.get());
    std::sort(kids.begin(), kids.end(), [](const CallNode* a, const CallNode* b) { return a->name < b->name; });
    double cx = x;
    for (const CallNode* c : kids) {
      draw(*c, cx, d + 1);
      cx += static_cast<double>(c->total) / total;
    }
  };
  draw(root, 0.0, 0);

  std::string svg;
  char head[1024];
  std::snprintf(head, sizeof(head),
                "<?xml version=\"1.0\" standalone=\"no\"?>\n"
                "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                "viewBox=\"0 0 %d %d\" data-width=\"%d\">\n"
                "<style>text { font-family: monospace; font-size: 12px; fill: rgb(0,0,0); }"
                " g.f:hover rect { stroke: black; stroke-width: 0.5; cursor: pointer; }"
                " .btn { cursor: pointer; }</style>\n"
                "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"rgb(248,248,248)\"/>\n",
                o.width, height, o.width, height, o.width, o.width, height);
  svg += head;
  std::snprintf(head, sizeof(head), "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" style=\"font-size:17px\">",
                o.width / 2);
  svg += head + Escape(o.title) + "</text>\n";
  std::snprintf(head, sizeof(head), "<text x=\"%d\" y=\"42\" text-anchor=\"middle\">", o.width / 2);
  svg += head + Escape(o.subtitle) + "</text>\n";
  std::snprintf(head, sizeof(head),
                "<text id=\"reset\" class=\"btn\" x=\"%d\" y=\"24\" style=\"opacity:0.3\">Reset Zoom</text>\n"
                "<text id=\"search\" class=\"btn\" x=\"%d\" y=\"24\" text-anchor=\"end\">Search</text>\n"
                "<text id=\"matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"> </text>\n"
                "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n",
                pad, o.width - pad, o.width - pad, height - 10, pad, height - 10);
  svg += head;
  svg += body;
  svg += "<script type=\"text/ecmascript\"><![CDATA[";
  svg += kScript;
  svg += "]]></script>\n</svg>\n";
  return svg;
}

}  // namespace exitprof::callgraph
