// The raw word splitting of ENV, LABEL and ARG, and their name=value pairs (declared in
// lexer.h, next to the expansion they use).
#include <fmt/format.h>

#include "image/dockerfile/lexer.h"
#include "util/error.h"
#include "util/strings.h"

namespace berth::image::dockerfile {
namespace {

/// The blanks Docker splits instruction arguments on (its `[\t\v\f\r ]+`).
constexpr std::string_view k_blanks = " \t\v\f\r";

bool is_blank(char c) {
  return c == '\n' || k_blanks.find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_blank(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

/// The legacy `ENV name value...`: everything after the first blanks is the value.
std::pair<std::string, std::optional<std::string>> legacy_pair(std::string_view keyword,
                                                               std::string_view text,
                                                               const Lookup& lookup, char escape) {
  const std::size_t cut = text.find_first_of(k_blanks);
  if (cut == std::string_view::npos) {
    throw Error(fmt::format("{} must have two arguments", keyword));
  }
  const std::string_view value = text.substr(text.find_first_not_of(k_blanks, cut));
  return {expand_word(text.substr(0, cut), lookup, escape), expand_word(value, lookup, escape)};
}

}  // namespace

std::vector<std::string> split_words_raw(std::string_view text, char escape) {
  std::vector<std::string> words;
  std::string word;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == escape && quote != '\'') {
        if (i + 1 == text.size()) {
          break;  // a trailing escape is dropped
        }
        word += c;
        c = text[++i];
      }
      word += c;
      continue;
    }
    if (is_blank(c)) {
      if (!word.empty()) {
        words.push_back(std::move(word));
        word.clear();
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == escape) {
      if (i + 1 == text.size()) {
        break;
      }
      word += c;
      c = text[++i];
    }
    word += c;
  }
  if (!word.empty()) {
    words.push_back(std::move(word));
  }
  return words;
}

std::vector<std::pair<std::string, std::optional<std::string>>> parse_key_values(
    std::string_view keyword, std::string_view text, const Lookup& lookup, char escape) {
  text = trim(text);
  const bool is_arg = lower(keyword) == "arg";
  const std::vector<std::string> words = split_words_raw(text, escape);
  if (words.empty()) {
    throw Error(fmt::format("{} requires at least one argument", keyword));
  }
  // Docker tells the two forms apart by the first word: no `=` in it is the legacy form.
  if (!is_arg && words.front().find('=') == std::string::npos) {
    return {legacy_pair(keyword, text, lookup, escape)};
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> pairs;
  for (const std::string& word : words) {
    const std::size_t equals = word.find('=');
    if (equals == std::string::npos && is_arg) {
      pairs.emplace_back(expand_word(word, lookup, escape), std::nullopt);
      continue;
    }
    if (equals == std::string::npos) {
      throw Error(fmt::format(
          "Syntax error - can't find = in \"{}\". Must be of the form: name=value", word));
    }
    std::string name = expand_word(std::string_view(word).substr(0, equals), lookup, escape);
    if (name.empty()) {
      throw Error(fmt::format("{} names can not be blank", keyword));
    }
    pairs.emplace_back(std::move(name),
                       expand_word(std::string_view(word).substr(equals + 1), lookup, escape));
  }
  return pairs;
}

}  // namespace berth::image::dockerfile
