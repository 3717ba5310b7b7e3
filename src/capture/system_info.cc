#include "capture/system_info.h"

#include <dirent.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace exitprof::capture {

namespace {

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::vector<pid_t> NumericEntries(const std::string& dir) {
  std::vector<pid_t> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    char* end;
    long v = std::strtol(e->d_name, &end, 10);
    if (*end == 0 && end != e->d_name) out.push_back(static_cast<pid_t>(v));
  }
  ::closedir(d);
  return out;
}

}  // namespace

void FillSystemInfo(recording::SessionInfo& info, const std::vector<std::string>& cmdline) {
  struct utsname u {};
  if (::uname(&u) == 0) {
    info.hostname = u.nodename;
    info.os_release = u.release;
    info.arch = u.machine;
  }
  info.perf_version = std::string("exitprof ") + EXITPROF_VERSION;
  info.nr_cpus_available = static_cast<uint32_t>(::sysconf(_SC_NPROCESSORS_CONF));
  info.nr_cpus_online = static_cast<uint32_t>(::sysconf(_SC_NPROCESSORS_ONLN));
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, vendor, family, model, stepping;
  while (std::getline(cpuinfo, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "vendor_id" && vendor.empty()) vendor = value;
    else if (key == "cpu family" && family.empty()) family = value;
    else if (key == "model" && model.empty()) model = value;
    else if (key == "stepping" && stepping.empty()) stepping = value;
    else if (key == "model name" && info.cpu_desc.empty()) info.cpu_desc = value;
  }
  // perf's x86 cpuid string: vendor,family,model,stepping.
  if (!vendor.empty()) info.cpu_id = vendor + "," + family + "," + model + "," + stepping;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  if (meminfo >> key >> kb && key == "MemTotal:") info.total_mem_kb = kb;
  info.cmdline = cmdline;
}

std::vector<ThreadInfo> ListThreads(const std::vector<pid_t>& pids) {
  std::vector<ThreadInfo> out;
  std::vector<pid_t> procs = pids.empty() ? NumericEntries("/proc") : pids;
  for (pid_t pid : procs) {
    for (pid_t tid : NumericEntries("/proc/" + std::to_string(pid) + "/task")) {
      std::string comm = ReadLine("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm");
      if (!comm.empty()) out.push_back({pid, tid, comm});
    }
  }
  return out;
}

uint64_t KernelTextStart() {
  std::ifstream in("/proc/kallsyms");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string addr, type, name;
    ss >> addr >> type >> name;
    if (name == "_text") return std::stoull(addr, nullptr, 16);
  }
  return 0;
}

}  // namespace exitprof::capture
