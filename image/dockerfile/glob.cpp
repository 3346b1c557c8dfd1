#include "image/dockerfile/glob.h"

#include <cstddef>
#include <utility>

namespace berth::image::dockerfile {

namespace {

constexpr char32_t k_bad_rune = 0xFFFD;

struct Rune {
  char32_t value = k_bad_rune;
  std::size_t length = 1;
};

/// The UTF-8 character at `text[at]`; an invalid byte is a 1-byte k_bad_rune, as in Go, so
/// that `?` and classes step over whole characters like Docker's matcher does.
Rune decode_rune(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) {
    return {lead, 1};
  }
  std::size_t length = 0;
  char32_t value = 0;
  char32_t minimum = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    value = lead & 0x1F;
    minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    value = lead & 0x0F;
    minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    value = lead & 0x07;
    minimum = 0x10000;
  } else {
    return {};
  }
  if (at + length > text.size()) {
    return {};
  }
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) {
      return {};
    }
    value = (value << 6) | (byte(i) & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    return {};
  }
  return {value, length};
}

/// One member character of a class (`a`, `\]`) at `pattern[at]`: its value and the position
/// after it; nullopt with `why` set when the class is malformed there.
std::optional<std::pair<char32_t, std::size_t>> class_char(std::string_view pattern, std::size_t at,
                                                           std::string* why) {
  if (at >= pattern.size()) {
    *why = "unterminated character class";
    return std::nullopt;
  }
  if (pattern[at] == '-') {
    *why = "bad range in character class";
    return std::nullopt;
  }
  if (pattern[at] == ']') {
    *why = "empty character class";
    return std::nullopt;
  }
  if (pattern[at] == '\\') {
    ++at;
    if (at >= pattern.size()) {
      *why = "unterminated character class";
      return std::nullopt;
    }
  }
  const Rune rune = decode_rune(pattern, at);
  if (rune.value == k_bad_rune && rune.length == 1 &&
      static_cast<unsigned char>(pattern[at]) >= 0x80) {
    *why = "invalid UTF-8 in character class";
    return std::nullopt;
  }
  at += rune.length;
  // Go's rule: a class must be closed, so running out of pattern here is an error too.
  if (at >= pattern.size()) {
    *why = "unterminated character class";
    return std::nullopt;
  }
  return std::pair{rune.value, at};
}

struct ClassResult {
  bool matched = false;
  std::size_t end = 0;  // the position after the closing ']'
  std::string error;    // non-empty when the class is malformed
};

/// The class that starts at `pattern[at]` ('[') tested against `c`.
ClassResult match_class(std::string_view pattern, std::size_t at, char32_t c) {
  ClassResult result;
  ++at;
  bool negated = false;
  if (at < pattern.size() && pattern[at] == '^') {
    negated = true;
    ++at;
  }
  bool matched = false;
  for (int ranges = 0;; ++ranges) {
    if (ranges > 0 && at < pattern.size() && pattern[at] == ']') {
      ++at;
      break;
    }
    const auto low = class_char(pattern, at, &result.error);
    if (!low) {
      return result;
    }
    char32_t high = low->first;
    at = low->second;
    if (pattern[at] == '-') {
      const auto upper = class_char(pattern, at + 1, &result.error);
      if (!upper) {
        return result;
      }
      high = upper->first;
      at = upper->second;
    }
    if (low->first <= c && c <= high) {
      matched = true;
    }
  }
  result.matched = matched != negated;
  result.end = at;
  return result;
}

class Matcher {
 public:
  Matcher(std::string_view pattern, std::string_view name, GlobOptions options)
      : m_pattern(pattern), m_name(name), m_options(options) {}

  bool match(std::size_t p, std::size_t n) const {
    for (;;) {
      if (m_options.prefix && n == m_name.size()) {
        return true;
      }
      if (p == m_pattern.size()) {
        return n == m_name.size();
      }
      const char c = m_pattern[p];
      if (c == '*') {
        return match_star(p, n);
      }
      if (n == m_name.size()) {
        return false;
      }
      if (c == '?') {
        if (m_name[n] == '/') {
          return false;
        }
        n += decode_rune(m_name, n).length;
        ++p;
        continue;
      }
      if (c == '[') {
        const Rune rune = decode_rune(m_name, n);
        const ClassResult result = match_class(m_pattern, p, rune.value);
        if (!result.error.empty() || !result.matched) {
          return false;
        }
        n += rune.length;
        p = result.end;
        continue;
      }
      if (c == '\\' && p + 1 < m_pattern.size()) {
        ++p;
      }
      if (m_pattern[p] != m_name[n]) {
        return false;
      }
      ++p;
      ++n;
    }
  }

 private:
  bool match_star(std::size_t p, std::size_t n) const {
    if (m_options.double_star && p + 1 < m_pattern.size() && m_pattern[p + 1] == '*') {
      // patternmatcher's `**`: "**/" is taken as "**"; at the end it matches everything
      // left, elsewhere any number of whole leading elements, `(.*/)?`.
      std::size_t next = p + 2;
      if (next < m_pattern.size() && m_pattern[next] == '/') {
        ++next;
      }
      if (next == m_pattern.size() || m_options.prefix) {
        return true;
      }
      if (match(next, n)) {
        return true;
      }
      for (std::size_t i = n; i < m_name.size(); ++i) {
        if (m_name[i] == '/' && match(next, i + 1)) {
          return true;
        }
      }
      return false;
    }
    std::size_t next = p + 1;
    while (!m_options.double_star && next < m_pattern.size() && m_pattern[next] == '*') {
      ++next;
    }
    for (std::size_t i = n;; ++i) {
      if (match(next, i)) {
        return true;
      }
      if (i == m_name.size() || m_name[i] == '/') {
        return false;
      }
    }
  }

  std::string_view m_pattern;
  std::string_view m_name;
  GlobOptions m_options;
};

}  // namespace

bool glob_has_wildcards(std::string_view element) {
  for (std::size_t i = 0; i < element.size(); ++i) {
    const char c = element[i];
    if (c == '\\') {
      ++i;
    } else if (c == '*' || c == '?' || c == '[') {
      return true;
    }
  }
  return false;
}

std::optional<std::string> glob_syntax_error(std::string_view pattern) {
  for (std::size_t i = 0; i < pattern.size();) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 >= pattern.size()) {
        return "trailing backslash";
      }
      i += 2;
    } else if (c == '[') {
      const ClassResult result = match_class(pattern, i, 0);
      if (!result.error.empty()) {
        return result.error;
      }
      i = result.end;
    } else {
      ++i;
    }
  }
  return std::nullopt;
}

bool glob_match(std::string_view pattern, std::string_view name, GlobOptions options) {
  return Matcher(pattern, name, options).match(0, 0);
}

}  // namespace berth::image::dockerfile
