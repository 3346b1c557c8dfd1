// One instruction's line taken apart: its keyword, the `--flags` before its arguments, and
// the exec (JSON array) form of those arguments when they are one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/dockerfile/syntax.h"

namespace berth::image::dockerfile {

/// `line` (a whole instruction, continuations joined) as an Instruction: `keyword` upper
/// case, `flags`, `text` (the arguments after the flags, trimmed), `original` and `line`.
/// Nothing else: the JSON form and heredocs depend on the keyword.
Instruction split_instruction(std::string_view line, int line_number);

/// The strings of `text` when it is a JSON array of strings (`["sh", "-c"]`), nullopt for
/// anything else, which Docker then takes as the shell form.
std::optional<std::vector<std::string>> json_array(std::string_view text);

/// `text` split on blanks, without regard to quotes, as Docker splits FROM's arguments and
/// counts COPY's.
std::vector<std::string_view> split_blanks(std::string_view text);

}  // namespace berth::image::dockerfile
