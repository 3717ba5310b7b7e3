#include "capture/tracefs.h"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace exitprof::capture {

namespace {

bool IsDir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') out.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

Result<Tracefs> Tracefs::Open() {
  for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    if (IsDir(std::string(root) + "/events")) return Tracefs(root);
  }
  if (::mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0 &&
      IsDir("/sys/kernel/tracing/events")) {
    return Tracefs("/sys/kernel/tracing");
  }
  return Fail(std::string("tracefs is not mounted and mounting it failed (") + std::strerror(errno) +
                  "); as root: mount -t tracefs nodev /sys/kernel/tracing",
              1);
}

Result<std::string> Tracefs::ReadFile(const std::string& relative) const {
  std::string path = root_ + "/" + relative;
  std::ifstream in(path);
  if (!in) return Fail(path + ": cannot read: " + std::strerror(errno), 1);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Tracefs::HasEvent(const std::string& system, const std::string& name) const {
  return ::access((root_ + "/events/" + system + "/" + name + "/id").c_str(), R_OK) == 0;
}

Result<int> Tracefs::EventId(const std::string& system, const std::string& name) const {
  auto text = ReadFile("events/" + system + "/" + name + "/id");
  if (!text) return tl::unexpected(text.error());
  try {
    return std::stoi(*text);
  } catch (...) {
    return Fail(root_ + "/events/" + system + "/" + name + "/id: not a number", 1);
  }
}

Result<std::string> Tracefs::EventFormat(const std::string& system, const std::string& name) const {
  return ReadFile("events/" + system + "/" + name + "/format");
}

std::vector<std::string> Tracefs::ListEvents(const std::string& system) const {
  std::vector<std::string> out;
  std::vector<std::string> systems = system.empty() ? ListDir(root_ + "/events") : std::vector<std::string>{system};
  for (const auto& sys : systems) {
    if (!IsDir(root_ + "/events/" + sys)) continue;
    for (const auto& ev : ListDir(root_ + "/events/" + sys)) {
      if (IsDir(root_ + "/events/" + sys + "/" + ev)) out.push_back(sys + ":" + ev);
    }
  }
  return out;
}

std::vector<std::string> Tracefs::ClosestEvents(const std::string& wanted, size_t n) const {
  auto colon = wanted.find(':');
  auto events = ListEvents(colon == std::string::npos ? "" : wanted.substr(0, colon));
  if (events.empty()) events = ListEvents();
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& e : events) scored.emplace_back(EditDistance(wanted, e), e);
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < n; ++i) out.push_back(scored[i].second);
  return out;
}

}  // namespace exitprof::capture
