#include "cli/top_tui.h"

#include <curses.h>
#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace exitprof::cli {

namespace {

constexpr const char* kHelp[] = {
    "b      show exits by VM, by vCPU, or neither (cycles)",
    "c      clear the filter",
    "f      show only reasons matching a regular expression",
    "h      this help",
    "o      sort by Total instead of CurAvg/s (and back)",
    "q      quit",
    "r      reset: totals count from now",
    "space  pause the display (counting goes on), and resume",
    "",
    "Any key returns to the view.",
};

struct Row {
  std::string name;
  uint64_t total = 0, last = 0;
};

}  // namespace

std::unique_ptr<TopTui> TopTui::Open(double interval) {
  auto screen = CursesScreen::Open();
  if (!screen) return nullptr;
  std::unique_ptr<TopTui> tui(new TopTui(std::move(screen), interval));
  tui->Draw();
  return tui;
}

void TopTui::Reset() {
  reasons_.clear();
  vms_.clear();
  vcpus_.clear();
}

void TopTui::OnModel(const analysis::ReportModel& m) {
  has_model_ = true;
  last_seconds_ = m.interval_s;
  // Where kvm_exit does not fire (PVM hosts), userspace exits stand for the exits.
  exits_ = m.has_kvm_exit || m.userspace_exits.empty();
  for (auto& [name, c] : reasons_) c.last = 0;
  for (auto& [pid, vm] : vms_) vm.second.last = 0;
  for (auto& [key, vcpu] : vcpus_) vcpu.second.last = 0;
  auto add = [](Count& c, uint64_t n) {
    c.total += n;
    c.last += n;
  };
  if (exits_) {
    for (const auto& r : m.by_reason) add(reasons_[r.reason], r.count);
    for (const auto& r : m.by_vm) {
      auto& vm = vms_[static_cast<pid_t>(r.pid)];
      vm.first = r.comm;
      add(vm.second, r.count);
    }
    for (const auto& r : m.by_vcpu) {
      auto& v = vcpus_[{static_cast<pid_t>(r.pid), static_cast<pid_t>(r.tid)}];
      v.first = r.comm + (r.vcpu >= 0 ? fmt::format(" (vcpu {})", r.vcpu) : "");
      add(v.second, r.count);
    }
  } else {
    for (const auto& r : m.userspace_exits) add(reasons_[r.name], r.count);
    for (const auto& r : m.userspace_exits_by_thread) {
      auto& vm = vms_[static_cast<pid_t>(r.pid)];
      if (vm.first.empty()) vm.first = fmt::format("pid {}", r.pid);
      add(vm.second, r.count);
      auto& v = vcpus_[{static_cast<pid_t>(r.pid), static_cast<pid_t>(r.tid)}];
      v.first = r.comm;
      add(v.second, r.count);
    }
  }
  if (!paused_ && !help_) Draw();
}

void TopTui::Draw() {
  erase();
  std::string title = fmt::format("exitprof top - {} per reason (every {:.1f} s, sorted by {})",
                                  exits_ ? "kvm exits" : "userspace exits (no kvm_exit here)", interval_,
                                  by_total_ ? "Total" : "CurAvg/s");
  if (filter_) title += "  filter: " + filter_text_;
  if (paused_) title += "  PAUSED (space resumes)";
  if (!message_.empty()) title += "  " + message_;
  attron(A_BOLD);
  mvaddnstr(0, 0, title.c_str(), COLS);
  mvaddnstr(2, 0, fmt::format(" {:<40} {:>12} {:>7} {:>10}", "Event", "Total", "%Total", "CurAvg/s").c_str(), COLS);
  attroff(A_BOLD);
  std::vector<Row> rows;
  uint64_t sum = 0;
  for (const auto& [name, c] : reasons_) {
    if (filter_ && !std::regex_search(name, *filter_)) continue;
    rows.push_back({name, c.total, c.last});
    sum += c.total;
  }
  auto order = [&](const Row& a, const Row& b) {
    return by_total_ ? std::tie(a.total, a.last, b.name) > std::tie(b.total, b.last, a.name)
                     : std::tie(a.last, a.total, b.name) > std::tie(b.last, b.total, a.name);
  };
  std::sort(rows.begin(), rows.end(), order);
  const double seconds = last_seconds_ > 0 ? last_seconds_ : interval_;
  auto line_of = [&](const std::string& name, uint64_t total, uint64_t last, bool share) {
    return fmt::format(" {:<40} {:>12} {:>7} {:>10.0f}", name, total,
                       share && sum ? fmt::format("{:.1f}", 100.0 * static_cast<double>(total) / static_cast<double>(sum)) : "",
                       static_cast<double>(last) / seconds);
  };
  int line = 3;
  for (const auto& r : rows) {
    if (line >= LINES - 2) break;
    mvaddnstr(line++, 0, line_of(r.name, r.total, r.last, true).c_str(), COLS);
  }
  if (!has_model_) mvaddnstr(line, 0, " counting... (the first interval is not over yet)", COLS);
  else if (rows.empty()) mvaddnstr(line, 0, filter_ ? " No reason matches (c clears the filter)." : " No exits yet.", COLS);
  if (breakdown_ != Breakdown::kNone && line < LINES - 3) {
    ++line;
    attron(A_BOLD);
    mvaddnstr(line++, 0, fmt::format(" {:<40} {:>12} {:>7} {:>10}", breakdown_ == Breakdown::kVm ? "VM (pid)" : "vCPU (pid/tid)",
                                     "Total", "", "CurAvg/s").c_str(), COLS);
    attroff(A_BOLD);
    std::vector<Row> parts;
    if (breakdown_ == Breakdown::kVm) {
      for (const auto& [pid, vm] : vms_) parts.push_back({fmt::format("{} ({})", vm.first, pid), vm.second.total, vm.second.last});
    } else {
      for (const auto& [key, v] : vcpus_) {
        parts.push_back({fmt::format("{} ({}/{})", v.first, key.first, key.second), v.second.total, v.second.last});
      }
    }
    std::sort(parts.begin(), parts.end(), order);
    for (const auto& p : parts) {
      if (line >= LINES - 2) break;
      mvaddnstr(line++, 0, line_of(p.name, p.total, p.last, false).c_str(), COLS);
    }
  }
  DrawKeyBar(" q quit  o sort  f filter  c clear  b VMs/vCPUs  space pause  r reset  h help ");
  refresh();
}

bool TopTui::QuitRequested() {
  for (int key; (key = ReadKey(0)) >= 0;) {
    if (help_) {
      help_ = false;
      Draw();
      continue;
    }
    message_.clear();
    switch (key) {
      case 'q': return true;
      case 'h': help_ = true; DrawHelp("exitprof top: keys", kHelp); continue;
      case 'o': by_total_ = !by_total_; break;
      case ' ': paused_ = !paused_; break;
      case 'r': Reset(); break;
      case 'c': filter_.reset(); filter_text_.clear(); break;
      case 'b':
        breakdown_ = breakdown_ == Breakdown::kNone ? Breakdown::kVm
                     : breakdown_ == Breakdown::kVm ? Breakdown::kVcpu : Breakdown::kNone;
        break;
      case 'f': {
        std::string text = Prompt("Show reasons matching (regex, empty = all): ");
        try {
          if (text.empty()) filter_.reset();
          else filter_.emplace(text, std::regex::extended);
          filter_text_ = text;
        } catch (const std::regex_error&) {
          message_ = fmt::format("'{}' is not a valid regex", text);
        }
        break;
      }
      default: continue;
    }
    Draw();
  }
  return false;
}

}  // namespace exitprof::cli
