#include "recording/thread_table.h"

#include "perfdata/abi.h"

namespace exitprof::recording {

void ThreadTable::Apply(uint32_t type, uint32_t pid, uint32_t tid, uint32_t ptid, uint64_t time, std::string_view comm) {
  if (type == perfdata::kRecordComm) {
    // The newest name wins, as in perf (exec renames the thread).
    threads_[tid] = Thread{pid, std::string(comm), time, false, true};
    return;
  }
  if (type == perfdata::kRecordExit) {
    auto it = threads_.find(tid);
    if (it != threads_.end()) it->second.exited = true;
    return;
  }
  // FORK: the new thread starts with its parent's name. A name the thread already has stays
  // when it is newer than the fork, or is its own name in the same process: a read in file order
  // (report) may bring the child's own COMM first, and a host whose CPUs' clocks disagree (TSC
  // marked unstable, as under QEMU TCG) may even stamp that COMM before the fork. A thread that
  // exited gives its tid to the new one.
  auto child = threads_.find(tid);
  const bool child_named = child != threads_.end() && !child->second.exited &&
                           (child->second.named_at > time || (child->second.own_name && child->second.pid == pid));
  if (child_named) return;
  auto parent = threads_.find(ptid);
  if (parent == threads_.end()) {
    if (child != threads_.end() && child->second.exited) threads_.erase(child);
    return;
  }
  Thread named{pid, parent->second.comm, time, false};
  threads_[tid] = std::move(named);  // `parent` may be invalidated: copied first
}

const ThreadTable::Thread* ThreadTable::Find(uint32_t tid) const {
  auto it = threads_.find(tid);
  return it == threads_.end() ? nullptr : &it->second;
}

const std::string* ThreadTable::CommOf(uint32_t tid) const {
  const Thread* t = Find(tid);
  return t ? &t->comm : nullptr;
}

std::string ThreadTable::PerfComm(uint32_t tid) const {
  if (const std::string* comm = CommOf(tid)) return *comm;
  return tid == 0 ? "swapper" : ":" + std::to_string(tid);
}

}  // namespace exitprof::recording
