#include "image/dockerfile/instruction_line.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace berth::image::dockerfile {
namespace {

/// The blanks between an instruction's keyword and its arguments (Docker's `[\t\v\f\r ]+`).
constexpr std::string_view k_blanks = " \t\v\f\r";

bool is_space(char c) {
  return c == '\n' || k_blanks.find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

std::string upper(std::string_view text) {
  std::string result(text);
  for (char& c : result) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return result;
}

Flag flag_of(std::string_view word) {
  word.remove_prefix(2);
  Flag flag;
  const std::size_t equals = word.find('=');
  flag.name = std::string(word.substr(0, equals));
  if (equals != std::string_view::npos) {
    flag.value = std::string(word.substr(equals + 1));
    flag.has_value = true;
  }
  return flag;
}

/// Reads one flag word from `rest` at `pos`: quotes removed, a backslash taking the next
/// character as it is (Docker's rule for flags, whatever the escape directive).
std::string read_flag_word(std::string_view rest, std::size_t& pos) {
  std::string word;
  char quote = 0;
  for (; pos < rest.size(); ++pos) {
    const char c = rest[pos];
    if (quote == 0 && is_space(c)) {
      break;
    }
    if (quote == 0 && (c == '\'' || c == '"')) {
      quote = c;
    } else if (quote != 0 && c == quote) {
      quote = 0;
    } else if (c == '\\') {
      if (pos + 1 < rest.size()) {
        word += rest[++pos];
      }
    } else {
      word += c;
    }
  }
  return word;
}

}  // namespace

Instruction split_instruction(std::string_view line, int line_number) {
  line = trim(line);
  Instruction instruction;
  instruction.line = line_number;
  const std::size_t keyword_end = std::min(line.find_first_of(k_blanks), line.size());
  instruction.keyword = upper(line.substr(0, keyword_end));
  const std::string_view rest = trim(line.substr(keyword_end));
  instruction.original = instruction.keyword;
  if (!rest.empty()) {
    instruction.original += ' ';
    instruction.original += rest;
  }
  // Flags are the leading words that start with `--`; a lone `--` ends them.
  std::size_t pos = 0;
  for (;;) {
    while (pos < rest.size() && is_space(rest[pos])) {
      ++pos;
    }
    if (rest.substr(pos, 2) != "--") {
      break;
    }
    const std::string word = read_flag_word(rest, pos);
    if (word == "--") {
      break;
    }
    instruction.flags.push_back(flag_of(word));
  }
  instruction.text = std::string(trim(rest.substr(std::min(pos, rest.size()))));
  return instruction;
}

std::optional<std::vector<std::string>> json_array(std::string_view text) {
  text = trim(text);
  if (!text.starts_with('[')) {
    return std::nullopt;
  }
  const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_array()) {
    return std::nullopt;
  }
  std::vector<std::string> strings;
  for (const nlohmann::json& item : parsed) {
    if (!item.is_string()) {
      return std::nullopt;
    }
    strings.push_back(item.get<std::string>());
  }
  return strings;
}

std::vector<std::string_view> split_blanks(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t start = text.find_first_not_of(k_blanks, pos);
    if (start == std::string_view::npos) {
      break;
    }
    pos = std::min(text.find_first_of(k_blanks, start), text.size());
    words.push_back(text.substr(start, pos - start));
  }
  return words;
}

}  // namespace berth::image::dockerfile
