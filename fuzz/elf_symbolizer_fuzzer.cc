// libFuzzer target: the bytes are an ELF file (seeds: small programs built with -g -O2, one with
// compressed debug sections). It is opened through a memfd as `exitprof symbolize` opens a
// file, then a few addresses are symbolized: fixed ones, the entry point's neighbourhood and
// one taken from the input's last 8 bytes. Bad input must give an error value, never a crash.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "symbols/addr2line_format.h"
#include "symbols/elf_symbolizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_create("elf", MFD_CLOEXEC);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  exitprof::symbols::SymbolizerOptions options;
  auto opened = exitprof::symbols::ElfSymbolizer::Open(path, options);
  if (opened) {
    auto& s = **opened;
    uint64_t tail = 0;
    if (size >= 8) std::memcpy(&tail, data + size - 8, 8);
    uint64_t entry = 0;
    if (size >= 0x20) std::memcpy(&entry, data + 0x18, 8);
    const uint64_t addresses[] = {0, 0x1000, 0x1139, 0x401000, entry, entry + 1, entry + 0x40, tail, ~uint64_t{0}};
    exitprof::symbols::Addr2LineFlags flags;
    flags.functions = flags.inlines = flags.demangle = flags.addresses = true;
    for (uint64_t a : addresses) (void)exitprof::symbols::FormatAddr2Line(a, s.Symbolize(a), flags);
    (void)s.SymbolAddress("_text");
  }
  close(fd);
  return 0;
}
