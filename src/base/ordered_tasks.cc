#include "base/ordered_tasks.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace exitprof {

bool RunTasksInOrder(size_t n, unsigned threads, size_t ahead, const std::function<bool(size_t)>& run,
                     const std::function<void(size_t)>& merge) {
  ahead = std::max<size_t>(ahead, 1);
  std::mutex mu;
  std::condition_variable cv;
  size_t next = 0, merged = 0;
  bool failed = false;
  std::vector<bool> done(n, false);
  auto worker = [&] {
    for (;;) {
      size_t i;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return failed || next >= n || next < merged + ahead; });
        if (failed || next >= n) return;
        i = next++;
      }
      const bool ok = run(i);
      std::lock_guard lock(mu);
      if (!ok) failed = true;
      done[i] = ok;
      while (!failed && merged < n && done[merged]) merge(merged++);
      cv.notify_all();
      if (failed) return;
    }
  };
  std::vector<std::thread> helpers;
  for (unsigned t = 1; t < threads && t < n; ++t) {
    try {
      helpers.emplace_back(worker);
    } catch (const std::system_error&) {
      break;  // no more threads to be had: the ones running share the tasks
    }
  }
  worker();
  for (auto& t : helpers) t.join();
  return !failed && merged == n;
}

}  // namespace exitprof
