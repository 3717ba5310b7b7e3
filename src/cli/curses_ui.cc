#include "cli/curses_ui.h"

#include <curses.h>

namespace exitprof::cli {

std::unique_ptr<CursesScreen> CursesScreen::Open() {
  if (initscr() == nullptr) return nullptr;
  cbreak();
  noecho();
  keypad(stdscr, TRUE);
  curs_set(0);
  return std::unique_ptr<CursesScreen>(new CursesScreen());
}

CursesScreen::~CursesScreen() { endwin(); }

std::string Prompt(const std::string& question) {
  move(LINES - 1, 0);
  clrtoeol();
  attron(A_BOLD);
  addstr(question.c_str());
  attroff(A_BOLD);
  echo();
  curs_set(1);
  timeout(-1);
  char buf[256] = {0};
  getnstr(buf, sizeof buf - 1);
  noecho();
  curs_set(0);
  return buf;
}

void DrawHelp(const char* title, std::span<const char* const> lines) {
  erase();
  attron(A_BOLD);
  mvaddstr(0, 0, title);
  attroff(A_BOLD);
  int line = 2;
  for (const char* h : lines) mvaddnstr(line++, 2, h, COLS - 2);
  refresh();
}

void DrawKeyBar(const std::string& text) {
  attron(A_REVERSE);
  mvaddnstr(LINES - 1, 0, text.c_str(), COLS);
  attroff(A_REVERSE);
}

int ReadKey(int timeout_ms) {
  timeout(timeout_ms);
  int key = getch();
  return key == ERR ? -1 : key;
}

}  // namespace exitprof::cli
