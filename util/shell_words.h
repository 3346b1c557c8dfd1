// POSIX shell word splitting for `command: "..."` style strings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth {

/// Splits a command line into words as POSIX sh does, without any expansion: blanks (space,
/// tab, newline) separate words; '...' is literal; inside "..." a backslash escapes only
/// $ ` " \ and newline; outside quotes a backslash escapes any character and backslash-newline
/// is removed. Operators (; & | < > ( )) are ordinary characters. "" yields an empty word.
/// Throws berth::Error on an unterminated quote or a trailing backslash.
std::vector<std::string> split_shell_words(std::string_view text);

}  // namespace berth
