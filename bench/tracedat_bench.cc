// exitprof-tracedat-bench: is reading a trace.dat as fast per event as reading a perf.data?
// One run, the same events three ways:
//   1. a trace-cmd v6 trace.dat (uncompressed) through tracedat::Reader + ExitStats
//      (what `exitprof report FILE.dat` does), in file order (CPU after CPU, as report reads
//      without --latency) and in time order (per-CPU pages merged),
//   2. a perf.data holding the same samples through perfdata::Reader + ExitStats (file order,
//      as `exitprof report` reads perf.data, and time order, as a trace.dat is always read),
//   3. `trace-cmd report FILE.dat > /dev/null` (what a user would otherwise run),
// and the source file itself (zlib v7 by default: inflating included).
//
// The inputs are made at start-up from a real recording: its ring-buffer pages are repeated
// --scale times (each copy shifted in time) into a v6 file, and that file's events are written
// to a perf.data with perfdata::Writer. Best of --runs runs; ns per event and ratios printed.
//
//   exitprof-tracedat-bench [--scale N] [--runs N] [--quick] [SOURCE.dat]
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#include "analysis/exit_stats.h"
#include "base/mapped_file.h"
#include "perfdata/abi.h"
#include "perfdata/writer.h"
#include "perfdata/reader.h"
#include "tracedat/reader.h"

namespace {

using namespace exitprof;

template <typename T>
void Put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// A v6 trace.dat: the source's metadata and top-buffer pages, repeated `scale` times.
bool WriteV6(const tracedat::TraceDatFile& f, std::span<const uint8_t> bytes, int scale, const std::string& path) {
  if (f.buffers.empty()) return false;
  const auto& top = f.buffers[0];
  std::vector<std::vector<uint8_t>> pages;
  uint64_t first = ~0ULL, last = 0;
  for (const auto& cpu : top.cpus) {
    auto p = tracedat::ReadCpuPages(f, bytes, top, cpu, path);
    if (!p) return false;
    for (size_t off = 0; off + f.page_size <= p->size(); off += f.page_size) {
      uint64_t ts;
      std::memcpy(&ts, p->data() + off, 8);
      first = std::min(first, ts);
      last = std::max(last, ts);
    }
    pages.push_back(std::move(*p));
  }
  // Each copy starts after the previous one ends (page timestamps shift; deltas inside stay).
  const uint64_t shift = (last - first) * 2 + 1;
  trace::TracingData meta = f.meta;
  meta.version = "6";
  auto head = trace::EncodeTracingData(meta);
  std::string out(head.begin(), head.end());
  Put<uint32_t>(out, static_cast<uint32_t>(pages.size()));
  std::string clock = f.trace_clock.empty() ? "[local]\n" : f.trace_clock;
  out += std::string("options  \0", 10);
  Put<uint16_t>(out, 4);
  Put<uint32_t>(out, static_cast<uint32_t>(clock.size() + 1));
  out += clock;
  out += '\0';
  if (f.tsc2nsec) {
    Put<uint16_t>(out, 14);
    Put<uint32_t>(out, 16);
    Put<uint32_t>(out, f.tsc2nsec->mult);
    Put<uint32_t>(out, f.tsc2nsec->shift);
    Put<uint64_t>(out, f.tsc2nsec->offset);
  }
  Put<uint16_t>(out, 0);
  out += std::string("flyrecord\0", 10);
  const size_t table = out.size();
  out.resize(table + 16 * pages.size());
  out.resize((out.size() + f.page_size - 1) / f.page_size * f.page_size);
  for (size_t c = 0; c < pages.size(); ++c) {
    const uint64_t at = out.size(), size = pages[c].size() * static_cast<uint64_t>(scale);
    std::memcpy(out.data() + table + 16 * c, &at, 8);
    std::memcpy(out.data() + table + 16 * c + 8, &size, 8);
    for (int k = 0; k < scale; ++k) {
      std::string copy(pages[c].begin(), pages[c].end());
      for (size_t off = 0; off + f.page_size <= copy.size(); off += f.page_size) {
        uint64_t ts;
        std::memcpy(&ts, copy.data() + off, 8);
        ts += shift * static_cast<uint64_t>(k);
        std::memcpy(copy.data() + off, &ts, 8);
      }
      out += copy;
    }
  }
  std::ofstream(path, std::ios::binary) << out;
  return true;
}

// Writes every event a reader delivers into a perf.data, one attr per tracepoint.
class PerfDataCopier : public recording::EventSink {
 public:
  explicit PerfDataCopier(std::string path) : path_(std::move(path)) {}
  Result<void> OnSessionReady(const recording::SessionInfo& info) override {
    recording::SessionInfo header = info;
    header.hostname = "bench";
    for (size_t i = 0; i < header.attrs.size(); ++i) {
      header.attrs[i].sample_type |= perfdata::kSampleIdentifier;  // several attrs: samples say whose
      header.attrs[i].ids = {i + 1};
    }
    auto w = perfdata::Writer::Create(path_, header, false);
    if (!w) return tl::unexpected(w.error());
    writer_.emplace(std::move(*w));
    return {};
  }
  void OnEvent(const perfdata::Event& e) override {
    if (e.type == perfdata::kRecordComm) {
      (void)writer_->WriteComm(e.pid, e.tid, std::string(e.comm), 0);
    } else if (e.type == perfdata::kRecordSample) {
      perfdata::SampleFields s;
      s.pid = e.pid;
      s.tid = e.tid;
      s.time = e.time;
      s.cpu = e.cpu;
      s.raw = e.raw;
      (void)writer_->WriteSample(static_cast<size_t>(e.attr_index), s);
      ++samples_;
    }
  }
  Result<void> Finish() { return writer_->Finish(); }
  uint64_t samples() const { return samples_; }

