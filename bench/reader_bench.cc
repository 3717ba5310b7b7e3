// exitprof-reader-bench: Google Benchmark over the hot path of `exitprof report` and
// `exitprof script`, on recordings written by the synthetic generator (tools/recording_gen)
// into a temporary directory at start-up (so they are in the page cache) and removed at exit.
//
//   Report/ordered:0   Reader (file order, as `exitprof report` runs it) + ExitStats
//   Report/ordered:1   the same with time-order delivery (the ordered queue)
//   Pipeline/threads:N report::Run, the whole of `exitprof report -j N` but rendering (model built)
//   ReaderOnly/...     the Reader with a sink that does nothing: the reader's own cost
//   ReportStream       a pipe-mode recording read through a descriptor (read() + arena path)
//   Script             ScriptPrinter (perf script lines) written to /dev/null, time ordered
//   ScanFloor          summing every 8-byte word of the mapped file: the memory floor
//
// items_per_second counts perf records (every record of the data section: samples, COMM,
// FINISHED_ROUND...); bytes_per_second counts the file's bytes.
//
//   exitprof-reader-bench [--exits=N] [google benchmark flags, e.g. --benchmark_filter=Report]
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "analysis/exit_stats.h"
#include "cli/script_printer.h"
#include "perfdata/reader.h"
#include "recording_gen.h"
#include "report/pipeline.h"

