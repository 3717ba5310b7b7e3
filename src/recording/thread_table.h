// Which thread is which: names and processes from a recording's COMM, FORK and EXIT records, as
// perf's thread model keeps them. COMM names a thread (exec renames it); FORK starts a thread
// with its parent's name; EXIT ends it, so that a later FORK reusing its tid starts afresh.
// Every record counts under its own pid/tid (the decoder keeps them: the sample_id trailer
// names whichever thread was running, not the one the record is about).
// One table per read: several sinks over one read share it through recording::Session.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "perfdata/abi.h"
#include "perfdata/event.h"

namespace exitprof::recording {

class ThreadTable {
 public:
  struct Thread {
    uint32_t pid = 0;
    std::string comm;
    uint64_t named_at = 0;  // time of the record that gave the name (0: unknown)
    bool exited = false;
    bool own_name = false;  // named by its own COMM (not inherited at FORK)
  };
  // A thread record kept to be applied later (parallel reads replay a stretch's records at
  // the merge, where the threads of earlier stretches are known).
  struct Record {
    uint32_t type = 0, pid = 0, tid = 0, ptid = 0;
    uint64_t time = 0;
    std::string comm;
  };

  static bool IsThreadRecord(uint32_t type) { return type == perfdata::kRecordComm || type == perfdata::kRecordExit || type == perfdata::kRecordFork; }
  // Applies a COMM, FORK or EXIT; false (nothing changed) for other records.
  bool Apply(const perfdata::Event& e) {
    if (!IsThreadRecord(e.type)) return false;  // inline: every record passes here
    Apply(e.type, e.pid, e.tid, e.ptid, e.time, e.comm);
    return true;
  }
  void Apply(const Record& r) { Apply(r.type, r.pid, r.tid, r.ptid, r.time, r.comm); }
  static Record Copy(const perfdata::Event& e) { return {e.type, e.pid, e.tid, e.ptid, e.time, std::string(e.comm)}; }

  const Thread* Find(uint32_t tid) const;
  // The thread's name; nullptr when no record named it.
  const std::string* CommOf(uint32_t tid) const;
  // The name perf prints: unknown threads are ":TID", the idle thread "swapper".
  std::string PerfComm(uint32_t tid) const;
  size_t size() const { return threads_.size(); }
  const std::unordered_map<uint32_t, Thread>& threads() const { return threads_; }

 private:
  void Apply(uint32_t type, uint32_t pid, uint32_t tid, uint32_t ptid, uint64_t time, std::string_view comm);
  std::unordered_map<uint32_t, Thread> threads_;
};

// A sink's view of the thread names: its own table, or the session's when several sinks share
// one read (then the session applies each record once, before the sinks see it).
class SinkThreads {
 public:
  // Keeps the own table current; true for thread records (the caller need not look further).
  bool Apply(const perfdata::Event& e) { return shared_ ? ThreadTable::IsThreadRecord(e.type) : own_.Apply(e); }
  void Share(const ThreadTable* shared) { shared_ = shared; }
  bool shared() const { return shared_ != nullptr; }
  const ThreadTable& table() const { return shared_ ? *shared_ : own_; }
  ThreadTable& own() { return own_; }

 private:
  ThreadTable own_;
  const ThreadTable* shared_ = nullptr;
};

}  // namespace exitprof::recording
