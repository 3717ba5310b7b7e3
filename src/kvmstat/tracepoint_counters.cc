#include <fmt/format.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "capture/perf_ring.h"
#include "capture/system_info.h"
#include "capture/tracefs.h"
#include "kvmstat/event_counters.h"

namespace exitprof::kvmstat {
namespace {

struct Counter {
  std::string name;
  int event_id;
  std::string filter;  // ftrace filter, empty for all
};

// The counters kvm_stat -t opens: every kvm event, and one per reason of the two exit events.
Result<std::vector<Counter>> PlanCounters(const capture::Tracefs& tracefs, const TracepointOptions& options) {
  std::vector<Counter> plan;
  auto wanted = [&](const std::string& name) { return !options.fields || std::regex_search(name, *options.fields); };
  for (const auto& full : tracefs.ListEvents("kvm")) {
    const std::string name = full.substr(full.find(':') + 1);
    auto id = tracefs.EventId("kvm", name);
    if (!id) continue;
    if (wanted(name)) plan.push_back({name, *id, ""});
    if (name != "kvm_exit" && name != "kvm_userspace_exit") continue;
    const char* field = name == "kvm_exit" ? "exit_reason" : "reason";
    auto format = tracefs.EventFormat("kvm", name);
    if (!format) continue;
    for (const auto& reason : CountedReasons(name, *format)) {
      std::string sub = fmt::format("{}({})", name, reason.name);
      if (wanted(sub)) plan.push_back({sub, *id, fmt::format("{} == {}", field, reason.code)});
    }
  }
  if (plan.empty()) return Fail("no kvm tracepoint matches the -f filter (see: exitprof stat -t -f help)", 2);
  return plan;
}

// One group of counters (one CPU or one thread), read with a single read().
struct Group {
  std::vector<capture::PerfEventFd> fds;
};

class TracepointCounters : public EventCounters {
 public:
  TracepointCounters(std::vector<Counter> plan, std::vector<Group> groups) : plan_(std::move(plan)), groups_(std::move(groups)) {
    auto meta = std::make_shared<std::vector<StatMeta>>();
    for (size_t i = 0; i < plan_.size(); ++i) {
      StatMeta m;
      m.name = plan_[i].name;
      m.first = static_cast<uint32_t>(i);
      meta->push_back(std::move(m));
    }
    meta_ = std::move(meta);
    buffer_.resize(1 + plan_.size());
  }
  Result<void> Read(StatTable& table) override {
    table.meta = meta_;
    table.values.assign(plan_.size(), 0);
    for (auto& g : groups_) {
      // PERF_FORMAT_GROUP: {nr, values[nr]}
      ssize_t want = static_cast<ssize_t>(sizeof(uint64_t) * (1 + g.fds.size()));
      ssize_t n = ::read(g.fds[0].fd(), buffer_.data(), static_cast<size_t>(want));
      if (n != want) return Fail(fmt::format("reading a tracepoint counter group: {}", n < 0 ? std::strerror(errno) : "short read"), 1);
      for (size_t i = 0; i < g.fds.size() && i < plan_.size(); ++i) table.values[i] += buffer_[1 + i];
    }
    return {};
  }
  std::string source() const override { return "tracepoints"; }

 private:
  std::vector<Counter> plan_;
  std::vector<Group> groups_;
  std::shared_ptr<const std::vector<StatMeta>> meta_;
  std::vector<uint64_t> buffer_;
};

Result<Group> OpenGroup(const std::vector<Counter>& plan, pid_t pid, int cpu) {
  Group g;
  for (const auto& c : plan) {
    perf_event_attr attr{};
    attr.type = PERF_TYPE_TRACEPOINT;
    attr.size = sizeof attr;
    attr.config = static_cast<uint64_t>(c.event_id);
    attr.read_format = PERF_FORMAT_GROUP;
    attr.disabled = g.fds.empty() ? 1 : 0;  // the leader starts the whole group
    attr.inherit = pid > 0 ? 1 : 0;         // threads the VMM creates later count too
    auto fd = capture::PerfEventFd::Open(attr, pid, cpu, g.fds.empty() ? -1 : g.fds[0].fd());
    if (!fd) return tl::unexpected(fd.error());
    if (!c.filter.empty()) {
      if (auto r = fd->SetFilter(c.filter); !r) return tl::unexpected(r.error());
    }
    g.fds.push_back(std::move(*fd));
  }
  return g;
}

}  // namespace

bool HostIsAmd() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0) return line.find(" svm") != std::string::npos && line.find(" vmx") == std::string::npos;
  }
  return false;
}

std::vector<kvm::ReasonInfo> CountedReasons(const std::string& event, const std::string& format) {
  if (event == "kvm_exit") return kvm::ReasonTable::FromFormats(format).Entries(HostIsAmd() ? kvm::Isa::kSvm : kvm::Isa::kVmx);
  if (event == "kvm_userspace_exit") return kvm::ReasonTable::FromFormats({}, format).Entries(kvm::Isa::kUserspace);
  return {};
}

Result<std::unique_ptr<EventCounters>> OpenTracepointCounters(const TracepointOptions& options) {
  auto tracefs = capture::Tracefs::Open();
  if (!tracefs) return tl::unexpected(tracefs.error());
  if (!tracefs->HasEvent("kvm", "kvm_pio")) return Fail("no kvm tracepoints in tracefs (is the kvm module loaded?)", 1);
  auto plan = PlanCounters(*tracefs, options);
  if (!plan) return tl::unexpected(plan.error());
  std::vector<Group> groups;
  if (options.pids.empty()) {
    const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    for (int cpu = 0; cpu < cpus; ++cpu) {
      auto g = OpenGroup(*plan, -1, cpu);
      if (!g) return tl::unexpected(g.error());
      groups.push_back(std::move(*g));
    }
  } else {
    for (const auto& t : capture::ListThreads(options.pids)) {
      auto g = OpenGroup(*plan, t.tid, -1);
      if (!g) continue;  // the thread ended since it was listed
      groups.push_back(std::move(*g));
    }
    if (groups.empty()) return Fail("-p: no thread of the given process(es) could be counted (gone?)", 1);
  }
  for (auto& g : groups) {
    if (::ioctl(g.fds[0].fd(), PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP) != 0) {
      return Fail(fmt::format("enabling tracepoint counters: {}", std::strerror(errno)), 1);
    }
  }
  return std::unique_ptr<EventCounters>(new TracepointCounters(std::move(*plan), std::move(groups)));
}

}  // namespace exitprof::kvmstat
