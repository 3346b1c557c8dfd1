// Go's filepath.Match wildcards, which Docker uses for COPY sources and (with `**` added)
// for .dockerignore: `*` and `?` never match '/', `[a-z]` and `[^a]` classes, `\` escapes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth::image::dockerfile {

/// True when the path element `element` has an unescaped `*`, `?` or `[` (Docker's test for
/// "this COPY source is a pattern").
bool glob_has_wildcards(std::string_view element);

/// Why `pattern` can match nothing ("unterminated character class", "trailing backslash"),
/// or nullopt when it is well formed. The matchers below assume a well-formed pattern.
std::optional<std::string> glob_syntax_error(std::string_view pattern);

struct GlobOptions {
  /// `**` matches any run of characters, '/' included, as in .dockerignore: `a/**` anything
  /// below a, `**/b` b at any depth. Otherwise it is just two `*`.
  bool double_star = false;
  /// Also true when `name` is only the beginning of something the pattern could match
  /// ("src/" for `src/*/conf`): whether a directory walk may find matches below.
  bool prefix = false;
};

/// Whether `pattern` matches all of `name`.
bool glob_match(std::string_view pattern, std::string_view name, GlobOptions options = {});

}  // namespace berth::image::dockerfile
