// .dockerignore: which paths of a build context the builder never sees.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth::image::dockerfile {

/// Docker's rules (moby/patternmatcher): one pattern per line, `#` comments, blank lines
/// ignored; each pattern is cleaned (a leading `/` and `./` dropped, `a//b` and `a/./b`
/// folded), then matched like Go's filepath.Match per path element (`*`, `?`, `[a-z]`,
/// `[^a]`, `\` escapes) plus `**` for any number of elements; `!pattern` re-includes what an
/// earlier pattern excluded; the last matching pattern wins. A pattern that matches a
/// directory excludes everything below it (unless a later `!` re-includes a path below it).
class IgnoreRules {
 public:
  IgnoreRules() = default;
  /// berth::Error `<file_name>:<line>: bad pattern "<p>": <why>` for a pattern that cannot
  /// match (`[a-`, a trailing `\`).
  static IgnoreRules parse(std::string_view text, const std::string& file_name = ".dockerignore");

  /// `path` is relative to the context root, '/'-separated, cleaned ("app/main.py").
  bool excluded(std::string_view path) const;
  /// False when nothing below the directory `dir` can be included (the directory is
  /// excluded and no `!` pattern could re-include something inside it): the walk skips it.
  bool may_include_below(std::string_view dir) const;
  bool empty() const { return m_patterns.empty(); }

 private:
  struct Pattern {
    std::string text;        // cleaned, without the `!`
    bool exclusion = false;  // a `!` pattern
    std::vector<std::string> elements;
    /// Docker's shortcut for `**` followed by plain text (`**/foo`, `**.log`): a suffix
    /// test, so `**.log` matches `a/b.log` as Docker does.
    bool suffix_match = false;
  };
  static bool matches(const Pattern& pattern, std::string_view path);
  std::vector<Pattern> m_patterns;
};

}  // namespace berth::image::dockerfile
