// Transfer progress as Docker shows it: on a terminal a live line per layer (status, bytes,
// total, rate) redrawn in place; otherwise one plain line per status change; or nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace berth::image {

class Progress {
 public:
  enum class Mode { terminal, plain, quiet };

  /// terminal when `stream` is a tty, plain otherwise; quiet when `quiet`.
  static Mode detect(bool quiet, std::FILE* stream);

  Progress(Mode mode, std::FILE* stream);

  /// Adds a line for `id` (a short digest) with `status`; returns its handle.
  std::size_t add(std::string id, std::string status);
  /// A status change ("Downloading", "Download complete", "Pull complete").
  void status(std::size_t line, std::string status);
  /// Bytes moved so far; redrawn at most ten times a second on a terminal, never printed
  /// in plain mode.
  void bytes(std::size_t line, std::int64_t done, std::int64_t total);
  /// A line of its own ("Digest: sha256:...", "Status: ..."), printed below the layers.
  void message(const std::string& text);

 private:
  struct Line {
    std::string id;
    std::string status;
    std::int64_t done = 0;
    std::int64_t total = 0;
    std::chrono::steady_clock::time_point started;
  };
  std::string render(const Line& line) const;
  void redraw_locked();

  Mode m_mode;
  std::FILE* m_stream;
  std::mutex m_mutex;
  std::vector<Line> m_lines;
  std::size_t m_drawn = 0;  // lines currently on screen (terminal mode)
  std::chrono::steady_clock::time_point m_last_draw;
};

/// "12.3MB", "512kB", "17B": Docker's decimal units.
std::string human_size(std::int64_t bytes);

}  // namespace berth::image
