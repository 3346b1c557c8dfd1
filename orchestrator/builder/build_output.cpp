#include "orchestrator/builder/build_output.h"

#include <cstdio>

#include <fmt/format.h>

#include "util/terminal.h"

namespace berth::builder {

BuildOutput::BuildOutput(std::FILE* out, ProgressMode mode, std::string prefix)
    : m_out(out), m_mode(mode), m_prefix(std::move(prefix)) {
  if (m_mode != ProgressMode::tty) return;
  m_ticker = std::thread([this] {
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
      draw_status();
      m_wake.wait_for(lock, std::chrono::milliseconds(100));
    }
    std::fputs("\r\033[K", m_out);
    std::fflush(m_out);
  });
}

BuildOutput::~BuildOutput() {
  if (!m_ticker.joinable()) return;
  {
    const std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_wake.notify_all();
  m_ticker.join();
}

BuildOutput::Vertex BuildOutput::begin(std::string_view title) {
  int number = 0;
  {
    const std::lock_guard lock(m_mutex);
    number = m_next++;
    if (m_mode == ProgressMode::tty) {
      m_running[number] = {std::string(title), std::chrono::steady_clock::now()};
    }
  }
  if (m_mode != ProgressMode::tty) {
    // BuildKit separates vertices by a blank line.
    print("", false);
    print(fmt::format("#{} {}", number, title), false);
  }
  return Vertex(this, number, std::string(title));
}

void BuildOutput::finish(int number, std::string_view status) {
  const std::lock_guard lock(m_mutex);
  const auto found = m_running.find(number);
  if (found == m_running.end()) return;
  std::fprintf(m_out, "\r\033[K%s => %s  %s\n", m_prefix.c_str(), found->second.first.c_str(),
               std::string(status).c_str());
  m_running.erase(found);
  ++m_finished;
  draw_status();
}

void BuildOutput::draw_status() {
  const auto now = std::chrono::steady_clock::now();
  std::string line = fmt::format("[+] Building {:.1f}s ({}/{})",
                                 std::chrono::duration<double>(now - m_start).count(), m_finished,
                                 m_finished + static_cast<int>(m_running.size()));
  for (const auto& [number, vertex] : m_running) {
    line += fmt::format("  {} {:.1f}s", vertex.first,
                        std::chrono::duration<double>(now - vertex.second).count());
  }
  // One terminal line: a wrapped status line could not be redrawn in place.
  const auto size = util::terminal_size(::fileno(m_out));
  const std::size_t width = size && size->second > 8 ? size->second : 80;
  if (line.size() >= width) line = line.substr(0, width - 4) + "...";
  std::fprintf(m_out, "\r\033[K%s", line.c_str());
  std::fflush(m_out);
}

void BuildOutput::message(std::string_view text) {
  print(std::string(text), false);
}

void BuildOutput::print(const std::string& line, bool step_output) {
  if (m_mode == ProgressMode::quiet) return;
  if (step_output && m_mode == ProgressMode::tty) return;
  const std::lock_guard lock(m_mutex);
  if (m_mode == ProgressMode::tty) std::fputs("\r\033[K", m_out);  // under the status line
  if (line.empty()) {
    std::fputs("\n", m_out);
  } else {
    std::fprintf(m_out, "%s%s\n", m_prefix.c_str(), line.c_str());
  }
  if (m_mode == ProgressMode::tty) draw_status();
  std::fflush(m_out);
}

BuildOutput::Vertex::Vertex(BuildOutput* owner, int number, std::string title)
    : m_owner(owner),
      m_number(number),
      m_start(std::chrono::steady_clock::now()),
      m_title(std::move(title)) {}

namespace {
constexpr std::size_t k_tail_lines = 10;
}

void BuildOutput::Vertex::output(std::string_view text) {
  m_partial.append(text);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  std::size_t start = 0;
  for (std::size_t end; (end = m_partial.find('\n', start)) != std::string::npos; start = end + 1) {
    std::string_view line(m_partial.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    m_owner->print(fmt::format("#{} {:.3f} {}", m_number, seconds, line), true);
    if (m_tail.size() == k_tail_lines) m_tail.erase(m_tail.begin());
    m_tail.push_back(fmt::format("{:.3f} {}", seconds, line));
  }
  m_partial.erase(0, start);
}

void BuildOutput::Vertex::note(std::string_view text) {
  if (m_owner->m_mode == ProgressMode::tty) return;
  m_owner->print(fmt::format("#{} {}", m_number, text), false);
}

void BuildOutput::Vertex::cached() {
  if (m_owner->m_mode == ProgressMode::tty) return m_owner->finish(m_number, "CACHED");
  m_owner->print(fmt::format("#{} CACHED", m_number), false);
}

void BuildOutput::Vertex::done() {
  if (!m_partial.empty()) output("\n");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  if (m_owner->m_mode == ProgressMode::tty) {
    return m_owner->finish(m_number, fmt::format("{:.1f}s", seconds));
  }
  m_owner->print(fmt::format("#{} DONE {:.1f}s", m_number, seconds), false);
}

void BuildOutput::Vertex::error(std::string_view why) {
  if (!m_partial.empty()) output("\n");
  if (m_owner->m_mode == ProgressMode::tty) m_owner->finish(m_number, "ERROR");
  m_owner->print(fmt::format("#{} ERROR: {}", m_number, why), false);
  m_owner->print("------", false);
  m_owner->print(fmt::format(" > {}:", m_title), false);
  for (const auto& line : m_tail) m_owner->print(line, false);
  m_owner->print("------", false);
}

}  // namespace berth::builder
