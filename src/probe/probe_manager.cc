#include "probe/probe_manager.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "base/unique_fd.h"
#include "probe/binary_resolver.h"

namespace exitprof::probe {

ProbeManager::ProbeManager(std::string tracefs_root, std::string registry)
    : root_(std::move(tracefs_root)), registry_(std::move(registry)) {}

bool ProbeManager::KprobesSupported() const { return ::access((root_ + "/kprobe_events").c_str(), W_OK) == 0; }
bool ProbeManager::UprobesSupported() const { return ::access((root_ + "/uprobe_events").c_str(), W_OK) == 0; }

Result<void> ProbeManager::Write(const std::string& file, const std::string& line) const {
  std::string path = root_ + "/" + file;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (!fd.valid()) {
    int e = errno;
    if (e == ENOENT && file == "kprobe_events") {
      return Fail("this kernel has no kprobe events (built without CONFIG_KPROBE_EVENTS): kernel functions cannot be "
                  "probed here; user-space probes work (-x BINARY)",
                  1);
    }
    return Fail(path + ": " + std::strerror(e) + (e == EACCES || e == EPERM ? " (run as root)" : ""), 1);
  }
  if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    int e = errno;
    std::string why = e == EINVAL ? "the kernel refused the definition (check registers, offsets and types)"
                      : e == EEXIST ? "an event with this name exists"
                      : e == EBUSY  ? "the event is in use (stop the tracer that has it open first)"
                      : e == ENOENT ? "no such event or file"
                                    : std::strerror(e);
    return Fail(file + ": \"" + line + "\": " + why, e == EINVAL ? 2 : 1);
  }
  return {};
}

std::vector<ListedProbe> ProbeManager::List() const {
  std::vector<ListedProbe> out;
  for (const char* file : {"kprobe_events", "uprobe_events"}) {
    std::ifstream in(root_ + "/" + file);
    std::string line;
    while (std::getline(in, line)) {
      // "p:probe_pt/f /tmp/pt:0x0000000000001190 x=%di:s32"
      if (line.size() < 3 || line[1] != ':') continue;
      size_t slash = line.find('/'), space = line.find(' ');
      if (slash == std::string::npos || space == std::string::npos || slash > space) continue;
      ListedProbe p;
      p.group = line.substr(2, slash - 2);
      p.event = line.substr(slash + 1, space - slash - 1);
      p.definition = line.substr(space + 1);
      p.is_uprobe = std::strcmp(file, "uprobe_events") == 0;
      out.push_back(std::move(p));
    }
  }
  return out;
}

void ProbeManager::Note(const std::string& name, bool add) const {
  std::set<std::string> names;
  {
    std::ifstream in(registry_);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) names.insert(line);
    }
  }
  if (add) names.insert(name);
  else names.erase(name);
  auto dir = registry_.substr(0, registry_.rfind('/'));
  ::mkdir(dir.c_str(), 0755);
  std::ofstream out(registry_, std::ios::trunc);
  for (const auto& n : names) out << n << "\n";
}

Result<std::string> ProbeManager::Add(ResolvedProbe probe, bool force) {
  std::set<std::string> existing;
  for (const auto& p : List()) existing.insert(p.Name());
  std::string base = probe.event;
  if (existing.count(probe.group + ":" + probe.event)) {
    if (!force) {
      return Fail("event " + probe.group + ":" + probe.event + " exists already: remove it (exitprof probe --del " +
                  probe.group + ":" + probe.event + ") or add with --force (named " + base + "_1)");
    }
    for (int i = 1; existing.count(probe.group + ":" + base + "_" + std::to_string(i)); ++i) {
      probe.event = base + "_" + std::to_string(i + 1);
    }
    if (probe.event == base) probe.event = base + "_1";
  }
  if (auto w = Write(probe.is_uprobe ? "uprobe_events" : "kprobe_events", ProbeDefinition(probe)); !w) {
    return tl::unexpected(w.error());
  }
  std::string name = probe.group + ":" + probe.event;
  Note(name, true);
  return name;
}

Result<std::vector<std::string>> ProbeManager::Delete(const std::string& pattern) {
  std::vector<std::string> removed;
  bool has_group = pattern.find(':') != std::string::npos;
  for (const auto& p : List()) {
    if (!GlobMatch(pattern, has_group ? p.Name() : p.event)) continue;
    // A probe that is enabled must be disabled first.
    std::string enable = root_ + "/events/" + p.group + "/" + p.event + "/enable";
    if (UniqueFd fd(::open(enable.c_str(), O_WRONLY | O_CLOEXEC)); fd.valid()) (void)!::write(fd.get(), "0", 1);
    if (auto w = Write(p.is_uprobe ? "uprobe_events" : "kprobe_events", ProbeRemoval(p.group, p.event)); !w) {
      return tl::unexpected(w.error());
    }
    Note(p.Name(), false);
    removed.push_back(p.Name());
  }
  return removed;
}

Result<std::vector<std::string>> ProbeManager::Cleanup() {
  std::vector<std::string> removed;
  std::ifstream in(registry_);
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) names.push_back(line);
  }
  for (const auto& n : names) {
    auto r = Delete(n);
    if (!r) return r;
    removed.insert(removed.end(), r->begin(), r->end());
    Note(n, false);
  }
  return removed;
}

}  // namespace exitprof::probe
