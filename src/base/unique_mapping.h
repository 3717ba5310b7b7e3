// Move-only owner of an mmap'ed region; unmaps it exactly once.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <utility>

namespace exitprof {

class UniqueMapping {
 public:
  UniqueMapping() = default;
  UniqueMapping(void* addr, size_t size) : addr_(addr), size_(size) {}
  UniqueMapping(UniqueMapping&& other) noexcept
      : addr_(std::exchange(other.addr_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  UniqueMapping& operator=(UniqueMapping&& other) noexcept {
    if (this != &other) {
      Reset();
      addr_ = std::exchange(other.addr_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  UniqueMapping(const UniqueMapping&) = delete;
  UniqueMapping& operator=(const UniqueMapping&) = delete;
  ~UniqueMapping() { Reset(); }

  void* get() const { return addr_; }
  size_t size() const { return size_; }
  void Reset() {
    if (addr_ != nullptr) ::munmap(addr_, size_);
    addr_ = nullptr;
    size_ = 0;
  }

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace exitprof
