#include "callgraph/process_maps.h"

namespace exitprof::callgraph {

void ProcessMaps::Map(uint32_t pid, const Mapping& m) {
  if (m.end <= m.start) return;
  auto& maps = by_pid_[pid];
  // Trim or drop what the new map covers.
  auto it = maps.lower_bound(m.start);
  if (it != maps.begin()) --it;
  while (it != maps.end() && it->second.start < m.end) {
    Mapping old = it->second;
    if (old.end <= m.start) {
      ++it;
      continue;
    }
    it = maps.erase(it);
    if (old.start < m.start) {
      Mapping left = old;
      left.end = m.start;
      maps.emplace(left.start, left);
    }
    if (old.end > m.end) {
      Mapping right = old;
      right.pgoff += m.end - old.start;
      right.start = m.end;
      maps.emplace(right.start, right);
    }
  }
  maps[m.start] = m;
}

void ProcessMaps::Exec(uint32_t pid) { by_pid_.erase(pid); }

void ProcessMaps::Fork(uint32_t parent, uint32_t child) {
  if (parent == child) return;
  auto it = by_pid_.find(parent);
  if (it != by_pid_.end()) by_pid_[child] = it->second;
}

const Mapping* ProcessMaps::Find(uint32_t pid, uint64_t address) const {
  auto p = by_pid_.find(pid);
  if (p == by_pid_.end()) return nullptr;
  auto it = p->second.upper_bound(address);
  if (it == p->second.begin()) return nullptr;
  --it;
  return address < it->second.end ? &it->second : nullptr;
}

const std::map<uint64_t, Mapping>* ProcessMaps::Of(uint32_t pid) const {
  auto p = by_pid_.find(pid);
  return p == by_pid_.end() ? nullptr : &p->second;
}

}  // namespace exitprof::callgraph
