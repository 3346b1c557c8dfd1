#include "image/dockerfile/heredoc.h"

#include <fmt/format.h>

#include "image/dockerfile/lexer.h"
#include "util/error.h"

namespace berth::image::dockerfile {
namespace {

/// The delimiter without its quotes and escapes; `quoted` tells whether it had quotes, which
/// turns expansion off in the body (an escape alone does not, as in Docker).
std::string unquote(std::string_view word, bool& quoted) {
  std::string result;
  char quote = 0;
  for (std::size_t i = 0; i < word.size(); ++i) {
    const char c = word[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < word.size() &&
                 (word[i + 1] == '"' || word[i + 1] == '$' || word[i + 1] == '\\')) {
        result += word[++i];
      } else {
        result += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      quoted = true;
    } else if (c == '\\' && i + 1 < word.size()) {
      result += word[++i];
    } else {
      result += c;
    }
  }
  return result;
}

std::string_view strip_leading_tabs(std::string_view line) {
  while (!line.empty() && line.front() == '\t') {
    line.remove_prefix(1);
  }
  return line;
}

}  // namespace

std::optional<Heredoc> parse_heredoc_word(std::string_view word) {
  std::size_t i = 0;
  while (i < word.size() && word[i] >= '0' && word[i] <= '9') {
    ++i;  // a file descriptor (`3<<EOF`), which berth, like Docker, ignores
  }
  if (word.substr(i, 2) != "<<") {
    return std::nullopt;
  }
  i += 2;
  Heredoc heredoc;
  if (i < word.size() && word[i] == '-') {
    heredoc.chomp_tabs = true;
    ++i;
  }
  const std::string_view delimiter = word.substr(i);
  if (delimiter.empty() || delimiter.find('<') != std::string_view::npos) {
    return std::nullopt;
  }
  bool quoted = false;
  heredoc.name = unquote(delimiter, quoted);
  if (heredoc.name.empty()) {
    return std::nullopt;
  }
  heredoc.expand = !quoted;
  return heredoc;
}

std::vector<Heredoc> find_heredocs(std::string_view arguments, char escape) {
  std::vector<Heredoc> heredocs;
  for (const std::string& word : split_words_raw(arguments, escape)) {
    if (std::optional<Heredoc> heredoc = parse_heredoc_word(word)) {
      heredocs.push_back(std::move(*heredoc));
    }
  }
  return heredocs;
}

void read_heredoc_bodies(LineReader& reader, std::vector<Heredoc>& heredocs, int line,
                         const std::string& file_name) {
  for (Heredoc& heredoc : heredocs) {
    for (;;) {
      const std::optional<std::string_view> body_line = reader.next_raw_line();
      if (!body_line) {
        throw Error(fmt::format("{}:{}: unterminated heredoc <<{}{}", file_name, line,
                                heredoc.chomp_tabs ? "-" : "", heredoc.name));
      }
      const std::string_view text =
          heredoc.chomp_tabs ? strip_leading_tabs(*body_line) : *body_line;
      if (text == heredoc.name) {
        break;
      }
      heredoc.content += text;
      heredoc.content += '\n';
    }
  }
}

}  // namespace berth::image::dockerfile
