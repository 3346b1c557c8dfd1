// Compose's progress for project commands: on a terminal a live table, a line per resource
// (`✔ Container shop-web-1  Started  0.4s`) redrawn in place under a `[+] Running 3/5`
// title; otherwise plain lines as they come; or nothing (`--progress quiet`).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth::cmd {

enum class ProgressMode { plain, tty, quiet };

/// --progress auto|tty|plain|quiet: auto is tty when standard error is a terminal (and TERM
/// is not "dumb"), plain otherwise. berth::Error for another value.
ProgressMode progress_mode(const std::string& flag);

class ProgressDisplay {
 public:
  explicit ProgressDisplay(ProgressMode mode);
  /// Draws the table one last time (every elapsed time final).
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  /// The progress callback for the project operations: takes "Container shop-web-1  Started"
  /// (and free-form lines such as warnings, shown above the table); safe from any thread.
  std::function<void(const std::string&)> callback();

 private:
  struct Entry {
    std::string resource;  // "Container shop-web-1"
    std::string status;    // "Started"
    std::chrono::steady_clock::time_point began;
    std::chrono::steady_clock::time_point ended;
    bool done = false;
  };

  void take(const std::string& line);
  void redraw();  // holds m_mutex
  std::string render(const Entry& entry, std::size_t width) const;

  ProgressMode m_mode;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
  std::vector<Entry> m_entries;
  std::size_t m_drawn = 0;  // lines of the table on the screen
  unsigned m_tick = 0;      // the spinner's frame
  std::thread m_ticker;     // redraws elapsed times and spinners while something is at work
};

}  // namespace berth::cmd
