// Helpers for the text-capture tests: run `exitprof report --format json` on a file and keep
// the counts that must not depend on whether the recording was binary or text.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "test_support.h"

namespace exitprof::testing {

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

inline nlohmann::json ReportJson(const std::string& args) {
  auto r = RunCommand(Exitprof() + " report " + args +
                      " --format json --top 0 --by reason,rip,vcpu,vm,pio,mmio,msr,userspace");
  if (r.status != 0) return {{"error", r.err}};
  return nlohmann::json::parse(r.out, nullptr, false);
}

// Drops what a text capture cannot know or only knows to the microsecond: thread-group ids
// (text gives threads), rates, names of processes (by_vm), and zero event counts.
inline void StripVolatile(nlohmann::json& j, bool keep_pid) {
  if (j.is_object()) {
    for (const char* k : {"rate_per_s", "percent"}) j.erase(k);
    if (!keep_pid) j.erase("pid");
    for (auto& [k, v] : j.items()) StripVolatile(v, keep_pid);
  } else if (j.is_array()) {
    for (auto& v : j) StripVolatile(v, keep_pid);
  }
}

inline nlohmann::json Counts(const nlohmann::json& report, bool keep_pid = false) {
  if (report.contains("error")) return report;
  nlohmann::json out;
  nlohmann::json events = nlohmann::json::object();
  for (auto& [k, v] : report["events"].items())
    if (v.get<uint64_t>() != 0) events[k] = v;
  out["events"] = events;
  out["samples"] = report["samples"];
  for (const char* k : {"total", "isa", "by_reason", "by_rip", "by_vcpu"}) out["exits"][k] = report["exits"][k];
  if (keep_pid) out["exits"]["by_vm"] = report["exits"]["by_vm"];
  for (const char* k : {"userspace_exits", "userspace_exits_by_thread", "pio", "pio_from_exits", "mmio", "mmio_pages", "msr"})
    out[k] = report.value(k, nlohmann::json::array());
  StripVolatile(out, keep_pid);
  // The rows of equal counts come in an order that may follow pids: compare as sets.
  for (auto* a : {&out["exits"]["by_vcpu"], &out["userspace_exits_by_thread"]})
    if (a->is_array()) std::sort(a->begin(), a->end());
  return out;
}

}  // namespace exitprof::testing
