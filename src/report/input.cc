#include "report/input.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/unique_fd.h"
#include "perfdata/reader.h"
#include "textcapture/reader.h"
#include "tracedat/reader.h"

namespace exitprof::report {

namespace {
// trace.dat files start with "\x17\x08Dtracing"; everything else goes to the perf.data reader.
bool LooksLikeTraceDat(const std::string& path) {
  if (path == "-") return false;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  uint8_t head[10] = {};
  return fd.get() >= 0 && ::pread(fd.get(), head, sizeof head, 0) == static_cast<ssize_t>(sizeof head) &&
         tracedat::HasTraceDatMagic(head);
}

// stdin ("-") and paths that are not regular files (/dev/stdin, <(...), a FIFO, trace_pipe):
// read as a stream, told apart by their first bytes, never seeked or mapped.
// tracefs and procfs files (trace_pipe) are regular files of size 0 that do have contents.
bool IsStream(const std::string& path) {
  struct stat st{};
  if (path == "-") return true;
  if (::stat(path.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) return false;
  return !S_ISREG(st.st_mode) || st.st_size == 0;
}

// Ctrl-C while reading an endless stream (trace_pipe) ends the input there: what was read is
// reported.
void StopReadingOnInterrupt(int) { textcapture::LineSource::RequestStop(); }

Result<std::unique_ptr<recording::RecordingSource>> OpenStreamRecording(const InputOptions& input) {
  const std::string& path = input.path;
  UniqueFd owned;
  int fd = STDIN_FILENO;
  const std::string name = path == "-" ? "<stdin>" : path;
  if (path != "-") {
    owned = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned.valid()) return Fail(path + ": cannot open: " + std::strerror(errno), 1);
    fd = owned.get();
  }
  struct sigaction stop{}, old{};
  stop.sa_handler = StopReadingOnInterrupt;  // no SA_RESTART: a blocked read returns
  ::sigaction(SIGINT, &stop, &old);
  struct RestoreSigint {
    struct sigaction* old;
    ~RestoreSigint() { ::sigaction(SIGINT, old, nullptr); }
  } restore{&old};
  std::string head(16, '\0');  // perf's pipe header; a trace.dat's magic is 10 bytes
  size_t done = 0;
  while (done < head.size()) {
    ssize_t got = ::read(fd, head.data() + done, head.size() - done);
    if (got < 0 && errno == EINTR && !textcapture::LineSource::StopRequested()) continue;
    if (got < 0 && errno != EINTR) return Fail(name + ": read failed: " + std::strerror(errno), 1);
    if (got <= 0) break;
    done += static_cast<size_t>(got);
  }
  head.resize(done);
  if (done == 0) return Fail(name + ": empty file (nothing to read): expected a perf.data recording, trace.dat or text capture");
  const bool perf = head.compare(0, 8, "PERFILE2") == 0 || head.compare(0, 8, "2ELIFREP") == 0;
  if (perf && !input.force_text) {
    auto r = perfdata::Reader::OpenStream(fd, name, {reinterpret_cast<const uint8_t*>(head.data()), head.size()},
                                          std::move(owned));
    if (!r) return tl::unexpected(r.error());
    return std::unique_ptr<recording::RecordingSource>(std::move(*r));
  }
  if (head.size() >= 10 && tracedat::HasTraceDatMagic({reinterpret_cast<const uint8_t*>(head.data()), head.size()}) && !input.force_text) {
    return Fail(name + ": a trace.dat cannot be read from a pipe (trace-cmd's format is read by seeking): give the file itself");
  }
  auto r = textcapture::Reader::OpenStream(fd, std::move(head), name, {input.keep_text_payloads}, std::move(owned));
  if (!r) return tl::unexpected(r.error());
  return std::unique_ptr<recording::RecordingSource>(std::move(*r));
}

// Neither perf.data ("PERFILE2", either byte order) nor trace.dat, and its first lines read
// as perf script / trace-cmd report / ftrace text: a text capture.
bool LooksLikeText(const std::string& path) {
  if (path == "-") return false;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return false;
  std::string head(64 * 1024, '\0');
  ssize_t n = ::pread(fd.get(), head.data(), head.size(), 0);
  if (n <= 0) return false;
  head.resize(static_cast<size_t>(n));
  if (head.compare(0, 4, "PERF") == 0 || head.compare(0, 4, "2ELI") == 0) return false;
  return textcapture::LooksLikeTextCapture(head);
}
}  // namespace

unsigned AvailableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

Result<std::unique_ptr<recording::RecordingSource>> OpenRecording(const InputOptions& input) {
  const std::string& path = input.path;
  Result<std::unique_ptr<recording::RecordingSource>> reader;
  if (IsStream(path)) {
    reader = OpenStreamRecording(input);
    if (!reader) return reader;
  } else if (input.force_text || (!LooksLikeTraceDat(path) && LooksLikeText(path))) {
    auto r = textcapture::Reader::Open(path, {input.keep_text_payloads});
    if (!r) return tl::unexpected(r.error());
    reader = std::move(*r);
  } else if (LooksLikeTraceDat(path)) {
    auto r = tracedat::Reader::Open(path);
    if (!r) return tl::unexpected(r.error());
    reader = std::move(*r);
  } else {
    auto r = perfdata::Reader::Open(path);
    if (!r) return tl::unexpected(r.error());
    reader = std::move(*r);
  }
  if (::isatty(STDERR_FILENO) && (*reader)->info().file_size > (256u << 20)) {
    (*reader)->SetProgress([](uint64_t done, uint64_t total) {
      std::fprintf(stderr, "\rexitprof: read %llu of %llu MB", static_cast<unsigned long long>(done >> 20),
                   static_cast<unsigned long long>(total >> 20));
      if (done == total) std::fprintf(stderr, "\r\033[K");
      std::fflush(stderr);
    });
  }
  return reader;
}

}  // namespace exitprof::report
