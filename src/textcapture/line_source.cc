#include "textcapture/line_source.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace exitprof::textcapture {

namespace {
std::atomic<bool> stop_requested{false};
constexpr size_t kChunk = 1 << 20;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string_view TrimCr(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A QP soft line break: '=' last on the line (trailing whitespace is not part of QP text).
bool SoftBreak(std::string_view s) {
  s = TrimCr(s);
  return !s.empty() && s.back() == '=';
}

// Whether a line shows QP encoding: a soft break, or "=3D" (an encoded '='; kvm payloads never
// print it). "=20" alone is not enough: trace-cmd's header reads "cpus=20".
bool LooksQuotedPrintable(std::string_view s) { return SoftBreak(s) || s.find("=3D") != std::string_view::npos; }

// The quote marks a mail client put before a continuation line ("> > "): each '>' with at most
// one space after it, so that spaces that belong to the text stay.
size_t QuotePrefix(std::string_view s) {
  size_t j = 0;
  while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
  if (j == s.size() || s[j] != '>') return 0;
  while (j < s.size() && s[j] == '>') {
    ++j;
    if (j < s.size() && s[j] == ' ') ++j;
  }
  return j;
}
}  // namespace

void LineSource::RequestStop() { stop_requested = true; }
bool LineSource::StopRequested() { return stop_requested; }

LineSource::LineSource(int fd, std::string head, UniqueFd owned)
    : fd_(fd), owned_(std::move(owned)), buf_(std::move(head)) {
  bytes_ = buf_.size();
}

bool LineSource::Fill() {
  if (eof_ || stop_requested) return false;
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  const size_t old = buf_.size();
  buf_.resize(old + kChunk);
  ssize_t got;
  do {
    got = ::read(fd_, buf_.data() + old, kChunk);
  } while (got < 0 && errno == EINTR && !stop_requested);
  if (got < 0) {
    buf_.resize(old);
    if (errno != EINTR) error_ = std::string("read failed: ") + std::strerror(errno);
    eof_ = true;
    return false;
  }
  buf_.resize(old + static_cast<size_t>(got));
  bytes_ += static_cast<size_t>(got);
  if (got == 0) eof_ = true;
  return got > 0;
}

bool LineSource::Physical(std::string_view& line) {
  if (fd_ < 0) {
    if (at_ >= text_.size()) return false;
    size_t nl = text_.find('\n', at_);
    if (nl == std::string_view::npos) nl = text_.size();
    line = text_.substr(at_, nl - at_);
    at_ = nl + 1;
    ++line_no_;
    return true;
  }
  for (;;) {
    size_t nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      line = std::string_view(buf_).substr(pos_, nl - pos_);
      pos_ = nl + 1;
      ++line_no_;
      return true;
    }
    if (!Fill()) {
      if (pos_ >= buf_.size()) return false;
      line = std::string_view(buf_).substr(pos_);  // the last line, without a newline
      pos_ = buf_.size();
      ++line_no_;
      return true;
    }
  }
}

bool LineSource::Next(std::string_view& line) {
  if (!Physical(line)) return false;
  // A mail is encoded throughout: its first lines tell (and the rest need no scan).
  if (!qp_ && line_no_ <= 1000 && LooksQuotedPrintable(line)) qp_ = true;
  if (!qp_) return true;
  // Join soft-broken lines (each continuation without its own quote marks), then decode.
  joined_.assign(line);
  while (SoftBreak(joined_)) {
    joined_.assign(TrimCr(joined_));
    joined_.pop_back();
    std::string_view next;
    if (!Physical(next)) break;
    joined_.append(next.substr(QuotePrefix(next)));
  }
  joined_ = DecodeQuotedPrintable(joined_);
  line = joined_;
  return true;
}

std::string DecodeQuotedPrintable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '=' && i + 2 < s.size() + 0 && HexDigit(s[i + 1]) >= 0 && HexDigit(s[i + 2]) >= 0) {
      out += static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace exitprof::textcapture
