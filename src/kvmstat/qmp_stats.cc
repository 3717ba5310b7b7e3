#include "kvmstat/qmp_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "qemu/qmp.h"

namespace exitprof::kvmstat {
namespace {

StatType TypeFromQapi(const std::string& type) {
  if (type == "instant") return StatType::kInstant;
  if (type == "peak") return StatType::kPeak;
  if (type == "linear-histogram") return StatType::kLinearHist;
  if (type == "log2-histogram") return StatType::kLogHist;
  return StatType::kCumulative;
}

StatUnit UnitFromQapi(const std::string& unit) {
  if (unit == "bytes") return StatUnit::kBytes;
  if (unit == "seconds") return StatUnit::kSeconds;
  if (unit == "cycles") return StatUnit::kCycles;
  if (unit == "boolean") return StatUnit::kBoolean;
  return StatUnit::kNone;
}

// An integer member within [lo, hi], else `fallback` (absent, not an integer, out of range):
// converting a JSON float like 1e114 to int would be undefined.
int64_t IntMember(const nlohmann::json& object, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    return v <= static_cast<uint64_t>(hi) ? static_cast<int64_t>(v) : fallback;
  }
  if (it->is_number_integer()) {
    int64_t v = it->get<int64_t>();
    return v >= lo && v <= hi ? v : fallback;
  }
  return fallback;
}

std::string StringMember(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

Result<QmpSchemas> ParseQmpSchemas(const nlohmann::json& answer) {
  QmpSchemas out;
  if (!answer.is_array()) return Fail("QMP query-stats-schemas: expected an array");
  for (const auto& provider : answer) {
    if (!provider.is_object() || StringMember(provider, "provider") != "kvm") continue;
    QmpSchema& target = StringMember(provider, "target") == "vm" ? out.vm : out.vcpu;
    auto stats = provider.find("stats");
    if (stats == provider.end() || !stats->is_array()) continue;
    for (const auto& s : *stats) {
      if (!s.is_object() || !s.contains("name") || !s["name"].is_string()) continue;
      StatDescriptor d;
      d.type = TypeFromQapi(StringMember(s, "type"));
      d.unit = UnitFromQapi(StringMember(s, "unit"));
      d.base2 = IntMember(s, "base", 10, 0, 64) == 2;
      d.exponent = static_cast<int16_t>(IntMember(s, "exponent", 0, -64, 64));
      StatMeta meta;
      meta.name = s["name"].get<std::string>();
      meta.type = d.type;
      meta.unit = UnitLabel(d);
      meta.bucket_size = static_cast<uint32_t>(IntMember(s, "bucket-size", 0, 0, UINT32_MAX));
      target[meta.name] = meta;
    }
  }
  return out;
}

Result<StatTable> ParseQmpStats(const nlohmann::json& stats, const QmpSchema& schema) {
  if (!stats.is_array()) return Fail("QMP query-stats: expected a \"stats\" array");
  auto meta = std::make_shared<std::vector<StatMeta>>();
  StatTable table;
  for (const auto& s : stats) {
    if (!s.is_object() || !s.contains("name") || !s["name"].is_string() || !s.contains("value")) {
      return Fail("QMP query-stats: expected {\"name\": ..., \"value\": ...} entries");
    }
    StatMeta m;
    m.name = s["name"].get<std::string>();
    if (auto it = schema.find(m.name); it != schema.end()) m = it->second;
    m.first = static_cast<uint32_t>(table.values.size());
    const auto& value = s["value"];
    if (value.is_array()) {
      for (const auto& v : value) table.values.push_back(v.is_number_unsigned() ? v.get<uint64_t>() : 0);
      m.size = static_cast<uint32_t>(value.size());
      if (m.type != StatType::kLinearHist && m.type != StatType::kLogHist) m.type = StatType::kLogHist;
    } else if (value.is_number_unsigned()) {
      table.values.push_back(value.get<uint64_t>());
      m.size = 1;
    } else if (value.is_boolean()) {
      table.values.push_back(value.get<bool>() ? 1 : 0);
      m.size = 1;
    } else {
      return Fail(fmt::format("QMP query-stats: {}: expected a number or a list, found {}", m.name, value.type_name()));
    }
    meta->push_back(std::move(m));
  }
  table.meta = std::move(meta);
  return table;
}

Result<void> ReadQmpStats(const std::string& socket, std::unique_ptr<QmpSchemas>& schemas, VmSnapshot& vm) {
  auto client = qemu::QmpClient::Connect(socket);
  if (!client) return tl::unexpected(client.error());
  if (!schemas) {
    auto answer = client->Execute("query-stats-schemas", {{"provider", "kvm"}});
    if (!answer) return Fail(fmt::format("{}: query-stats-schemas: {} (query-stats needs QEMU 7.1 or newer)", socket, answer.error().message), 1);
    auto parsed = ParseQmpSchemas(*answer);
    if (!parsed) return tl::unexpected(parsed.error());
    schemas = std::make_unique<QmpSchemas>(std::move(*parsed));
  }
  auto vm_answer = client->Execute("query-stats", {{"target", "vm"}, {"providers", {{{"provider", "kvm"}}}}});
  if (!vm_answer) return Fail(fmt::format("{}: query-stats: {}", socket, vm_answer.error().message), 1);
  auto vcpu_answer = client->Execute("query-stats", {{"target", "vcpu"}, {"providers", {{{"provider", "kvm"}}}}});
  if (!vcpu_answer) return Fail(fmt::format("{}: query-stats: {}", socket, vcpu_answer.error().message), 1);
  auto cpus = client->Execute("query-cpus-fast");
  if (!cpus) return Fail(fmt::format("{}: query-cpus-fast: {}", socket, cpus.error().message), 1);

  if (!vm_answer->is_array() || !vcpu_answer->is_array() || !cpus->is_array()) {
    return Fail(fmt::format("{}: query-stats / query-cpus-fast: expected arrays", socket), 1);
  }
  for (const auto& entry : *vm_answer) {
    if (!entry.is_object() || StringMember(entry, "provider") != "kvm" || !entry.contains("stats")) continue;
    auto table = ParseQmpStats(entry["stats"], schemas->vm);
    if (!table) return tl::unexpected(table.error());
    vm.stats = std::move(*table);
  }
  vm.vcpus.clear();
  for (const auto& entry : *vcpu_answer) {
    if (!entry.is_object() || StringMember(entry, "provider") != "kvm" || !entry.contains("stats")) continue;
    VcpuSnapshot vcpu;
    vcpu.vcpu = -1;
    const std::string path = StringMember(entry, "qom-path");
    for (const auto& cpu : *cpus) {
      if (cpu.is_object() && StringMember(cpu, "qom-path") == path) {
        vcpu.vcpu = static_cast<int>(IntMember(cpu, "cpu-index", -1, 0, INT32_MAX));
        vcpu.tid = static_cast<pid_t>(IntMember(cpu, "thread-id", 0, 0, INT32_MAX));
      }
    }
    if (vcpu.vcpu < 0) vcpu.vcpu = static_cast<int>(vm.vcpus.size());
    auto table = ParseQmpStats(entry["stats"], schemas->vcpu);
    if (!table) return tl::unexpected(table.error());
    vcpu.stats = std::move(*table);
    vm.vcpus.push_back(std::move(vcpu));
  }
  std::sort(vm.vcpus.begin(), vm.vcpus.end(), [](auto& a, auto& b) { return a.vcpu < b.vcpu; });
  return {};
}

}  // namespace exitprof::kvmstat
