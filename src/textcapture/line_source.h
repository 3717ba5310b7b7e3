// The lines of a text capture, from a mapped file or from a stream (a pipe, FIFO, /dev/stdin,
// trace_pipe), which is read in chunks as lines are taken: nothing needs seek or mmap, and
// memory does not grow with the input. Quoted-printable mail (RFC 2045: "=3D" for '=', a
// soft line break '=' at the end of a line) is decoded once the text shows it is QP.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/mapped_file.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace exitprof::textcapture {

class LineSource {
 public:
  // A whole text in memory (a mapped file, a test's string): lines are views into it.
  explicit LineSource(std::string_view text) : text_(text), bytes_(text.size()) {}
  // A stream: `head` is what was already read from it (the bytes looked at to tell formats).
  LineSource(int fd, std::string head, UniqueFd owned = {});
  LineSource(LineSource&&) = default;

  // The next line, without its newline; valid until the next call. Lines joined by QP soft
  // breaks count as one. False at the end, or when the stream failed (error() says why).
  bool Next(std::string_view& line);
  uint64_t line_no() const { return line_no_; }  // of the last physical line taken
  uint64_t bytes() const { return bytes_; }
  bool quoted_printable() const { return qp_; }
  // Whether lines taken stay valid after the next call (a text in memory, not QP-joined), and
  // whether a view lies in that text.
  bool stable() const { return fd_ < 0 && !qp_; }
  bool Holds(std::string_view v) const {
    return v.data() >= text_.data() && v.data() + v.size() <= text_.data() + text_.size();
  }
  const std::optional<std::string>& error() const { return error_; }
  // Stop reading a stream at the next line boundary (SIGINT on trace_pipe).
  static void RequestStop();
  static bool StopRequested();

 private:
  bool Physical(std::string_view& line);
  bool Fill();

  std::string_view text_;  // memory mode
  size_t at_ = 0;
  int fd_ = -1;            // stream mode
  UniqueFd owned_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  uint64_t line_no_ = 0, bytes_ = 0;
  bool qp_ = false;
  std::string joined_;
  std::optional<std::string> error_;
};

// RFC 2045 quoted-printable decoding of one line ("=3D" -> '=', "=20" -> ' '); other '='s stay.
std::string DecodeQuotedPrintable(std::string_view line);

}  // namespace exitprof::textcapture
