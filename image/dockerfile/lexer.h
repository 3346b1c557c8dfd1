// Docker's variable substitution and word splitting for Dockerfile arguments (its "shell
// lexer"): what ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, ARG
// and the flags of instructions see. RUN, CMD and ENTRYPOINT are left to the shell.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::image::dockerfile {

/// Looks a variable up; nullopt when it is not set (an empty value is set).
using Lookup = std::function<std::optional<std::string>(std::string_view name)>;

/// Expands one word: `$v`, `${v}`, `${v:-default}`, `${v-default}`, `${v:+alt}`,
/// `${v+alt}`, `${v:?message}`, `${v?message}` (nested expansions in the default/alt
/// allowed), single quotes literal, double quotes expanding, `escape` (`\` or the
/// directive's character) escaping the next character; quotes are removed. An unset
/// variable expands to "". berth::Error for `${v:?message}` on an unset variable
/// (`v: message`), a bad substitution (`${`, `${v`, `${1v}`: `bad substitution`) or an
/// unterminated quote.
std::string expand_word(std::string_view word, const Lookup& lookup, char escape = '\\');

/// Expands then splits on unquoted blanks, as for EXPOSE, VOLUME's shell form, or the
/// arguments of COPY/ADD (`COPY "a b" c /dst/` gives 3 words). A quoted empty string is a
/// word; an unquoted expansion to "" is not.
std::vector<std::string> expand_words(std::string_view text, const Lookup& lookup,
                                      char escape = '\\');

/// Splits without expanding, keeping quotes and escapes in each word (ENV and LABEL split
/// their pairs first, then expand each word).
std::vector<std::string> split_words_raw(std::string_view text, char escape = '\\');

/// The name=value pairs of ENV, LABEL and ARG (`ARG name` gives a pair without value: the
/// optional is empty). Accepts `k=v k2="v 2"` and, for ENV and LABEL, the legacy single
/// pair `k v...` (everything after the first blank is the value). Values are expanded with
/// `lookup`, names too. `keyword` names the instruction in errors: `ENV names can not be
/// blank`, `LABEL requires at least one argument`, `ENV must have two arguments`, `ARG
/// requires exactly one argument` is not an error for several pairs (Docker accepts
/// `ARG a=1 b=2`).
std::vector<std::pair<std::string, std::optional<std::string>>> parse_key_values(
    std::string_view keyword, std::string_view text, const Lookup& lookup, char escape = '\\');

}  // namespace berth::image::dockerfile
