// Where each process mapped its files, rebuilt from a recording's MMAP/MMAP2 records, so a user
// address can be turned into (file, offset in file) at the time of a sample.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

namespace exitprof::callgraph {

struct Mapping {
  uint64_t start = 0, end = 0, pgoff = 0;
  uint32_t prot = 0;
  std::string path;
  bool executable() const { return prot & 4; }
};

class ProcessMaps {
 public:
  // A new map replaces whatever it overlaps, as mmap(2) does.
  void Map(uint32_t pid, const Mapping& mapping);
  // exec replaces the whole address space.
  void Exec(uint32_t pid);
  // A child starts with its parent's maps.
  void Fork(uint32_t parent, uint32_t child);
  const Mapping* Find(uint32_t pid, uint64_t address) const;
  // Every map of a process, by start address.
  const std::map<uint64_t, Mapping>* Of(uint32_t pid) const;

 private:
  std::unordered_map<uint32_t, std::map<uint64_t, Mapping>> by_pid_;
};

}  // namespace exitprof::callgraph
