// Runs numbered tasks on several threads and folds their results in task order: the shape of
// every parallel read here (chunks of a perf.data, CPU streams of a trace.dat), whose parts
// must merge in file order for the output not to depend on the number of threads.
#pragma once

#include <cstddef>
#include <functional>

namespace exitprof {

// Tasks 0..n-1 run on up to `threads` threads, the calling one included; `run(i)` may run on
// any of them and keeps its result where merge(i) finds it. merge(i) runs under a lock, in the
// order 0, 1, 2, ... as soon as task i and all before it are done. No task starts more than
// `ahead` tasks past the oldest unmerged one, so finished results never pile up. A task that
// returns false stops the others from starting; the result is true when every task ran and
// merged.
bool RunTasksInOrder(size_t n, unsigned threads, size_t ahead, const std::function<bool(size_t)>& run,
                     const std::function<void(size_t)>& merge);

}  // namespace exitprof
