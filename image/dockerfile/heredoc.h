// Here-documents in RUN, COPY and ADD: which words of an instruction announce one
// (`<<EOF`, `<<-EOF`, `<<'EOF'`, `3<<EOF`), and their bodies, read from the lines after it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/dockerfile/line_reader.h"
#include "image/dockerfile/syntax.h"

namespace berth::image::dockerfile {

/// The heredoc a word announces (Docker's `^(\d*)<<(-?)([^<]*)$`, the delimiter unquoted),
/// with an empty body; nullopt for any other word (`<<`, `a<<b`, `"<<EOF"`).
std::optional<Heredoc> parse_heredoc_word(std::string_view word);

/// The heredocs announced among `arguments` (split as the shell would, so a quoted `"<<EOF"`
/// announces nothing), in order, with empty bodies.
std::vector<Heredoc> find_heredocs(std::string_view arguments, char escape);

/// Reads each heredoc's body from the lines after the instruction, up to its delimiter line.
/// berth::Error `<file_name>:<line>: unterminated heredoc <<EOF`, `line` being the
/// instruction's.
void read_heredoc_bodies(LineReader& reader, std::vector<Heredoc>& heredocs, int line,
                         const std::string& file_name);

}  // namespace berth::image::dockerfile
