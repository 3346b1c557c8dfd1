// The patterns of `${v#pattern}`, `${v%pattern}` and `${v/pattern/replacement}`: `*` any run
// of characters, `?` any one, the escape character taking the next one literally (no `[...]`
// classes, as in Docker's lexer).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::image::dockerfile {

class ShellPattern {
 public:
  ShellPattern(std::string_view text, char escape);

  /// Whether the pattern matches all of `text`.
  bool matches(std::string_view text) const;
  bool empty() const { return m_tokens.empty(); }

 private:
  enum class Kind { literal, any_char, any_run };
  struct Token {
    Kind kind = Kind::literal;
    char c = 0;
  };
  std::vector<Token> m_tokens;
};

/// `${v#p}` (shortest) and `${v##p}` (`longest`): `value` without the prefix `pattern` matches.
std::string trim_prefix(std::string_view value, const ShellPattern& pattern, bool longest);

/// `${v%p}` (shortest) and `${v%%p}` (`longest`): `value` without the suffix `pattern` matches.
std::string trim_suffix(std::string_view value, const ShellPattern& pattern, bool longest);

/// `${v/p/r}` and `${v//p/r}` (`all`): the leftmost longest non-empty match replaced.
std::string replace_matches(std::string_view value, const ShellPattern& pattern,
                            std::string_view replacement, bool all);

}  // namespace berth::image::dockerfile
