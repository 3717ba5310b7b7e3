// AccountToJson: the accounts of all vCPUs, grouped by VM, in the layout documented in guest.h.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "guest/guest.h"

namespace exitprof::guest {
namespace {

// Keeps keys in the order written, so the file reads like the layout in guest.h.
using Json = nlohmann::ordered_json;

const char* DirectionName(Direction direction) { return direction == Direction::kWrite ? "write" : "read"; }

Json VcpuToJson(const VcpuAccount& account) {
  Json pio = Json::array();
  for (const auto& [key, count] : account.pio) {
    pio.push_back({{"port", fmt::format("{:#x}", key.port)},
                   {"size", key.size},
                   {"direction", DirectionName(key.direction)},
                   {"count", count}});
  }
  Json mmio = Json::array();
  for (const auto& [key, count] : account.mmio) {
    mmio.push_back({{"gpa", fmt::format("{:#x}", key.gpa)},
                    {"len", key.size},
                    {"direction", DirectionName(key.direction)},
                    {"count", count}});
  }
  Json exits = Json::object();
  for (const auto& [name, count] : account.userspace_exits) exits[name] = count;
  Json out = {
      {"vcpu", account.vcpu},
      {"tid", account.tid},
      {"pio", std::move(pio)},
      {"mmio", std::move(mmio)},
      {"hlt", account.hlt},
      {"done", {{"port", fmt::format("{:#x}", kDonePort)}, {"count", account.done}}},
      {"userspace_exits", std::move(exits)},
      {"iterations", account.iterations},
      {"completed", account.completed},
      {"stop_reason", account.stop_reason},
  };
  if (!account.error.empty()) out["error"] = account.error;
  out["stats_fds"] = {{"vm", account.vm_stats_fd}, {"vcpu", account.vcpu_stats_fd}};
  out["elapsed_ns"] = account.elapsed_ns;
  return out;
}

Json StatsToJson(const std::map<std::string, uint64_t>& stats) {
  Json out = Json::object();
  for (const auto& [name, value] : stats) out[name] = value;
  return out;
}

}  // namespace

std::string AccountToJson(const std::vector<VcpuAccount>& accounts) {
  Json vms = Json::array();
  for (const VcpuAccount& account : accounts) {
    auto it = std::find_if(vms.begin(), vms.end(), [&](const Json& vm) { return vm["vm"] == account.vm; });
    if (it == vms.end()) {
      vms.push_back({{"vm", account.vm}, {"pid", account.pid}, {"vcpus", Json::array()}});
      it = vms.end() - 1;
      if (!account.vm_kvm_stats.empty()) (*it)["kvm_stats"] = StatsToJson(account.vm_kvm_stats);
    }
    Json vcpu = VcpuToJson(account);
    if (!account.kvm_stats.empty()) vcpu["kvm_stats"] = StatsToJson(account.kvm_stats);
    (*it)["vcpus"].push_back(std::move(vcpu));
  }
  return Json{{"vms", std::move(vms)}}.dump(2);
}

}  // namespace exitprof::guest
