#include "image/dockerfile/shell_pattern.h"

namespace berth::image::dockerfile {

ShellPattern::ShellPattern(std::string_view text, char escape) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '*') {
      m_tokens.push_back({Kind::any_run, 0});
    } else if (c == '?') {
      m_tokens.push_back({Kind::any_char, 0});
    } else if (c == escape && i + 1 < text.size()) {
      m_tokens.push_back({Kind::literal, text[++i]});
    } else {
      m_tokens.push_back({Kind::literal, c});
    }
  }
}

bool ShellPattern::matches(std::string_view text) const {
  // The classic wildcard match: with only `*` and `?`, backtracking to the last `*` seen is
  // enough, so no recursion is needed.
  std::size_t p = 0;
  std::size_t s = 0;
  std::size_t star = std::string::npos;
  std::size_t star_text = 0;
  while (s < text.size()) {
    if (p < m_tokens.size() && (m_tokens[p].kind == Kind::any_char ||
                                (m_tokens[p].kind == Kind::literal && m_tokens[p].c == text[s]))) {
      ++p;
      ++s;
    } else if (p < m_tokens.size() && m_tokens[p].kind == Kind::any_run) {
      star = p++;
      star_text = s;
    } else if (star != std::string::npos) {
      p = star + 1;
      s = ++star_text;
    } else {
      return false;
    }
  }
  while (p < m_tokens.size() && m_tokens[p].kind == Kind::any_run) {
    ++p;
  }
  return p == m_tokens.size();
}

std::string trim_prefix(std::string_view value, const ShellPattern& pattern, bool longest) {
  for (std::size_t i = 0; i <= value.size(); ++i) {
    const std::size_t length = longest ? value.size() - i : i;
    if (pattern.matches(value.substr(0, length))) {
      return std::string(value.substr(length));
    }
  }
  return std::string(value);
}

std::string trim_suffix(std::string_view value, const ShellPattern& pattern, bool longest) {
  for (std::size_t i = 0; i <= value.size(); ++i) {
    const std::size_t start = longest ? i : value.size() - i;
    if (pattern.matches(value.substr(start))) {
      return std::string(value.substr(0, start));
    }
  }
  return std::string(value);
}

std::string replace_matches(std::string_view value, const ShellPattern& pattern,
                            std::string_view replacement, bool all) {
  std::string result;
  std::size_t start = 0;
  while (start < value.size()) {
    std::size_t end = value.size();
    // An empty match would replace nothing and never advance: bash ignores it too.
    while (end > start && !pattern.matches(value.substr(start, end - start))) {
      --end;
    }
    if (end == start) {
      result += value[start++];
      continue;
    }
    result += replacement;
    start = end;
    if (!all) {
      break;
    }
  }
  result += value.substr(start);
  return result;
}

}  // namespace berth::image::dockerfile
