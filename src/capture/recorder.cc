#include "capture/recorder.h"

#include <cstdio>
#include <fstream>

#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/byte_reader.h"
#include "capture/system_info.h"
#include "perfdata/abi.h"
#include "trace/tracing_data.h"

namespace exitprof::capture {

// perf's x86-64 user register set: every general register and ip/sp/flags, without the segment
// registers ds, es, fs and gs (bits 12-15 of enum perf_event_x86_regs).
constexpr uint64_t kX86UserRegsMask = 0xff0fffULL;
// bp, sp and ip: enough to place the top of the stack.
constexpr uint64_t kX86EntryRegsMask = (1ULL << 6) | (1ULL << 7) | (1ULL << 8);

const std::vector<std::string>& DefaultKvmEvents() {
  static const std::vector<std::string> events = {"kvm:kvm_exit", "kvm:kvm_entry", "kvm:kvm_pio",
                                                  "kvm:kvm_mmio", "kvm:kvm_msr", "kvm:kvm_cpuid",
                                                  "kvm:kvm_userspace_exit"};
  return events;
}

uint64_t CaptureCounts::samples() const {
  uint64_t n = 0;
  for (const auto& [name, count] : samples_by_event) n += count;
  return n;
}

namespace {

bool IsUprobe(const Tracefs& tracefs, const std::string& group, const std::string& event);

Result<std::pair<std::string, std::string>> SplitEvent(const std::string& event, const Tracefs& tracefs) {
  auto colon = event.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == event.size()) {
    return Fail("-e " + event + ": expected SYSTEM:EVENT, e.g. kvm:kvm_exit");
  }
  std::string system = event.substr(0, colon), name = event.substr(colon + 1);
  if (!tracefs.HasEvent(system, name)) {
    std::string hint;
    for (const auto& e : tracefs.ClosestEvents(event)) hint += (hint.empty() ? "" : ", ") + e;
    std::string why = system == "kvm" && !tracefs.HasEvent("kvm", "kvm_pio")
                          ? " (is the kvm module loaded?)"
                          : hint.empty() ? "" : "; closest: " + hint;
    return Fail("-e " + event + ": no such tracepoint in " + tracefs.root() + "/events" + why);
  }
  return std::make_pair(system, name);
}

}  // namespace

