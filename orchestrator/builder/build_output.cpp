#include "orchestrator/builder/build_output.h"

#include <fmt/format.h>

namespace berth::builder {

BuildOutput::BuildOutput(std::FILE* out, ProgressMode mode, std::string prefix)
    : m_out(out), m_mode(mode), m_prefix(std::move(prefix)) {}

BuildOutput::Vertex BuildOutput::begin(std::string_view title) {
  int number = 0;
  {
    const std::lock_guard lock(m_mutex);
    number = m_next++;
  }
  // BuildKit separates vertices by a blank line.
  print("", false);
  print(fmt::format("#{} {}", number, title), false);
  return Vertex(this, number, std::string(title));
}

void BuildOutput::message(std::string_view text) {
  print(std::string(text), false);
}

void BuildOutput::print(const std::string& line, bool step_output) {
  if (m_mode == ProgressMode::quiet) return;
  if (step_output && m_mode == ProgressMode::tty) return;
  const std::lock_guard lock(m_mutex);
  if (line.empty()) {
    std::fputs("\n", m_out);
  } else {
    std::fprintf(m_out, "%s%s\n", m_prefix.c_str(), line.c_str());
  }
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
  m_owner->print(fmt::format("#{} {}", m_number, text), false);
}

void BuildOutput::Vertex::cached() {
  m_owner->print(fmt::format("#{} CACHED", m_number), false);
}

void BuildOutput::Vertex::done() {
  if (!m_partial.empty()) output("\n");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  m_owner->print(fmt::format("#{} DONE {:.1f}s", m_number, seconds), false);
}

void BuildOutput::Vertex::error(std::string_view why) {
  if (!m_partial.empty()) output("\n");
  m_owner->print(fmt::format("#{} ERROR: {}", m_number, why), false);
  m_owner->print("------", false);
  m_owner->print(fmt::format(" > {}:", m_title), false);
  for (const auto& line : m_tail) m_owner->print(line, false);
  m_owner->print("------", false);
}

}  // namespace berth::builder
