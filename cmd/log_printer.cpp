#include "cmd/log_printer.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

namespace berth::cmd {

namespace {

// Compose's palette order: a name keeps its colour for the whole run.
constexpr const char* k_palette[] = {"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"};

std::string painted(const std::string& color, const std::string& text) {
  return color.empty() ? text : "\033[" + color + "m" + text + "\033[0m";
}

}  // namespace

LogPrinter::LogPrinter(const std::vector<std::string>& names, LogPrinterOptions options)
    : m_options(options) {
  for (const auto& name : names) m_width = std::max(m_width, name.size());
  std::size_t next = 0;
  for (const auto& name : names) {
    if (m_colors.contains(name)) continue;
    m_colors[name] = m_options.color ? k_palette[next++ % std::size(k_palette)] : "";
  }
}

const std::string& LogPrinter::prefix_of(const std::string& name) {
  auto found = m_prefixes.find(name);
  if (found != m_prefixes.end()) return found->second;
  std::string prefix;
  if (m_options.prefix) {
    m_width = std::max(m_width, name.size());
    prefix = painted(m_colors[name], fmt::format("{:<{}} | ", name, m_width + 1));
  }
  return m_prefixes.emplace(name, std::move(prefix)).first->second;
}

void LogPrinter::line(const std::string& name, const containers::LogLine& line) {
  std::string text = line.text;
  if (text.ends_with('\n')) text.pop_back();
  const std::lock_guard lock(m_mutex);
  std::string out = prefix_of(name);
  if (m_options.timestamps) out += line.time + " ";
  out += text + "\n";
  std::FILE* stream = line.stream == "stderr" ? stderr : stdout;
  std::fwrite(out.data(), 1, out.size(), stream);
  std::fflush(stream);
}

void LogPrinter::status(const std::string& name, const std::string& message) {
  const std::lock_guard lock(m_mutex);
  const std::string out = painted(m_colors[name], name + " " + message) + "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

void LogPrinter::notice(const std::string& text) {
  const std::lock_guard lock(m_mutex);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::string log_name(const std::string& container, const std::string& project) {
  const std::string lead = project + "-";
  return container.starts_with(lead) ? container.substr(lead.size()) : container;
}

bool wants_color(int fd) {
  return ::isatty(fd) == 1 && std::getenv("NO_COLOR") == nullptr;
}

}  // namespace berth::cmd