Result<std::unique_ptr<Recorder>> Recorder::Open(const RecordOptions& options, bool enable_on_exec) {
  auto tracefs = Tracefs::Open();
  if (!tracefs) return tl::unexpected(tracefs.error());
  std::unique_ptr<Recorder> rec(new Recorder());
  rec->options_ = options;
  rec->enable_on_exec_ = enable_on_exec;

  std::vector<std::string> events = options.events;
  if (events.empty()) {
    for (const auto& e : DefaultKvmEvents()) {
      auto colon = e.find(':');
      if (tracefs->HasEvent(e.substr(0, colon), e.substr(colon + 1))) events.push_back(e);
      else rec->skipped_.push_back(e);
    }
    if (events.empty()) {
      return Fail("no kvm tracepoints under " + tracefs->root() + "/events/kvm: is the kvm module loaded? (modprobe kvm)", 1);
    }
  }

  trace::TracingData td;
  auto header_page = tracefs->ReadFile("events/header_page");
  auto header_event = tracefs->ReadFile("events/header_event");
  if (!header_page || !header_event) return Fail("tracefs: cannot read events/header_page or header_event", 1);
  td.header_page = *header_page;
  td.header_event = *header_event;
  td.page_size = static_cast<uint32_t>(::sysconf(_SC_PAGESIZE));
  if (auto cmdlines = tracefs->ReadFile("saved_cmdlines")) td.saved_cmdlines = *cmdlines;

  // A process's threads that exist now each need their own events: inherit only reaches
  // threads created after the events (a running QEMU's vCPU threads already exist).
  std::vector<pid_t> targets;
  if (options.pids.empty()) {
    targets.push_back(-1);
  } else {
    for (const auto& t : ListThreads(options.pids)) targets.push_back(t.tid);
    for (pid_t pid : options.pids) {
      if (std::find(targets.begin(), targets.end(), pid) == targets.end()) {
        return Fail("-p " + std::to_string(pid) + ": no such process", 2);
      }
    }
  }
  // One fd per event, thread and CPU: allow as many as the hard limit does.
  struct rlimit files {};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  const int ncpus = static_cast<int>(::sysconf(_SC_NPROCESSORS_CONF));
  std::vector<int> ring_owner(static_cast<size_t>(ncpus), -1);

  for (size_t i = 0; i < events.size(); ++i) {
    auto split = SplitEvent(events[i], *tracefs);
    if (!split) return tl::unexpected(split.error());
    auto id = tracefs->EventId(split->first, split->second);
    auto format = tracefs->EventFormat(split->first, split->second);
    if (!id) return tl::unexpected(id.error());
    if (!format) return tl::unexpected(format.error());
    td.formats.push_back({split->first, *format});

    perfdata::EventAttr header_attr;
    header_attr.type = perfdata::kTypeTracepoint;
    header_attr.config = static_cast<uint64_t>(*id);
    header_attr.sample_period = 1;
    header_attr.sample_type = perfdata::kSampleIp | perfdata::kSampleTid | perfdata::kSampleTime |
                              perfdata::kSampleCpu | perfdata::kSamplePeriod | perfdata::kSampleRaw |
                              perfdata::kSampleIdentifier;
    const bool want_stacks = options.callchain || options.dwarf_callchain;
    if (want_stacks) header_attr.sample_type |= perfdata::kSampleCallchain;
    if (options.dwarf_callchain) {
      header_attr.sample_type |= perfdata::kSampleRegsUser | perfdata::kSampleStackUser;
      header_attr.sample_regs_user = kX86UserRegsMask;
      header_attr.sample_stack_user = options.stack_dump_size;
    } else if (options.callchain && options.caller_at_entry && IsUprobe(*tracefs, split->first, split->second)) {
      // 8 bytes of user stack: at a probed function's first instruction that is the return
      // address into its caller, which the frame-pointer chain skips.
      header_attr.sample_type |= perfdata::kSampleRegsUser | perfdata::kSampleStackUser;
      header_attr.sample_regs_user = kX86EntryRegsMask;
      header_attr.sample_stack_user = 8;
    }
    header_attr.read_format = perfdata::kReadId;
    header_attr.name = events[i];

    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_TRACEPOINT;
    attr.config = header_attr.config;
    attr.sample_period = 1;
    attr.sample_type = header_attr.sample_type;
    attr.read_format = header_attr.read_format;
    attr.disabled = 1;
    attr.inherit = targets[0] != -1;
    attr.enable_on_exec = enable_on_exec;
    attr.sample_id_all = 1;
    attr.exclude_guest = 1;
    attr.sample_regs_user = header_attr.sample_regs_user;
    attr.sample_stack_user = header_attr.sample_stack_user;
    // With DWARF unwinding the user part comes from the stack dump, as perf does it.
    attr.exclude_callchain_user = options.dwarf_callchain;
    attr.watermark = 1;
    attr.wakeup_watermark = static_cast<uint32_t>(options.mmap_pages * ::sysconf(_SC_PAGESIZE) / 4);
    if (i == 0) {  // one event carries thread names and lifetimes, as perf's tracking event does
      attr.comm = 1;
      attr.comm_exec = 1;
      attr.task = 1;
      // User frames are placed through the maps of the processes they belong to.
      attr.mmap = want_stacks;
      attr.mmap2 = want_stacks;
      // DWARF unwinders find .eh_frame_hdr through the read-only maps next to the text.
      attr.mmap_data = options.dwarf_callchain;
    }
    header_attr.flags = (1ULL << 0) | (uint64_t{attr.inherit} << 1) | perfdata::kAttrFlagSampleIdAll |
                        (1ULL << 20) | (i == 0 ? (1ULL << 9) | (1ULL << 13) | (1ULL << 24) : 0) |
                        (uint64_t{attr.mmap} << 8) | (uint64_t{attr.mmap2} << 23) | (uint64_t{attr.mmap_data} << 17) |
                        (uint64_t{attr.exclude_callchain_user} << 22);
    for (pid_t target : targets) {
      for (int cpu = 0; cpu < ncpus; ++cpu) {
        auto fd = PerfEventFd::Open(attr, target, cpu);
        if (!fd) {
          if (errno == ENODEV || errno == EINVAL) continue;  // offline CPU
          return tl::unexpected(fd.error());
        }
        if (i + 1 == events.size() && !options.filter.empty()) {
          if (auto f = fd->SetFilter(options.filter); !f) return tl::unexpected(f.error());
        }
        auto event_id = fd->Id();
        if (!event_id) return tl::unexpected(event_id.error());
        header_attr.ids.push_back(*event_id);
        rec->attr_of_id_[*event_id] = i;
        if (ring_owner[cpu] < 0) {
          auto ring = PerfRing::Map(*fd, options.mmap_pages);
          if (!ring) return tl::unexpected(ring.error());
          ring_owner[cpu] = static_cast<int>(rec->events_.size());
          rec->rings_.push_back(std::move(*ring));
          rec->ring_fds_.push_back(fd->fd());
        } else if (auto r = fd->RedirectTo(rec->events_[static_cast<size_t>(ring_owner[cpu])]); !r) {
          return tl::unexpected(r.error());
        }
        rec->events_.push_back(std::move(*fd));
      }
    }
    if (header_attr.ids.empty()) return Fail("perf_event_open: no CPU accepted " + events[i], 1);
    rec->header_.attrs.push_back(std::move(header_attr));
    rec->counts_.samples_by_event[events[i]] = 0;
  }
  rec->header_.tracing_data = trace::EncodeTracingData(td);
  FillSystemInfo(rec->header_, options.cmdline);
  return rec;
}

