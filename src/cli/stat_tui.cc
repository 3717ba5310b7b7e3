// kvm_stat's interactive view on ncurses: the sorted table, refreshed every `delay` seconds, and
// its keys (q f g p c r s o x h b). Keys are read while waiting, so the view answers at once.
#include "cli/stat_tui.h"

#include <curses.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "capture/capture_loop.h"
#include "cli/curses_ui.h"

namespace exitprof::cli {

using analysis::Aggregate;
using analysis::StatHistory;
using analysis::StatRow;
using analysis::StatViewOptions;
using analysis::VmSelected;

namespace {

constexpr const char* kHelp[] = {
    "b     toggle the per-vCPU lines (kvm_stat's b shows events by guest)",
    "c     clear the filters (regex, guest, pid)",
    "f     filter statistics by a regular expression",
    "g     show only the VM with this name",
    "h     this help",
    "o     sort by Total instead of CurAvg/s (and back)",
    "p     show only the VM(s) of this pid",
    "q     quit",
    "r     reset: totals count from now",
    "s     set the refresh interval in seconds",
    "x     hide or show the per-reason rows such as kvm_exit(HLT)",
    "",
    "Any key returns to the table.",
};

struct View {
  StatViewOptions options;
  bool by_total = false;
  bool hide_children = false;
  std::string message;
};

void Draw(const std::vector<kvmstat::VmSnapshot>& vms, const StatHistory& history, const View& view, double seconds,
          double delay) {
  erase();
  const auto& o = view.options;
  size_t live = 0;
  for (const auto& vm : vms) live += VmSelected(vm, o) && !vm.gone ? 1 : 0;
  std::string title = fmt::format("kvm statistics - summary ({} VM(s), every {:.1f} s)", live, delay);
  if (o.pid) title += fmt::format("  pid: {}", o.pid);
  if (!o.guest.empty()) title += fmt::format("  guest: {}", o.guest);
  if (!view.message.empty()) title += "  " + view.message;
  attron(A_BOLD);
  mvaddnstr(0, 0, title.c_str(), COLS);
  mvaddnstr(2, 0, fmt::format(" {:<40} {:>12} {:>7} {:>10}  {}", "Event", "Total", "%Total", "CurAvg/s", "Unit").c_str(), COLS);
  attroff(A_BOLD);
  auto rows = Aggregate(vms, history, o);
  if (view.hide_children) std::erase_if(rows, [](const StatRow& r) { return r.name.find('(') != std::string::npos; });
  if (o.skip_zero) std::erase_if(rows, [](const StatRow& r) { return r.total == 0 && r.delta == 0; });
  std::stable_sort(rows.begin(), rows.end(), [&](const StatRow& a, const StatRow& b) {
    const bool ma = !a.unit.empty(), mb = !b.unit.empty();  // measures (ns, pages) after counts
    return view.by_total ? std::tie(mb, a.total, a.delta) > std::tie(ma, b.total, b.delta)
                         : std::tie(mb, a.delta, a.total) > std::tie(ma, b.delta, b.total);
  });
  uint64_t sum = 0;
  for (const auto& r : rows) {
    if (r.type == kvmstat::StatType::kCumulative && r.unit.empty() && r.name.find('(') == std::string::npos) sum += r.total;
  }
  int line = 3;
  for (const auto& r : rows) {
    if (line >= LINES - 1) break;
    const bool counter = r.type == kvmstat::StatType::kCumulative;
    std::string share = counter && r.unit.empty() && sum ? fmt::format("{:.1f}", 100.0 * static_cast<double>(r.total) / static_cast<double>(sum)) : "";
    std::string rate = counter && seconds > 0 ? fmt::format("{:.0f}", static_cast<double>(r.delta) / seconds) : "";
    mvaddnstr(line++, 0, fmt::format(" {:<40} {:>12} {:>7} {:>10}  {}", r.name, r.total, share, rate, r.unit).c_str(), COLS);
  }
  if (live == 0) mvaddnstr(std::min(line + 1, LINES - 2), 0, " No VM matches (c clears the filters).", COLS);
  if (view.options.vcpus) {
    for (const auto& vm : vms) {
      if (!VmSelected(vm, o) || line >= LINES - 3) continue;
      for (const auto& c : vm.vcpus) {
        if (line >= LINES - 2) break;
        auto cpu_rows = Aggregate(std::vector<kvmstat::VmSnapshot>{vm}, history, o, c.vcpu);
        uint64_t exits = 0, delta = 0;
        for (const auto& r : cpu_rows) {
          if (r.name == "exits") exits = r.total, delta = r.delta;
        }
        mvaddnstr(++line, 0, fmt::format(" pid {} {} vcpu {} (tid {}): exits {} ({:.0f}/s)", vm.pid, vm.name, c.vcpu, c.tid,
                                          exits, seconds > 0 ? static_cast<double>(delta) / seconds : 0.0).c_str(), COLS);
      }
    }
  }
  DrawKeyBar(" q quit  f filter  g guest  p pid  c clear  r reset  s interval  o sort  x reasons  h help ");
  refresh();
}

}  // namespace

int RunStatTui(const std::function<std::vector<kvmstat::VmSnapshot>()>& take_sample, StatHistory& history,
               StatViewOptions options, double delay) {
  auto screen = CursesScreen::Open();
  if (!screen) return 1;
  View view;
  view.options = std::move(options);
  std::vector<kvmstat::VmSnapshot> sample;
  double seconds = 0;
  auto last = std::chrono::steady_clock::now();
  bool refresh_now = true, help = false;
  while (!capture::StopRequested()) {
    auto now = std::chrono::steady_clock::now();
    if (refresh_now || now - last >= std::chrono::duration<double>(delay)) {
      sample = take_sample();
      history.Push(sample);
      seconds = std::chrono::duration<double>(now - last).count();
      last = now;
      refresh_now = false;
    }
    if (help) DrawHelp("exitprof stat: keys", kHelp);
    else Draw(sample, history, view, seconds, delay);
    int key = ReadKey(100);
    if (key < 0) continue;
    if (help) {
      help = false;
      continue;
    }
    view.message.clear();
    switch (key) {
      case 'q': return 0;
      case 'h': help = true; break;
      case 'o': view.by_total = !view.by_total; break;
      case 'x': view.hide_children = !view.hide_children; break;
      case 'b': view.options.vcpus = !view.options.vcpus; break;
      case 'c':
        view.options.fields.reset();
        view.options.guest.clear();
        view.options.pid = 0;
        break;
      case 'r':
        history = StatHistory(false);
        history.Push(sample);
        break;
      case 'f': {
        std::string text = Prompt("Show statistics matching (regex, empty = all): ");
        try {
          if (text.empty()) view.options.fields.reset();
          else view.options.fields.emplace(text, std::regex::extended);
        } catch (const std::regex_error&) {
          view.message = fmt::format("'{}' is not a valid regex", text);
        }
        break;
      }
      case 'g': view.options.guest = Prompt("Show only the VM named (empty = all): "); break;
      case 'p': {
        std::string text = Prompt("Show only the VM(s) of pid (empty = all): ");
        char* end = nullptr;
        long pid = std::strtol(text.c_str(), &end, 10);
        if (text.empty()) view.options.pid = 0;
        else if (*end != '\0' || pid <= 0) view.message = fmt::format("'{}' is not a pid", text);
        else view.options.pid = static_cast<pid_t>(pid);
        break;
      }
      case 's': {
        std::string text = Prompt("Refresh every (seconds): ");
        char* end = nullptr;
        double s = std::strtod(text.c_str(), &end);
        if (!text.empty() && *end == '\0' && s >= 0.1 && s <= 3600) delay = s;
        else if (!text.empty()) view.message = fmt::format("'{}': expected seconds from 0.1 to 3600", text);
        break;
      }
      default: break;
    }
  }
  return 0;
}

}  // namespace exitprof::cli
