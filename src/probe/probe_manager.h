// Adds, lists and removes kprobe/uprobe events through tracefs, the way perf probe does, so
// perf and exitprof see each other's probes. Probes exitprof adds are also noted in a registry
// (/run/exitprof/probes) so `probe --cleanup` can remove leftovers of a killed run.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "probe/probe_command.h"

namespace exitprof::probe {

struct ListedProbe {
  std::string group, event, definition;  // definition: what the kernel lists after the name
  bool is_uprobe = false;
  std::string Name() const { return group + ":" + event; }
};

class ProbeManager {
 public:
  // tracefs_root: e.g. /sys/kernel/tracing (mounted). registry: where created probes are noted.
  explicit ProbeManager(std::string tracefs_root, std::string registry = "/run/exitprof/probes");

  bool KprobesSupported() const;
  bool UprobesSupported() const;
  // Writes the definition; with `force`, an existing name gets _1, _2 ... as perf -f does.
  // Returns the name the event got ("probe_pt:f").
  Result<std::string> Add(ResolvedProbe probe, bool force);
  // Removes probes whose GROUP:EVENT matches a glob (a bare EVENT matches any group). Returns
  // the names removed.
  Result<std::vector<std::string>> Delete(const std::string& pattern);
  std::vector<ListedProbe> List() const;
  // Removes what the registry lists and still exists.
  Result<std::vector<std::string>> Cleanup();

 private:
  Result<void> Write(const std::string& file, const std::string& line) const;
  void Note(const std::string& name, bool add) const;
  std::string root_, registry_;
};

}  // namespace exitprof::probe
