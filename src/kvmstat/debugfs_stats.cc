#include "kvmstat/debugfs_stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>

namespace exitprof::kvmstat {
namespace {

constexpr const char* kDebugfsKvm = "/sys/kernel/debug/kvm";

std::optional<uint64_t> ReadNumber(int dirfd, const char* name) {
  int fd = ::openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[64];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  char* end = nullptr;
  uint64_t v = std::strtoull(buf, &end, 10);
  if (end == buf) return std::nullopt;
  return v;
}

// Every regular file of `dir` holding a number, sorted by name.
std::optional<StatTable> ReadDir(const std::string& dir, std::vector<std::string>* subdirs) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return std::nullopt;
  std::vector<std::pair<std::string, uint64_t>> entries;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (e->d_type == DT_DIR) {
      if (subdirs && name.starts_with("vcpu")) subdirs->push_back(name);
      continue;
    }
    if (auto v = ReadNumber(::dirfd(d), e->d_name)) entries.emplace_back(name, *v);
  }
  ::closedir(d);
  std::sort(entries.begin(), entries.end());
  auto meta = std::make_shared<std::vector<StatMeta>>();
  StatTable table;
  for (auto& [name, value] : entries) {
    StatMeta m;
    m.name = name;
    m.first = static_cast<uint32_t>(table.values.size());
    meta->push_back(std::move(m));
    table.values.push_back(value);
  }
  table.meta = std::move(meta);
  return table;
}

}  // namespace

std::optional<std::string> DebugfsVmDir(pid_t pid, int vm_fd) {
  std::string dir = fmt::format("{}/{}-{}", kDebugfsKvm, pid, vm_fd);
  std::string probe = dir + "/exits";
  if (::access(dir.c_str(), R_OK | X_OK) != 0) return std::nullopt;
  int fd = ::open(probe.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char c;
  bool readable = ::read(fd, &c, 1) > 0;  // lockdown refuses the read, not the open
  ::close(fd);
  if (!readable) return std::nullopt;
  return dir;
}

Result<void> ReadDebugfsStats(const std::string& dir, VmSnapshot& vm) {
  std::vector<std::string> vcpus;
  auto table = ReadDir(dir, &vcpus);
  if (!table) return Fail(fmt::format("{}: cannot read (the VM is gone?)", dir), 1);
  vm.stats = std::move(*table);
  vm.vcpus.clear();
  for (const auto& sub : vcpus) {
    char* end = nullptr;
    long n = std::strtol(sub.c_str() + 4, &end, 10);
    if (end == sub.c_str() + 4 || *end != '\0') continue;
    auto t = ReadDir(dir + "/" + sub, nullptr);
    if (!t) continue;
    vm.vcpus.push_back(VcpuSnapshot{.vcpu = static_cast<int>(n), .tid = 0, .stats = std::move(*t)});
  }
  std::sort(vm.vcpus.begin(), vm.vcpus.end(), [](auto& a, auto& b) { return a.vcpu < b.vcpu; });
  return {};
}

}  // namespace exitprof::kvmstat
