// The pieces exitprof's ncurses views share (stat's kvm_stat table, top's live exits): the
// screen's lifetime, a one-line prompt, the help page and the key bar at the bottom.
#pragma once

#include <memory>
#include <span>
#include <string>

namespace exitprof::cli {

// initscr .. endwin, with kvm_stat's settings: keys unbuffered, not echoed, no cursor.
class CursesScreen {
 public:
  static std::unique_ptr<CursesScreen> Open();  // nullptr when there is no terminal
  ~CursesScreen();
  CursesScreen(const CursesScreen&) = delete;
  CursesScreen& operator=(const CursesScreen&) = delete;

 private:
  CursesScreen() = default;
};

// Reads one line at the bottom, echoing it; "" when the user just presses Enter.
std::string Prompt(const std::string& question);
// A page of key descriptions under a bold title; any key returns.
void DrawHelp(const char* title, std::span<const char* const> lines);
// The reversed bar on the last line naming the keys.
void DrawKeyBar(const std::string& text);
// The next key within `timeout_ms` (0: do not wait), or -1.
int ReadKey(int timeout_ms);

}  // namespace exitprof::cli