namespace {

// A uprobe event (listed in uprobe_events as "p:GROUP/EVENT ..." or "r:GROUP/EVENT ...").
bool IsUprobe(const Tracefs& tracefs, const std::string& group, const std::string& event) {
  auto list = tracefs.ReadFile("uprobe_events");
  if (!list) return false;
  std::string wanted = group + "/" + event + " ";
  for (size_t pos = 0; (pos = list->find(wanted, pos)) != std::string::npos; pos += wanted.size()) {
    if (pos >= 2 && (*list)[pos - 1] == ':' && (pos == 2 || (*list)[pos - 3] == '\n')) return true;
  }
  return false;
}

struct ExecMap {
  uint64_t start = 0, end = 0, offset = 0;
  std::string path;
};

// The executable file maps of a process ("r-xp" lines of /proc/PID/maps with a path).
std::vector<ExecMap> ExecutableMaps(pid_t pid) {
  std::vector<ExecMap> maps;
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long start = 0, end = 0, offset = 0;
    char perms[8] = {};
    int path_at = -1;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &offset, &path_at) < 4) continue;
    if (perms[2] != 'x' || path_at < 0 || static_cast<size_t>(path_at) >= line.size()) continue;
    std::string path = line.substr(static_cast<size_t>(path_at));
    if (path.empty() || (path[0] != '/' && path != "[vdso]")) continue;
    maps.push_back({start, end, offset, path});
  }
  return maps;
}

}  // namespace

Result<void> Recorder::WritePreamble(perfdata::Writer& writer) const {
  if (uint64_t text = KernelTextStart()) {
    constexpr uint16_t kMiscKernel = 1;
    if (auto w = writer.WriteMmap(UINT32_MAX, 0, text, 0x2000000, text, "[kernel.kallsyms]_text", kMiscKernel, 0); !w) return w;
  }
  std::vector<pid_t> pids;
  for (pid_t p : options_.pids) pids.push_back(p);
  for (const auto& t : ListThreads(pids)) {
    if (auto w = writer.WriteComm(static_cast<uint32_t>(t.pid), static_cast<uint32_t>(t.tid), t.comm, 0); !w) return w;
  }
  // Processes that already run mapped their code before we started: their executable maps are
  // synthesized from /proc, as perf does, so their user frames can be named.
  // A workload not yet exec'd still has our maps: its own arrive as MMAP2 records at exec.
  if ((options_.callchain || options_.dwarf_callchain) && !enable_on_exec_) {
    for (pid_t pid : pids) {
      for (const auto& m : ExecutableMaps(pid)) {
        constexpr uint16_t kMiscUser = 2;
        if (auto w = writer.WriteMmap(static_cast<uint32_t>(pid), static_cast<uint32_t>(pid), m.start, m.end - m.start,
                                      m.offset, m.path, kMiscUser, 0);
            !w) {
          return w;
        }
      }
    }
  }
  return {};
}

Result<void> Recorder::Enable() {
  for (const auto& e : events_) {
    if (auto r = e.Enable(); !r) return r;
  }
  return {};
}

Result<void> Recorder::Disable() {
  for (const auto& e : events_) {
    if (auto r = e.Disable(); !r) return r;
  }
  return {};
}

Result<void> Recorder::Poll(int timeout_ms) {
  std::vector<pollfd> fds;
  for (int fd : ring_fds_) fds.push_back({fd, POLLIN, 0});
  int n = ::poll(fds.data(), fds.size(), timeout_ms);
  if (n < 0 && errno != EINTR) return Fail(std::string("poll: ") + std::strerror(errno), 1);
  return {};
}

Result<void> Recorder::Count(std::span<const uint8_t> record) {
  uint32_t type = LoadLE<uint32_t>(record.data());
  if (type == perfdata::kRecordSample && record.size() >= 16) {
    auto it = attr_of_id_.find(LoadLE<uint64_t>(record.data() + 8));  // IDENTIFIER comes first
    if (it != attr_of_id_.end()) ++counts_.samples_by_event[header_.attrs[it->second].name];
  } else if (type == perfdata::kRecordLost && record.size() >= 24) {
    counts_.lost += LoadLE<uint64_t>(record.data() + 16);
  }
  counts_.bytes += record.size();
  return {};
}

Result<void> Recorder::DrainTo(const std::function<Result<void>(std::span<const uint8_t>)>& fn) {
  for (auto& ring : rings_) {
    auto n = ring.Drain([&](std::span<const uint8_t> record) -> Result<void> {
      if (auto c = Count(record); !c) return c;
      return fn(record);
    });
    if (!n) return tl::unexpected(n.error());
  }
  return {};
}

Result<void> Recorder::DrainInto(perfdata::Writer& writer) {
  const uint64_t before = counts_.bytes;
  if (auto r = DrainTo([&](std::span<const uint8_t> record) { return writer.WriteRaw(record); }); !r) return r;
  if (counts_.bytes != before) return writer.WriteFinishedRound();
  return {};
}

}  // namespace exitprof::capture
