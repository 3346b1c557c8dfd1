#include "image/progress.h"

#include <unistd.h>

#include <fmt/format.h>

namespace berth::image {

namespace {
constexpr auto k_redraw_interval = std::chrono::milliseconds(100);
}

std::string human_size(std::int64_t bytes) {
  static constexpr const char* k_units[] = {"B", "kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(k_units)) {
    value /= 1000;
    ++unit;
  }
  return unit == 0 ? fmt::format("{}B", bytes) : fmt::format("{:.3g}{}", value, k_units[unit]);
}

Progress::Mode Progress::detect(bool quiet, std::FILE* stream) {
  if (quiet) return Mode::quiet;
  return ::isatty(::fileno(stream)) != 0 ? Mode::terminal : Mode::plain;
}

Progress::Progress(Mode mode, std::FILE* stream) : m_mode(mode), m_stream(stream) {}

std::size_t Progress::add(std::string id, std::string status) {
  std::lock_guard lock(m_mutex);
  m_lines.push_back(Line{std::move(id), std::move(status), 0, 0, std::chrono::steady_clock::now()});
  if (m_mode == Mode::plain) fmt::print(m_stream, "{}\n", render(m_lines.back()));
  if (m_mode == Mode::terminal) redraw_locked();
  return m_lines.size() - 1;
}

void Progress::status(std::size_t line, std::string status) {
  std::lock_guard lock(m_mutex);
  Line& entry = m_lines.at(line);
  if (entry.status == status) return;
  entry.status = std::move(status);
  if (entry.status == "Downloading" || entry.status == "Pushing") {
    entry.started = std::chrono::steady_clock::now();
  }
  if (m_mode == Mode::plain) fmt::print(m_stream, "{}\n", render(entry));
  if (m_mode == Mode::terminal) redraw_locked();
}

void Progress::bytes(std::size_t line, std::int64_t done, std::int64_t total) {
  std::lock_guard lock(m_mutex);
  Line& entry = m_lines.at(line);
  entry.done = done;
  entry.total = total;
  if (m_mode != Mode::terminal) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - m_last_draw < k_redraw_interval) return;
  redraw_locked();
}

void Progress::message(const std::string& text) {
  std::lock_guard lock(m_mutex);
  if (m_mode == Mode::quiet) return;
  if (m_mode == Mode::terminal) {
    redraw_locked();
    m_drawn = 0;  // the message scrolls the table out of reach; later draws start below it
    m_lines.clear();
  }
  fmt::print(m_stream, "{}\n", text);
  std::fflush(m_stream);
}

std::string Progress::render(const Line& line) const {
  std::string text = line.id + ": " + line.status;
  const bool moving = line.status == "Downloading" || line.status == "Pushing";
  if (m_mode == Mode::terminal && moving && line.total > 0) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - line.started).count();
    const auto rate = seconds > 0.05 ? static_cast<std::int64_t>(line.done / seconds) : 0;
    text += fmt::format("  {}/{}", human_size(line.done), human_size(line.total));
    if (rate > 0) text += fmt::format("  {}/s", human_size(rate));
  }
  return text;
}

void Progress::redraw_locked() {
  // Move up over the lines drawn last time, then rewrite each one and clear its tail.
  if (m_drawn > 0) fmt::print(m_stream, "\x1b[{}A", m_drawn);
  for (const Line& line : m_lines) fmt::print(m_stream, "\r{}\x1b[K\n", render(line));
  m_drawn = m_lines.size();
  m_last_draw = std::chrono::steady_clock::now();
  std::fflush(m_stream);
}

}  // namespace berth::image
