// The physical lines of a Dockerfile, read one instruction at a time: the parser directives
// at the top, comment and blank lines skipped, continuation lines joined. Heredoc bodies are
// read from the same reader, line by line, right after their instruction.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/dockerfile/syntax.h"

namespace berth::image::dockerfile {

/// One instruction's text: its lines joined, without the escape characters that continued
/// them and without the comment and blank lines among them, trimmed.
struct LogicalLine {
  std::string text;
  int line = 0;  // the first physical line, 1-based
};

class LineReader {
 public:
  LineReader(std::string_view text, const std::string& file_name);

  /// Reads the parser directives at the top of the file into `dockerfile` (its escape
  /// character, a note for `# syntax=`). Directives end at the first line that is not one: a
  /// blank line, any other comment or an instruction.
  void read_directives(Dockerfile& dockerfile);

  /// The next instruction, nullopt at the end of the file.
  std::optional<LogicalLine> next_instruction();

  /// The next physical line as written (without its line break), nullopt at the end.
  std::optional<std::string_view> next_raw_line();

  /// The number of the last line read, 1-based.
  int line() const { return static_cast<int>(m_next); }

 private:
  /// Appends `line` to `out`, without its continuation if it has one; true if it has.
  bool append_continued(std::string_view line, std::string& out) const;

  std::vector<std::string_view> m_lines;
  std::size_t m_next = 0;
  std::string m_file_name;
  char m_escape = '\\';
};

}  // namespace berth::image::dockerfile
