#include "image/dockerfile/line_reader.h"

#include <fmt/format.h>

#include <set>

#include "util/error.h"
#include "util/strings.h"

namespace berth::image::dockerfile {
namespace {

constexpr std::string_view k_utf8_bom = "\xEF\xBB\xBF";

/// Go's unicode.IsSpace for ASCII, which is what Docker trims lines with.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/// The `\s` of Go's regular expressions, which Docker's directive pattern uses.
bool is_regex_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string_view trim_left(std::string_view text) {
  while (!text.empty() && is_space(text.front())) {
    text.remove_prefix(1);
  }
  return text;
}

std::string_view trim(std::string_view text) {
  text = trim_left(text);
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

bool is_comment(std::string_view line) {
  line = trim_left(line);
  return !line.empty() && line.front() == '#';
}

struct Directive {
  std::string name;  // lower case
  std::string value;
};

/// `# name = value` with a name of letters and digits, as Docker's pattern
/// `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` reads it.
std::optional<Directive> directive_of(std::string_view line) {
  line = trim_left(line);
  if (line.empty() || line.front() != '#') {
    return std::nullopt;
  }
  std::size_t i = 1;
  while (i < line.size() && is_regex_space(line[i])) {
    ++i;
  }
  const std::size_t name_start = i;
  if (i == line.size() || !is_letter(line[i])) {
    return std::nullopt;
  }
  while (i < line.size() && (is_letter(line[i]) || (line[i] >= '0' && line[i] <= '9'))) {
    ++i;
  }
  const std::string_view name = line.substr(name_start, i - name_start);
  while (i < line.size() && is_regex_space(line[i])) {
    ++i;
  }
  if (i == line.size() || line[i] != '=') {
    return std::nullopt;
  }
  ++i;
  while (i < line.size() && is_regex_space(line[i])) {
    ++i;
  }
  std::string_view value = line.substr(i);
  while (!value.empty() && is_regex_space(value.back())) {
    value.remove_suffix(1);
  }
  if (value.empty()) {
    return std::nullopt;
  }
  return Directive{lower(name), std::string(value)};
}

}  // namespace

LineReader::LineReader(std::string_view text, const std::string& file_name)
    : m_file_name(file_name) {
  if (text.starts_with(k_utf8_bom)) {
    text.remove_prefix(k_utf8_bom.size());
  }
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (line.ends_with('\r')) {
      line.remove_suffix(1);
    }
    m_lines.push_back(line);
    if (end == std::string_view::npos) {
      break;
    }
    text.remove_prefix(end + 1);
  }
}

void LineReader::read_directives(Dockerfile& dockerfile) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < m_lines.size(); ++i) {
    const std::optional<Directive> directive = directive_of(m_lines[i]);
    if (!directive || (directive->name != "escape" && directive->name != "syntax" &&
                       directive->name != "check")) {
      return;
    }
    const int line = static_cast<int>(i) + 1;
    if (!seen.insert(directive->name).second) {
      throw Error(fmt::format("{}:{}: only one {} parser directive can be used", m_file_name, line,
                              directive->name));
    }
    if (directive->name == "escape") {
      if (directive->value != "\\" && directive->value != "`") {
        throw Error(fmt::format("{}:{}: invalid escape token '{}' does not match ` or \\",
                                m_file_name, line, directive->value));
      }
      m_escape = directive->value.front();
      dockerfile.escape = m_escape;
    } else if (directive->name == "syntax") {
      dockerfile.notes.push_back(
          fmt::format("{}:{}: # syntax={} is ignored: berth builds with its own frontend",
                      m_file_name, line, directive->value));
    }
    // `# check=` configures BuildKit's linter, which berth does not have: ignored silently.
  }
}

bool LineReader::append_continued(std::string_view line, std::string& out) const {
  std::size_t end = line.size();
  while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t')) {
    --end;
  }
  // An escape character last continues the line, unless it is itself escaped (`echo \\`).
  if (end > 0 && line[end - 1] == m_escape && (end == 1 || line[end - 2] != m_escape)) {
    out += line.substr(0, end - 1);
    return true;
  }
  out += line;
  return false;
}

std::optional<LogicalLine> LineReader::next_instruction() {
  while (m_next < m_lines.size()) {
    const int first_line = static_cast<int>(m_next) + 1;
    const std::string_view first = trim_left(m_lines[m_next++]);
    if (first.empty() || first.front() == '#') {
      continue;
    }
    std::string text;
    bool continued = append_continued(first, text);
    while (continued && m_next < m_lines.size()) {
      // Continuation lines keep their leading blanks (Docker's history shows them), but
      // comment and blank lines among them are dropped.
      const std::string_view line = m_lines[m_next++];
      if (is_comment(line) || trim_left(line).empty()) {
        continue;
      }
      continued = append_continued(line, text);
    }
    const std::string_view joined = trim(text);
    if (!joined.empty()) {
      return LogicalLine{std::string(joined), first_line};
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> LineReader::next_raw_line() {
  if (m_next == m_lines.size()) {
    return std::nullopt;
  }
  return m_lines[m_next++];
}

}  // namespace berth::image::dockerfile
