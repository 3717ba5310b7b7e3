// Bounds-checked little-endian reads from a span. Reads are memcpy, never pointer casts,
// so unaligned and hostile input is safe; a failed read sets a sticky error flag.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace exitprof {

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool ok() const { return ok_; }
  std::span<const uint8_t> data() const { return data_; }

  template <typename T>
  T Read() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value{};
    if (remaining() < sizeof(T)) {
      ok_ = false;
      pos_ = data_.size();
      return value;
    }
    std::memcpy(&value, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  std::span<const uint8_t> ReadBytes(size_t n) {
    if (remaining() < n) {
      ok_ = false;
      pos_ = data_.size();
      return {};
    }
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

  // A NUL-padded string of exactly n bytes; the value stops at the first NUL.
  std::string ReadFixedString(size_t n) {
    auto bytes = ReadBytes(n);
    std::string_view view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return std::string(view.substr(0, view.find('\0')));
  }

  // A NUL-terminated string; fails if no NUL is found.
  std::string ReadCString() {
    auto rest = data_.subspan(pos_);
    // memchr must not see a null pointer, even for zero bytes (an empty span may have one).
    const void* nul = rest.empty() ? nullptr : std::memchr(rest.data(), 0, rest.size());
    if (!nul) {
      ok_ = false;
      pos_ = data_.size();
      return {};
    }
    size_t len = static_cast<const uint8_t*>(nul) - rest.data();
    std::string s(reinterpret_cast<const char*>(rest.data()), len);
    pos_ += len + 1;
    return s;
  }

  void Skip(size_t n) {
    if (remaining() < n) {
      ok_ = false;
      pos_ = data_.size();
      return;
    }
    pos_ += n;
  }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

template <typename T>
inline T LoadLE(const uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

std::string HexOffset(uint64_t offset);

}  // namespace exitprof