 private:
  std::string path_;
  std::optional<perfdata::Writer> writer_;
  uint64_t samples_ = 0;
};

double BestSeconds(int runs, const std::function<bool()>& once) {
  double best = 1e30;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (!once()) return -1;
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

template <typename OpenFn>
bool ReportOnce(OpenFn open, bool ordered, uint64_t expect_exits) {
  auto reader = open();
  if (!reader) {
    std::fprintf(stderr, "tracedat-bench: %s\n", reader.error().message.c_str());
    return false;
  }
  (*reader)->SetOrdered(ordered);
  analysis::ExitStats stats{analysis::ExitFilter{}};
  auto read = (*reader)->Run(stats);
  if (!read) {
    std::fprintf(stderr, "tracedat-bench: %s\n", read.error().message.c_str());
    return false;
  }
  if (stats.exits().total != expect_exits) {
    std::fprintf(stderr, "tracedat-bench: counted %llu exits, expected %llu\n",
                 static_cast<unsigned long long>(stats.exits().total), static_cast<unsigned long long>(expect_exits));
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string source = EXITPROF_SOURCE_DIR "/../shared/realdata/trace-cmd/host-e11ad396.dat";
  int scale = 50, runs = 5;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") scale = 2, runs = 1, quick = true;
    else if (a == "--scale" && i + 1 < argc) scale = std::max(1, std::atoi(argv[++i]));
    else if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "-h" || a == "--help") {
      std::puts("usage: exitprof-tracedat-bench [--scale N] [--runs N] [--quick] [SOURCE.dat]");
      return 0;
    } else source = a;
  }
  auto mapped = MappedFile::Open(source);
  auto src = tracedat::Reader::Open(source);
  if ((!mapped || !src) && quick) {  // a functional check: without the recording there is nothing to do
    std::printf("tracedat-bench: %s not readable: skipped\n", source.c_str());
    return 0;
  }
  if (!mapped || !src) {
    std::fprintf(stderr, "tracedat-bench: cannot read %s: %s\n", source.c_str(),
                 (mapped ? src.error() : mapped.error()).message.c_str());
    return 2;
  }
  char dir_template[] = "/tmp/exitprof-tracedat-bench-XXXXXX";
  if (!::mkdtemp(dir_template)) return 1;
  const std::string dir = dir_template, dat = dir + "/scaled-v6.dat", data = dir + "/same-events.data";
  if (!WriteV6((*src)->file(), mapped->bytes(), scale, dat)) {
    std::fprintf(stderr, "tracedat-bench: cannot write %s\n", dat.c_str());
    return 1;
  }
  auto v6 = tracedat::Reader::Open(dat);
  if (!v6) {
    std::fprintf(stderr, "tracedat-bench: %s\n", v6.error().message.c_str());
    return 1;
  }
  PerfDataCopier copier(data);
  auto copied = (*v6)->Run(copier);
  if (!copied || !copier.Finish()) {
    std::fprintf(stderr, "tracedat-bench: cannot write %s\n", data.c_str());
    return 1;
  }
  const uint64_t events = copier.samples();
  analysis::ExitStats count{analysis::ExitFilter{}};
  (void)(*tracedat::Reader::Open(dat))->Run(count);
  const uint64_t exits = count.exits().total;
  analysis::ExitStats count_src{analysis::ExitFilter{}};
  auto src_read = (*src)->Run(count_src);
  const uint64_t src_events = src_read ? src_read->samples() : 0;

  auto open_dat = [&] { return tracedat::Reader::Open(dat); };
  auto open_data = [&] { return perfdata::Reader::Open(data); };
  auto open_src = [&] { return tracedat::Reader::Open(source); };
  const double t_dat = BestSeconds(runs, [&] { return ReportOnce(open_dat, false, exits); });
  const double t_dat_ordered = BestSeconds(runs, [&] { return ReportOnce(open_dat, true, exits); });
  const double t_data = BestSeconds(runs, [&] { return ReportOnce(open_data, false, exits); });
  const double t_data_ordered = BestSeconds(runs, [&] { return ReportOnce(open_data, true, exits); });
  const double t_src = BestSeconds(runs, [&] { return ReportOnce(open_src, false, count_src.exits().total); });
  const bool have_tracecmd = std::system("trace-cmd report -h >/dev/null 2>&1") != 127 * 256;
  const double t_tracecmd = have_tracecmd ? BestSeconds(std::min(runs, 3), [&] {
    return std::system(("trace-cmd report " + dat + " >/dev/null 2>&1").c_str()) == 0;
  }) : -1;

  struct stat st_dat {}, st_data {};
  ::stat(dat.c_str(), &st_dat);
  ::stat(data.c_str(), &st_data);
  auto ns = [&](double t, uint64_t n) { return t < 0 || n == 0 ? -1.0 : t * 1e9 / static_cast<double>(n); };
  std::printf("source %s (%llu events), x%d: %llu events, %llu exits; best of %d\n", source.c_str(),
              static_cast<unsigned long long>(src_events), scale, static_cast<unsigned long long>(events),
              static_cast<unsigned long long>(exits), runs);
  std::printf("%-58s %10s %10s %8s\n", "read + ExitStats", "seconds", "ns/event", "ratio");
  const double base = ns(t_dat, events);
  auto row = [&](const char* what, double t, uint64_t n) {
    const double v = ns(t, n);
    if (v < 0) std::printf("%-58s %10s %10s %8s\n", what, "-", "-", "-");
    else std::printf("%-58s %10.4f %10.1f %7.2fx\n", what, t, v, v / base);
  };
  std::string dat_row = "trace.dat v6 (" + std::to_string(st_dat.st_size >> 20) + " MiB), exitprof";
  std::string data_row = "perf.data, same events (" + std::to_string(st_data.st_size >> 20) + " MiB), exitprof";
  row((dat_row + ", file order").c_str(), t_dat, events);
  row((dat_row + ", time order").c_str(), t_dat_ordered, events);
  row((data_row + ", file order").c_str(), t_data, events);
  row((data_row + ", time order").c_str(), t_data_ordered, events);
  row("source file as recorded (inflating included), exitprof", t_src, src_events);
  row("trace.dat v6, trace-cmd report > /dev/null", t_tracecmd, events);
  std::printf("trace.dat / perf.data time per event: file order %.2f, time order %.2f (below 1: trace.dat faster)\n",
              t_dat / t_data, t_dat_ordered / t_data_ordered);
  std::remove(dat.c_str());
  std::remove(data.c_str());
  ::rmdir(dir.c_str());
  // The claim under test: a trace.dat is read at least as fast per event as a perf.data.
  return t_dat > 0 && t_data > 0 ? 0 : 1;
}