namespace {

using exitprof::perfdata::Reader;
using exitprof::recording::ReadStats;

struct Files {
  std::string dir;
  std::string file_mode;  // file-mode perf.data
  std::string pipe_mode;  // pipe-mode stream saved to a file
  uint64_t exits = 200000;
};
Files g_files;

uint64_t FileSize(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

class NullSink : public exitprof::recording::EventSink {
 public:
  exitprof::Result<void> OnSessionReady(const exitprof::recording::SessionInfo&) override { return {}; }
  void OnEvent(const exitprof::perfdata::Event& e) override { benchmark::DoNotOptimize(e.time); }
};

void Finish(benchmark::State& state, uint64_t records, uint64_t bytes) {
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

// Runs one full read of `path` into `sink`; false (and the error set on state) on failure.
bool ReadOnce(benchmark::State& state, const std::string& path, bool ordered,
              exitprof::recording::EventSink& sink, ReadStats& out) {
  auto reader = Reader::Open(path);
  if (!reader) {
    state.SkipWithError(reader.error().message.c_str());
    return false;
  }
  (*reader)->SetOrdered(ordered);
  auto stats = (*reader)->Run(sink);
  if (!stats) {
    state.SkipWithError(stats.error().message.c_str());
    return false;
  }
  out = std::move(*stats);
  return true;
}

void BM_Report(benchmark::State& state) {
  const bool ordered = state.range(0) != 0;
  uint64_t records = 0, exits = 0;
  for (auto _ : state) {
    exitprof::analysis::ExitStats stats({});
    ReadStats read;
    if (!ReadOnce(state, g_files.file_mode, ordered, stats, read)) return;
    records += read.records;
    exits = stats.exits().total;
    benchmark::DoNotOptimize(exits);
  }
  if (exits != g_files.exits) state.SkipWithError("ExitStats counted a wrong number of exits");
  Finish(state, records, FileSize(g_files.file_mode) * state.iterations());
}
BENCHMARK(BM_Report)->ArgName("ordered")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_Pipeline(benchmark::State& state) {
  uint64_t records = 0, exits = 0;
  for (auto _ : state) {
    exitprof::report::Options run;
    run.input.path = g_files.file_mode;
    run.threads = static_cast<unsigned>(state.range(0));
    auto built = exitprof::report::Run(run);
    if (!built) {
      state.SkipWithError(built.error().message.c_str());
      return;
    }
    records += built->stats.records;
    exits = built->model.exits_total;
    benchmark::DoNotOptimize(exits);
  }
  if (exits != g_files.exits) state.SkipWithError("the pipeline counted a wrong number of exits");
  Finish(state, records, FileSize(g_files.file_mode) * state.iterations());
}
BENCHMARK(BM_Pipeline)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_ReaderOnly(benchmark::State& state) {
  const bool ordered = state.range(0) != 0;
  uint64_t records = 0;
  for (auto _ : state) {
    NullSink sink;
    ReadStats read;
    if (!ReadOnce(state, g_files.file_mode, ordered, sink, read)) return;
    records += read.records;
  }
  Finish(state, records, FileSize(g_files.file_mode) * state.iterations());
}
BENCHMARK(BM_ReaderOnly)->ArgName("ordered")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_ReportStream(benchmark::State& state) {
  uint64_t records = 0;
  for (auto _ : state) {
    int fd = ::open(g_files.pipe_mode.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      state.SkipWithError("cannot open the pipe-mode recording");
      return;
    }
    auto reader = Reader::OpenStream(fd, g_files.pipe_mode);
    if (!reader) {
      ::close(fd);
      state.SkipWithError(reader.error().message.c_str());
      return;
    }
    (*reader)->SetOrdered(false);
    exitprof::analysis::ExitStats stats({});
    auto read = (*reader)->Run(stats);
    ::close(fd);
    if (!read) {
      state.SkipWithError(read.error().message.c_str());
      return;
    }
    records += read->records;
  }
  Finish(state, records, FileSize(g_files.pipe_mode) * state.iterations());
}
BENCHMARK(BM_ReportStream)->Unit(benchmark::kMillisecond);

void BM_Script(benchmark::State& state) {
  std::FILE* null = std::fopen("/dev/null", "w");
  if (!null) {
    state.SkipWithError("cannot open /dev/null");
    return;
  }
  uint64_t records = 0;
  for (auto _ : state) {
    ReadStats read;
    {
      exitprof::cli::ScriptPrinter printer(null, false);
      if (!ReadOnce(state, g_files.file_mode, true, printer, read)) break;
    }
    records += read.records;
  }
  std::fclose(null);
  Finish(state, records, FileSize(g_files.file_mode) * state.iterations());
}
BENCHMARK(BM_Script)->Unit(benchmark::kMillisecond);

void BM_ScanFloor(benchmark::State& state) {
  int fd = ::open(g_files.file_mode.c_str(), O_RDONLY | O_CLOEXEC);
  const size_t size = FileSize(g_files.file_mode);
  void* map = fd < 0 ? MAP_FAILED : ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (fd >= 0) ::close(fd);
  if (map == MAP_FAILED) {
    state.SkipWithError("cannot map the recording");
    return;
  }
  const auto* p = static_cast<const uint8_t*>(map);
  for (auto _ : state) {
    uint64_t sum = 0;
    for (size_t i = 0; i + 8 <= size; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      sum += w;
    }
    benchmark::DoNotOptimize(sum);
  }
  ::munmap(map, size);
  state.SetBytesProcessed(static_cast<int64_t>(size) * state.iterations());
}
BENCHMARK(BM_ScanFloor)->Unit(benchmark::kMillisecond);

bool Generate(const std::string& path, bool pipe) {
  exitprof::gen::GenOptions o;
  o.formats_dir = EXITPROF_FORMATS_DIR;
  o.exits = g_files.exits;
  o.pipe = pipe;
  auto truth = exitprof::gen::GenerateRecording(o, path);
  if (!truth) {
    std::fprintf(stderr, "exitprof-reader-bench: cannot generate %s: %s\n", path.c_str(),
                 truth.error().message.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  // Our own flag, after Google Benchmark took its own.
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--exits=", 0) == 0) {
      g_files.exits = std::strtoull(arg.c_str() + 8, nullptr, 10);
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      --argc;
      --i;
    }
  }
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  if (g_files.exits == 0) {
    std::fprintf(stderr, "exitprof-reader-bench: --exits must be at least 1\n");
    return 2;
  }

  char dir[] = "/tmp/exitprof-reader-bench.XXXXXX";
  if (!::mkdtemp(dir)) {
    std::perror("exitprof-reader-bench: mkdtemp");
    return 1;
  }
  g_files.dir = dir;
  g_files.file_mode = g_files.dir + "/file.data";
  g_files.pipe_mode = g_files.dir + "/pipe.data";
  int rc = 0;
  if (Generate(g_files.file_mode, false) && Generate(g_files.pipe_mode, true)) {
    benchmark::AddCustomContext("exits", std::to_string(g_files.exits));
    benchmark::AddCustomContext("file_mode_bytes", std::to_string(FileSize(g_files.file_mode)));
    benchmark::RunSpecifiedBenchmarks();
  } else {
    rc = 1;
  }
  benchmark::Shutdown();
  std::error_code ec;
  std::filesystem::remove_all(g_files.dir, ec);
  return rc;
}
