#include "serve/exposition.h"

#include <fmt/format.h>

#include <cmath>

namespace exitprof::serve {

namespace {

void AppendEscaped(std::string& out, const std::string& value, bool help) {
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && !help) out += "\\\"";
    else out += c;
  }
}

void AppendValue(std::string& out, double v) {
  if (std::isnan(v)) out += "NaN";
  else if (std::isinf(v)) out += v > 0 ? "+Inf" : "-Inf";
  // Counts are integers: print them whole (doubles hold them exactly up to 2^53).
  else if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) fmt::format_to(std::back_inserter(out), "{}", static_cast<int64_t>(v));
  else fmt::format_to(std::back_inserter(out), "{}", v);
}

const char* TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kHistogram: return "histogram";
    default: return "gauge";
  }
}

}  // namespace

void Family::AddHistogram(const Labels& labels, const std::vector<double>& bounds, const std::vector<uint64_t>& cumulative,
                          double sum) {
  for (size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
    Labels with_le = labels;
    std::string le;
    if (std::isinf(bounds[i])) le = "+Inf";
    else le = fmt::format("{}", bounds[i]);
    with_le.emplace_back("le", le);
    Add(std::move(with_le), static_cast<double>(cumulative[i]), "_bucket");
  }
  if (!std::isnan(sum)) Add(labels, sum, "_sum");  // NaN: no sum is kept
  Add(labels, cumulative.empty() ? 0 : static_cast<double>(cumulative.back()), "_count");
}

Format NegotiateFormat(const std::string& accept) {
  return accept.find("application/openmetrics-text") != std::string::npos ? Format::kOpenMetrics : Format::kText004;
}

const char* ContentType(Format format) {
  return format == Format::kOpenMetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                        : "text/plain; version=0.0.4; charset=utf-8";
}

std::string Render(const std::vector<Family>& families, Format format) {
  std::string out;
  out.reserve(64 * 1024);
  for (const auto& f : families) {
    if (f.samples.empty()) continue;
    std::string family_name = f.name;
    if (format == Format::kOpenMetrics && f.type == MetricType::kCounter && family_name.ends_with("_total")) {
      family_name.resize(family_name.size() - 6);
    }
    out += "# HELP " + family_name + " ";
    AppendEscaped(out, f.help, true);
    out += "\n# TYPE " + family_name + " " + TypeName(f.type) + "\n";
    for (const auto& s : f.samples) {
      out += f.name;
      out += s.suffix;
      if (!s.labels.empty()) {
        out += '{';
        for (size_t i = 0; i < s.labels.size(); ++i) {
          if (i) out += ',';
          out += s.labels[i].first;
          out += "=\"";
          AppendEscaped(out, s.labels[i].second, false);
          out += '"';
        }
        out += '}';
      }
      out += ' ';
      AppendValue(out, s.value);
      out += '\n';
    }
  }
  if (format == Format::kOpenMetrics) out += "# EOF\n";
  return out;
}

std::string SanitizeName(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) c = '_';
  }
  if (!out.empty() && out[0] >= '0' && out[0] <= '9') out.insert(out.begin(), '_');
  return out;
}

}  // namespace exitprof::serve
