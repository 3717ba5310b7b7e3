#include "cli/script_options.h"

#include <charconv>
#include <sstream>
#include <vector>

namespace exitprof::cli {

namespace {

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, sep);) out.push_back(part);
  return out;
}

bool* FieldFlag(ScriptFields& f, const std::string& name) {
  if (name == "comm") return &f.comm;
  if (name == "tid") return &f.tid;
  if (name == "pid") return &f.pid;
  if (name == "cpu") return &f.cpu;
  if (name == "time") return &f.time;
  if (name == "event") return &f.event;
  if (name == "trace") return &f.trace;
  return nullptr;
}

}  // namespace

Result<ScriptFields> ParseScriptFields(const std::string& given) {
  std::string text = given;
  // perf's type prefix: every event exitprof prints is a tracepoint ("trace:").
  if (auto colon = text.find(':'); colon != std::string::npos) {
    std::string type = text.substr(0, colon);
    if (type != "trace") {
      return Fail("-F " + given + ": events of type " + type + " are not printed here; use trace: (tracepoints) or no type");
    }
    text = text.substr(colon + 1);
  }
  ScriptFields fields;
  const bool modify = !text.empty() && (text[0] == '+' || text[0] == '-');
  if (!modify) fields = ScriptFields{false, false, false, false, false, false, false};
  for (std::string item : Split(text, ',')) {
    bool on = true;
    if (modify) {
      if (item.empty() || (item[0] != '+' && item[0] != '-')) {
        return Fail("-F " + given + ": mix of +/- and plain fields; perf takes either \"+pid,-cpu\" or a full list");
      }
      on = item[0] == '+';
      item = item.substr(1);
    }
    bool* flag = FieldFlag(fields, item);
    if (!flag) {
      return Fail("-F " + given + ": unknown field \"" + item + "\"; a kvm event has comm, tid, pid, cpu, time, event, trace");
    }
    *flag = on;
  }
  return fields;
}

Result<std::set<uint32_t>> ParseIdList(const std::string& text, const std::string& flag, bool ranges) {
  std::set<uint32_t> out;
  auto bad = [&] {
    return Fail(flag + " " + text + (ranges ? ": expected CPUs such as 0-3,8" : ": expected ids such as 1234,5678"));
  };
  auto number = [](const std::string& s, uint32_t& v) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
  };
  for (const auto& item : Split(text, ',')) {
    auto dash = ranges ? item.find('-') : std::string::npos;
    uint32_t a = 0, b = 0;
    if (dash == std::string::npos) {
      if (!number(item, a)) return bad();
      b = a;
    } else if (!number(item.substr(0, dash), a) || !number(item.substr(dash + 1), b) || b < a || b - a > 65536) {
      return bad();
    }
    for (uint64_t v = a; v <= b; ++v) out.insert(static_cast<uint32_t>(v));
  }
  if (out.empty()) return bad();
  return out;
}

std::set<std::string> ParseCommList(const std::string& text) {
  auto parts = Split(text, ',');
  return {parts.begin(), parts.end()};
}

void ScriptFilter::SetFirstSampleTime(uint64_t first) {
  begin_ = time_begin.value_or(0);
  end_ = time_end.value_or(0);
  if (reltime && (time_begin || time_end)) {
    begin_ += first;
    end_ += first;
  }
  resolved_ = true;
}

bool ScriptFilter::Keep(uint64_t time, uint32_t cpu, uint32_t pid, uint32_t tid, const std::string& comm) const {
  if (resolved_ && ((begin_ && begin_ > time) || (end_ && end_ < time))) return false;
  if (!cpus.empty() && !cpus.count(cpu)) return false;
  if (!pids.empty() && !pids.count(pid)) return false;
  if (!tids.empty() && !tids.count(tid)) return false;
  if (!comms.empty() && !comms.count(comm)) return false;
  return true;
}

}  // namespace exitprof::cli
