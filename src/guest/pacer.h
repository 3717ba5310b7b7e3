// Approximate rate limiting for a vCPU loop: after each exit, sleep when the loop is ahead of
// `rate` exits/s by more than a small slack, so sleeps are few and the average rate holds.
// Sleeps are sliced so that a stop request or a deadline is noticed within kSlice.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

namespace exitprof::guest {

class Pacer {
 public:
  using Clock = std::chrono::steady_clock;

  Pacer(uint64_t rate, Clock::time_point start)
      : period_ns_(rate == 0 ? 0.0 : 1e9 / static_cast<double>(rate)), start_(start) {}

  // `stopping()` is polled between slices; it returns true when the loop should end.
  template <typename StopFn>
  void AfterExit(StopFn&& stopping) {
    if (period_ns_ == 0.0) return;
    ++exits_;
    auto due = start_ + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(exits_) * period_ns_));
    if (due - Clock::now() <= kSlack) return;
    for (auto now = Clock::now(); now < due && !stopping(); now = Clock::now()) {
      std::this_thread::sleep_until(std::min(due, now + kSlice));
    }
  }

 private:
  static constexpr std::chrono::microseconds kSlack{500};
  static constexpr std::chrono::milliseconds kSlice{10};

  double period_ns_;
  Clock::time_point start_;
  uint64_t exits_ = 0;
};

}  // namespace exitprof::guest
