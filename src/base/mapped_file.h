// A read-only mapping of a whole file, with a way to drop pages already consumed so that
// resident memory stays bounded by the window being read, not by the file size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/result.h"

namespace exitprof {

class MappedFile {
 public:
  static Result<MappedFile> Open(const std::string& path);

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  ~MappedFile();

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

  // Tells the kernel we no longer need [0, offset): the pages leave our resident set
  // (they stay in the page cache). Safe to call repeatedly with growing offsets.
  void ReleaseBefore(uint64_t offset);
  // For readers that walk stretches of the file on several threads: map the pages of
  // [begin, end) now, in one call instead of one fault per few pages (a no-op on kernels
  // before 5.14), and drop those of [begin, end) from the resident set again. Pages only
  // partly inside the range are kept.
  void Populate(uint64_t begin, uint64_t end) const;
  void Release(uint64_t begin, uint64_t end) const;

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  uint64_t released_ = 0;
};

}  // namespace exitprof
