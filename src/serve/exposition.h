// Prometheus exposition: metric families built once per scrape, rendered as the text format
// 0.0.4 or as OpenMetrics 1.0 (what Prometheus asks for first in its Accept header). The two
// differ in small ways we keep in one place: OpenMetrics names a counter family without its
// `_total`, ends with `# EOF`, and has its own content type.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace exitprof::serve {

enum class MetricType { kCounter, kGauge, kHistogram };

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  std::string suffix;  // "", "_bucket", "_sum", "_count" (counters: "_total" is in the name)
  Labels labels;
  double value = 0;
};

struct Family {
  Family(std::string name_, MetricType type_, std::string help_) : name(std::move(name_)), type(type_), help(std::move(help_)) {}
  std::string name;  // counters end in "_total"
  MetricType type = MetricType::kGauge;
  std::string help;
  std::vector<Sample> samples;

  void Add(Labels labels, double value, std::string suffix = "") {
    samples.push_back({std::move(suffix), std::move(labels), value});
  }
  // A classic histogram from cumulative counts per upper bound (the last bound is +Inf); a NaN
  // `sum` leaves _sum out.
  void AddHistogram(const Labels& labels, const std::vector<double>& bounds, const std::vector<uint64_t>& cumulative,
                    double sum);
};

enum class Format { kText004, kOpenMetrics };

// What the Accept header asks for: OpenMetrics when it names application/openmetrics-text.
Format NegotiateFormat(const std::string& accept);
const char* ContentType(Format format);

// Families with no samples are left out (a family header without samples says nothing).
std::string Render(const std::vector<Family>& families, Format format);

// A metric or label name made valid: characters outside [a-zA-Z0-9_] become '_'.
std::string SanitizeName(const std::string& name);

}  // namespace exitprof::serve
