#include "cmd/progress_display.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <set>

#include <fmt/format.h>

#include "util/error.h"

namespace berth::cmd {

namespace {

/// The statuses that end a resource's step: the rest ("Creating", "Waiting", ...) are work.
bool finished(const std::string& status) {
  static const std::set<std::string> done = {
      "Created",   "Started", "Running", "Healthy",  "Exited",    "Removed", "Stopped",
      "Recreated", "Killed",  "Paused",  "Unpaused", "Restarted", "Pulled",  "Built"};
  return done.contains(status);
}

void write_err(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
}

constexpr std::array<const char*, 10> k_spinner = {"⠋", "⠙", "⠹", "⠸", "⠼",
                                                   "⠴", "⠦", "⠧", "⠇", "⠏"};

}  // namespace

ProgressMode progress_mode(const std::string& flag) {
  if (flag == "plain") return ProgressMode::plain;
  if (flag == "quiet") return ProgressMode::quiet;
  if (flag == "tty") return ProgressMode::tty;
  if (flag != "auto") {
    throw Error("--progress: expected auto, tty, plain or quiet, got \"" + flag + "\"");
  }
  const char* term = std::getenv("TERM");
  const bool dumb = term != nullptr && std::string(term) == "dumb";
  return ::isatty(STDERR_FILENO) == 1 && !dumb ? ProgressMode::tty : ProgressMode::plain;
}

ProgressDisplay::ProgressDisplay(ProgressMode mode) : m_mode(mode) {
  if (m_mode != ProgressMode::tty) return;
  m_ticker = std::thread([this] {
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
      m_wake.wait_for(lock, std::chrono::milliseconds(100));
      ++m_tick;
      const bool working = std::any_of(m_entries.begin(), m_entries.end(),
                                       [](const Entry& entry) { return !entry.done; });
      if (working) redraw();
    }
  });
}

ProgressDisplay::~ProgressDisplay() {
  if (m_mode != ProgressMode::tty) return;
  {
    const std::lock_guard lock(m_mutex);
    m_stopping = true;
    redraw();
  }
  m_wake.notify_all();
  m_ticker.join();
}

std::function<void(const std::string&)> ProgressDisplay::callback() {
  return [this](const std::string& line) { take(line); };
}

void ProgressDisplay::take(const std::string& line) {
  if (m_mode == ProgressMode::quiet) return;
  if (m_mode == ProgressMode::plain) {
    write_err(" " + line + "\n");
    return;
  }
  const std::lock_guard lock(m_mutex);
  // "Kind name  Status": a resource's step. Anything else is a message of its own.
  const auto space = line.find(' ');
  const auto gap = line.find("  ");
  const std::string status = gap == std::string::npos ? "" : line.substr(gap + 2);
  if (space == std::string::npos || gap == std::string::npos || gap < space || status.empty() ||
      status.find(' ') != std::string::npos) {
    // Above the table: clear it, print the line, draw the table again below.
    if (m_drawn > 0) write_err(fmt::format("\033[{}A\r\033[J", m_drawn));
    m_drawn = 0;
    write_err(line + "\n");
    redraw();
    return;
  }
  const std::string resource = line.substr(0, gap);
  const auto now = std::chrono::steady_clock::now();
  auto found = std::find_if(m_entries.begin(), m_entries.end(),
                            [&](const Entry& entry) { return entry.resource == resource; });
  if (found == m_entries.end()) {
    m_entries.push_back(Entry{resource, status, now, now, false});
    found = std::prev(m_entries.end());
  } else if (found->done && !finished(status)) {
    found->began = now;  // a new step of a resource that had finished one (Recreate, ...)
  }
  found->status = status;
  found->done = finished(status);
  found->ended = now;
  redraw();
}

std::string ProgressDisplay::render(const Entry& entry, std::size_t width) const {
  const auto end = entry.done ? entry.ended : std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(end - entry.began).count();
  const std::string mark =
      entry.done ? "\033[32m✔\033[0m"
                 : std::string("\033[34m") + k_spinner[m_tick % k_spinner.size()] + "\033[0m";
  std::string text =
      fmt::format("{:<{}}  {:<10} {:.1f}s", entry.resource, width, entry.status, seconds);
  // A line wider than the terminal would wrap and throw off the redraw's count of lines.
  winsize size{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 4 &&
      text.size() + 3 > size.ws_col) {
    text.resize(size.ws_col - 3u);
  }
  return " " + mark + " " + text;
}

void ProgressDisplay::redraw() {
  if (m_entries.empty()) return;
  std::size_t width = 0;
  for (const auto& entry : m_entries) width = std::max(width, entry.resource.size());
  const auto done = std::count_if(m_entries.begin(), m_entries.end(),
                                  [](const Entry& entry) { return entry.done; });
  std::string screen;
  if (m_drawn > 0) screen += fmt::format("\033[{}A", m_drawn);
  screen += fmt::format("\r\033[K[+] Running {}/{}\n", done, m_entries.size());
  for (const auto& entry : m_entries) screen += "\r\033[K" + render(entry, width) + "\n";
  write_err(screen);
  std::fflush(stderr);
  m_drawn = m_entries.size() + 1;
}

}  // namespace berth::cmd
