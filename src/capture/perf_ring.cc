#include "capture/perf_ring.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

namespace exitprof::capture {

namespace {
std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }
}  // namespace

Result<PerfEventFd> PerfEventFd::Open(perf_event_attr& attr, pid_t pid, int cpu, int group_fd) {
  int fd = static_cast<int>(::syscall(SYS_perf_event_open, &attr, pid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) {
    int err = errno;
    std::string hint;
    if (err == EACCES || err == EPERM) hint = " (needs root or CAP_PERFMON; see /proc/sys/kernel/perf_event_paranoid)";
    if (err == ESRCH) hint = " (no such process)";
    errno = err;
    return Fail(Errno("perf_event_open") + hint + " [pid " + std::to_string(pid) + ", cpu " + std::to_string(cpu) + "]", 1);
  }
  PerfEventFd e;
  e.fd_ = UniqueFd(fd);
  return e;
}

Result<uint64_t> PerfEventFd::Id() const {
  uint64_t id = 0;
  if (::ioctl(fd(), PERF_EVENT_IOC_ID, &id) != 0) return Fail(Errno("PERF_EVENT_IOC_ID"), 1);
  return id;
}

Result<void> PerfEventFd::RedirectTo(const PerfEventFd& owner) const {
  if (::ioctl(fd(), PERF_EVENT_IOC_SET_OUTPUT, owner.fd()) != 0) return Fail(Errno("PERF_EVENT_IOC_SET_OUTPUT"), 1);
  return {};
}

Result<void> PerfEventFd::SetFilter(const std::string& filter) const {
  if (::ioctl(fd(), PERF_EVENT_IOC_SET_FILTER, filter.c_str()) != 0) {
    return Fail("--filter \"" + filter + "\": the kernel refused it (" + std::strerror(errno) +
                "); the syntax is ftrace's, e.g. 'port == 0x3f8' or 'rw == 1 && size == 2'");
  }
  return {};
}

Result<void> PerfEventFd::Enable() const {
  if (::ioctl(fd(), PERF_EVENT_IOC_ENABLE, 0) != 0) return Fail(Errno("PERF_EVENT_IOC_ENABLE"), 1);
  return {};
}

Result<void> PerfEventFd::Disable() const {
  if (::ioctl(fd(), PERF_EVENT_IOC_DISABLE, 0) != 0) return Fail(Errno("PERF_EVENT_IOC_DISABLE"), 1);
  return {};
}

Result<PerfRing> PerfRing::Map(const PerfEventFd& event, size_t data_pages) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  PerfRing ring;
  ring.data_size_ = data_pages * page;
  ring.map_size_ = ring.data_size_ + page;
  void* p = ::mmap(nullptr, ring.map_size_, PROT_READ | PROT_WRITE, MAP_SHARED, event.fd(), 0);
  if (p == MAP_FAILED) {
    return Fail(Errno("mmap of the perf ring buffer") +
                " (try fewer pages with -m, or raise /proc/sys/kernel/perf_event_mlock_kb)", 1);
  }
  ring.base_ = p;
  return ring;
}

PerfRing::PerfRing(PerfRing&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      map_size_(std::exchange(other.map_size_, 0)),
      data_size_(std::exchange(other.data_size_, 0)),
      wrap_(std::move(other.wrap_)) {}

PerfRing::~PerfRing() {
  if (base_) ::munmap(base_, map_size_);
}

Result<size_t> PerfRing::Drain(const std::function<Result<void>(std::span<const uint8_t>)>& fn) {
  auto* meta = static_cast<perf_event_mmap_page*>(base_);
  const uint8_t* data = static_cast<const uint8_t*>(base_) + (map_size_ - data_size_);
  // The kernel publishes data_head after the records: load it with acquire ordering.
  const uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
  uint64_t tail = meta->data_tail;
  const uint64_t start = tail;
  while (tail < head) {
    perf_event_header h;
    const size_t off = tail % data_size_;
    if (off + sizeof h <= data_size_) {
      std::memcpy(&h, data + off, sizeof h);
    } else {
      size_t first = data_size_ - off;
      std::memcpy(&h, data + off, first);
      std::memcpy(reinterpret_cast<uint8_t*>(&h) + first, data, sizeof h - first);
    }
    if (h.size < sizeof h || tail + h.size > head) break;
    std::span<const uint8_t> rec;
    if (off + h.size <= data_size_) {
      rec = {data + off, h.size};
    } else {
      wrap_.resize(h.size);
      size_t first = data_size_ - off;
      std::memcpy(wrap_.data(), data + off, first);
      std::memcpy(wrap_.data() + first, data, h.size - first);
      rec = wrap_;
    }
    if (auto r = fn(rec); !r) return tl::unexpected(r.error());
    tail += h.size;
  }
  __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
  return static_cast<size_t>(tail - start);
}

}  // namespace exitprof::capture
