// libFuzzer target: the bytes are a perf.data recording. Each input is read twice:
//   1. Reader::Open over a file holding the bytes (the mapped path, file mode or pipe mode),
//      in time order (what `exitprof script` does);
//   2. Reader::OpenStream over a descriptor (the pipe-mode stream path, `-i -`), in file order
//      (what `exitprof report` does).
// Both feed ExitStats (kvm decoding through libtraceevent) and ScriptPrinter (to /dev/null).
//   3. Reader::Open again with ExitStats alone, on 2 threads in 4 KB chunks (`report -j`: cut
//      search, chunk parts, merges), in file order and in time order with --latency.
// The bytes go to a memfd (a temp file if memfd_create fails); nothing touches the disk.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "analysis/exit_stats.h"
#include "cli/script_printer.h"
#include "perfdata/reader.h"

namespace {

using exitprof::Result;
using exitprof::perfdata::Event;
using exitprof::recording::EventSink;
using exitprof::perfdata::Reader;
using exitprof::recording::SessionInfo;

// Hands every call to both sinks, as if each had its own reader.
class TeeSink : public EventSink {
 public:
  TeeSink(EventSink& a, EventSink& b) : a_(a), b_(b) {}
  Result<void> OnSessionReady(const SessionInfo& info) override {
    auto ra = a_.OnSessionReady(info);
    auto rb = b_.OnSessionReady(info);
    a_ok_ = ra.has_value();
    b_ok_ = rb.has_value();
    if (!a_ok_) return ra;
    return rb;
  }
  void OnEvent(const Event& event) override {
    if (a_ok_) a_.OnEvent(event);
    if (b_ok_) b_.OnEvent(event);
  }

 private:
  EventSink& a_;
  EventSink& b_;
  bool a_ok_ = false, b_ok_ = false;
};

[[noreturn]] void Die(const char* what) {
  std::perror(what);
  std::abort();
}

struct Input {
  int fd = -1;
  std::string path;
};

const Input& TheInput() {
  static const Input input = [] {
    Input in;
    in.fd = ::memfd_create("exitprof-perfdata-fuzz", MFD_CLOEXEC);
    if (in.fd < 0) {
      char name[] = "/tmp/exitprof-perfdata-fuzz-XXXXXX";
      in.fd = ::mkstemp(name);
      if (in.fd < 0) Die("perfdata_fuzzer: mkstemp");
      ::unlink(name);
    }
    in.path = "/proc/self/fd/" + std::to_string(in.fd);
    return in;
  }();
  return input;
}

void Store(int fd, const uint8_t* data, size_t size) {
  if (::ftruncate(fd, 0) != 0) Die("perfdata_fuzzer: ftruncate");
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Die("perfdata_fuzzer: pwrite");
    done += static_cast<size_t>(n);
  }
  if (::lseek(fd, 0, SEEK_SET) != 0) Die("perfdata_fuzzer: lseek");
}

void ReadAll(Result<std::unique_ptr<Reader>> reader, bool ordered, bool nanoseconds) {
  if (!reader) return;
  static std::FILE* const dev_null = std::fopen("/dev/null", "w");
  if (!dev_null) Die("perfdata_fuzzer: /dev/null");
  (*reader)->SetOrdered(ordered);
  exitprof::analysis::ExitStats stats{exitprof::analysis::ExitFilter{}};
  exitprof::cli::ScriptPrinter printer(dev_null, nanoseconds);
  TeeSink tee(stats, printer);
  (void)(*reader)->Run(tee);
}

void ReadInChunks(const std::string& path, bool latency) {
  auto reader = Reader::Open(path);
  if (!reader) return;
  (*reader)->SetOrdered(latency);
  (*reader)->SetThreads(2, 4096);
  exitprof::analysis::ExitFilter filter;
  filter.latency = latency;
  exitprof::analysis::ExitStats stats{filter};
  (void)(*reader)->Run(stats);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Input& in = TheInput();
  Store(in.fd, data, size);
  ReadAll(Reader::Open(in.path), /*ordered=*/true, /*nanoseconds=*/false);
  if (::lseek(in.fd, 0, SEEK_SET) != 0) Die("perfdata_fuzzer: lseek");
  ReadAll(Reader::OpenStream(in.fd, "<fuzz stream>"), /*ordered=*/false, /*nanoseconds=*/true);
  ReadInChunks(in.path, /*latency=*/false);
  ReadInChunks(in.path, /*latency=*/true);
  return 0;
}
