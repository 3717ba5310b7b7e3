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

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  uint64_t released_ = 0;
};

}  // namespace exitprof
