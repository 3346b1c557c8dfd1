#include "image/dockerfile/ignore.h"

#include <fmt/format.h>

#include <cstddef>

#include "image/dockerfile/glob.h"
#include "util/error.h"

namespace berth::image::dockerfile {

namespace {

constexpr std::string_view k_byte_order_mark = "\xEF\xBB\xBF";
constexpr std::string_view k_blanks = " \t\n\v\f\r";

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(k_blanks);
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(k_blanks);
  return text.substr(first, last - first + 1);
}

/// Go's filepath.Clean, which Docker applies to every pattern: doubled slashes and "."
/// elements go, ".." eats the element before it (or the root's), no trailing slash. Unlike
/// fs::absolute a relative path stays relative, leading ".." kept.
std::string clean(std::string_view path) {
  const bool rooted = !path.empty() && path.front() == '/';
  std::vector<std::string_view> parts;
  std::size_t kept_dotdots = 0;  // leading ".." of a relative path, never eaten
  while (!path.empty()) {
    const auto slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      if (parts.size() > kept_dotdots) {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(part);
        ++kept_dotdots;
      }
      continue;
    }
    parts.push_back(part);
  }
  if (parts.empty()) {
    return rooted ? "/" : ".";
  }
  std::string out;
  for (const std::string_view part : parts) {
    if (rooted || !out.empty()) {
      out.push_back('/');
    }
    out.append(part.data(), part.size());
  }
  return out;
}

std::vector<std::string> split_elements(std::string_view path) {
  std::vector<std::string> elements;
  for (;;) {
    const auto slash = path.find('/');
    elements.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) {
      return elements;
    }
    path = path.substr(slash + 1);
  }
}

/// True when patternmatcher would compile `pattern` to its suffix test: `**` first, then
/// nothing that makes it a regular expression.
bool is_suffix_pattern(std::string_view pattern) {
  return pattern.starts_with("**") &&
         pattern.substr(2).find_first_of("*?[]\\") == std::string_view::npos;
}

}  // namespace

IgnoreRules IgnoreRules::parse(std::string_view text, const std::string& file_name) {
  IgnoreRules rules;
  int line_number = 0;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    ++line_number;
    if (line_number == 1 && line.starts_with(k_byte_order_mark)) {
      line.remove_prefix(k_byte_order_mark.size());
    }
    // Docker takes a comment only where '#' is the very first character: " # x" is a
    // pattern (which, cleaned, is "# x").
    if (line.starts_with('#')) {
      continue;
    }
    const std::string_view written = trim(line);
    if (written.empty()) {
      continue;
    }
    Pattern pattern;
    std::string_view body = written;
    if (body.front() == '!') {
      pattern.exclusion = true;
      body = trim(body.substr(1));
      if (body.empty()) {
        throw Error(fmt::format("{}:{}: bad pattern \"{}\": illegal exclusion pattern", file_name,
                                line_number, written));
      }
    }
    pattern.text = clean(body);
    if (pattern.text.size() > 1 && pattern.text.front() == '/') {
      pattern.text.erase(0, 1);
    }
    if (const auto why = glob_syntax_error(pattern.text)) {
      throw Error(
          fmt::format("{}:{}: bad pattern \"{}\": {}", file_name, line_number, written, *why));
    }
    pattern.elements = split_elements(pattern.text);
    pattern.suffix_match = is_suffix_pattern(pattern.text);
    rules.m_patterns.push_back(std::move(pattern));
  }
  return rules;
}

bool IgnoreRules::matches(const Pattern& pattern, std::string_view path) {
  if (pattern.suffix_match) {
    const std::string_view suffix = std::string_view(pattern.text).substr(2);
    // "**/foo" also matches "foo" at the top.
    return path.ends_with(suffix) || (suffix.starts_with('/') && path == suffix.substr(1));
  }
  return glob_match(pattern.text, path, {.double_star = true});
}

bool IgnoreRules::excluded(std::string_view path) const {
  // Docker never lets the context root itself be excluded.
  if (path.empty() || path == ".") {
    return false;
  }
  bool excluded = false;
  for (const Pattern& pattern : m_patterns) {
    // A pattern that cannot change the verdict is not evaluated: an exclusion while
    // nothing is excluded, a plain pattern once something is.
    if (pattern.exclusion != excluded) {
      continue;
    }
    bool match = matches(pattern, path);
    // A pattern that matches a parent directory matches everything below it.
    for (std::size_t slash = path.find('/'); !match && slash != std::string_view::npos;
         slash = path.find('/', slash + 1)) {
      match = matches(pattern, path.substr(0, slash));
    }
    if (match) {
      excluded = !pattern.exclusion;
    }
  }
  return excluded;
}

bool IgnoreRules::may_include_below(std::string_view dir) const {
  if (!excluded(dir)) {
    return true;
  }
  // Only a `!` pattern that can match a path below `dir` can bring something back (one
  // matching `dir` itself or a parent was overridden by whatever excluded `dir`).
  const std::string below = std::string(dir) + "/";
  for (const Pattern& pattern : m_patterns) {
    if (!pattern.exclusion) {
      continue;
    }
    if (pattern.suffix_match ||
        glob_match(pattern.text, below, {.double_star = true, .prefix = true})) {
      return true;
    }
  }
  return false;
}

}  // namespace berth::image::dockerfile
