#include "kvm/qmp_stats.h"

#include <fmt/format.h>

#include "vmm/qmp.h"

namespace exitprof::kvm {
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

}  // namespace

Result<QmpSchemas> ParseQmpSchemas(const nlohmann::json& answer) {
  QmpSchemas out;
  if (!answer.is_array()) return Fail("QMP query-stats-schemas: expected an array");
  for (const auto& provider : answer) {
    if (!provider.is_object() || provider.value("provider", "") != "kvm") continue;
    QmpSchema& target = provider.value("target", "") == "vm" ? out.vm : out.vcpu;
    for (const auto& s : provider.value("stats", nlohmann::json::array())) {
      if (!s.is_object() || !s.contains("name") || !s["name"].is_string()) continue;
      StatDescriptor d;
      d.type = TypeFromQapi(s.value("type", "cumulative"));
      d.unit = UnitFromQapi(s.value("unit", ""));
      d.base2 = s.value("base", 10) == 2;
      d.exponent = static_cast<int16_t>(s.value("exponent", 0));
      StatMeta meta;
      meta.name = s["name"].get<std::string>();
      meta.type = d.type;
      meta.unit = UnitLabel(d);
      meta.bucket_size = s.value("bucket-size", 0u);
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
  auto client = vmm::QmpClient::Connect(socket);
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

  for (const auto& entry : *vm_answer) {
    if (entry.value("provider", "") != "kvm") continue;
    auto table = ParseQmpStats(entry.value("stats", nlohmann::json::array()), schemas->vm);
    if (!table) return tl::unexpected(table.error());
    vm.stats = std::move(*table);
  }
  vm.vcpus.clear();
  for (const auto& entry : *vcpu_answer) {
    if (entry.value("provider", "") != "kvm") continue;
    VcpuSnapshot vcpu;
    vcpu.vcpu = -1;
    const std::string path = entry.value("qom-path", "");
    for (const auto& cpu : *cpus) {
      if (cpu.value("qom-path", "") == path) {
        vcpu.vcpu = cpu.value("cpu-index", -1);
        vcpu.tid = cpu.value("thread-id", 0);
      }
    }
    if (vcpu.vcpu < 0) vcpu.vcpu = static_cast<int>(vm.vcpus.size());
    auto table = ParseQmpStats(entry.value("stats", nlohmann::json::array()), schemas->vcpu);
    if (!table) return tl::unexpected(table.error());
    vcpu.stats = std::move(*table);
    vm.vcpus.push_back(std::move(vcpu));
  }
  std::sort(vm.vcpus.begin(), vm.vcpus.end(), [](auto& a, auto& b) { return a.vcpu < b.vcpu; });
  return {};
}

}  // namespace exitprof::kvm
