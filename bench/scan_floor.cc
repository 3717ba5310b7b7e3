// exitprof-scan: the floor for any tool that reads a whole recording. Touches every byte of
// FILE once and sums it as little-endian 8-byte words, and does nothing else: no parsing, no
// output but the sum. bench/report_compare.sh compares `exitprof report` against it.
//
//   exitprof-scan [--mmap|--read] FILE
//     --mmap  (default) map the file read-only with MADV_SEQUENTIAL, as exitprof's reader does
//     --read  read() it in 1 MiB blocks into one buffer (resident memory stays ~1 MiB)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr size_t kBlock = 1u << 20;

uint64_t SumWords(const uint8_t* p, size_t n) {
  uint64_t sum = 0;
  size_t words = n / 8;
  for (size_t i = 0; i < words; ++i) {
    uint64_t w;
    std::memcpy(&w, p + i * 8, 8);
    sum += w;
  }
  if (n % 8) {
    uint64_t w = 0;
    std::memcpy(&w, p + words * 8, n % 8);
    sum += w;
  }
  return sum;
}

int Usage() {
  std::fprintf(stderr, "usage: exitprof-scan [--mmap|--read] FILE\n");
  return 2;
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "exitprof-scan: %s: %s\n", what.c_str(), std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool use_read = false;
  const char* path = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--read") use_read = true;
    else if (arg == "--mmap") use_read = false;
    else if (!arg.empty() && arg[0] == '-') return Usage();
    else if (!path) path = argv[i];
    else return Usage();
  }
  if (!path) return Usage();

  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(std::string(path) + ": open");
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Fail(std::string(path) + ": fstat");
  const size_t size = static_cast<size_t>(st.st_size);
  uint64_t sum = 0, bytes = 0;

  if (use_read) {
    std::vector<uint64_t> buf(kBlock / 8);  // 8-byte aligned
    auto* dst = reinterpret_cast<uint8_t*>(buf.data());
    for (;;) {
      // Fill the whole block so that words never straddle two reads.
      size_t got = 0;
      while (got < kBlock) {
        ssize_t n = ::read(fd, dst + got, kBlock - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Fail(std::string(path) + ": read");
        if (n == 0) break;
        got += static_cast<size_t>(n);
      }
      if (got == 0) break;
      sum += SumWords(dst, got);
      bytes += got;
      if (got < kBlock) break;
    }
  } else if (size > 0) {
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) return Fail(std::string(path) + ": mmap");
    ::madvise(map, size, MADV_SEQUENTIAL);
    sum = SumWords(static_cast<const uint8_t*>(map), size);
    bytes = size;
    ::munmap(map, size);
  }
  ::close(fd);
  std::printf("%s: %llu bytes, word sum 0x%016llx (%s)\n", path, static_cast<unsigned long long>(bytes),
              static_cast<unsigned long long>(sum), use_read ? "read" : "mmap");
  return 0;
}
