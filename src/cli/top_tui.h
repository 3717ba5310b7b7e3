// `exitprof top`'s interactive view (ncurses), with kvm_stat's table and habits: Total since
// start, %Total and CurAvg/s per exit reason, and keys to sort (o), filter (f), show VMs or
// vCPUs (b), pause (space), reset (r), clear (c), help (h) and quit (q). Fed one ReportModel
// per interval by the live loop; keys are read whenever the loop asks whether to stop.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>

#include "analysis/report_model.h"
#include "cli/curses_ui.h"

namespace exitprof::cli {

class TopTui {
 public:
  static std::unique_ptr<TopTui> Open(double interval);  // nullptr without a terminal

  void OnModel(const analysis::ReportModel& model);
  // Reads the keys pressed since the last call; true once the user asked to quit.
  bool QuitRequested();

 private:
  enum class Breakdown { kNone, kVm, kVcpu };
  struct Count {
    uint64_t total = 0, last = 0;
  };
  explicit TopTui(std::unique_ptr<CursesScreen> screen, double interval) : screen_(std::move(screen)), interval_(interval) {}
  void Draw();
  void Reset();

  std::unique_ptr<CursesScreen> screen_;
  double interval_;
  double last_seconds_ = 0;
  bool has_model_ = false, exits_ = true;  // exits_: reasons of kvm_exit, else of userspace exits
  std::map<std::string, Count> reasons_;
  std::map<pid_t, std::pair<std::string, Count>> vms_;
  std::map<std::pair<pid_t, pid_t>, std::pair<std::string, Count>> vcpus_;  // (pid, tid)
  std::optional<std::regex> filter_;
  std::string filter_text_, message_;
  bool by_total_ = false, paused_ = false, help_ = false;
  Breakdown breakdown_ = Breakdown::kNone;
};

}  // namespace exitprof::cli
