#include "image/dockerfile/lexer.h"

#include "image/dockerfile/shell_pattern.h"
#include "util/error.h"

namespace berth::image::dockerfile {
namespace {

constexpr std::string_view k_bad_substitution = "bad substitution";

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_name_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/// POSIX's special parameters (`$@`, `$?`, ...): names of one character, which Docker looks
/// up like any other (and so usually finds unset).
bool is_special_parameter(char c) {
  return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' ||
         c == '0';
}

/// The words of expand_words as the expansion produces them: blanks from a variable's value
/// or written unquoted split words, quoted or escaped text never does.
class Words {
 public:
  /// Text that splits on blanks (unquoted text, the value of an unquoted `$v`).
  void add_split(std::string_view text) {
    for (const char c : text) {
      if (is_blank(c)) {
        flush();
      } else {
        m_word += c;
        m_active = true;
      }
    }
  }

  /// Quoted or escaped text: it makes a word even when empty (`""`).
  void add_raw(std::string_view text) {
    m_word += text;
    m_active = true;
  }

  std::vector<std::string> take() {
    flush();
    return std::move(m_words);
  }

 private:
  void flush() {
    if (m_active) {
      m_words.push_back(std::move(m_word));
      m_word.clear();
      m_active = false;
    }
  }

  std::vector<std::string> m_words;
  std::string m_word;
  bool m_active = false;
};

/// One pass over a word: quotes, escapes and `$` substitutions, recursively for the words
/// inside `${...}`.
class Expander {
 public:
  Expander(std::string_view text, const Lookup& lookup, char escape)
      : m_text(text), m_lookup(lookup), m_escape(escape) {}

  std::string run(Words& words) { return process(std::nullopt, false, words); }

 private:
  bool at_end() const { return m_pos >= m_text.size(); }
  char peek() const { return m_text[m_pos]; }
  char next() { return m_text[m_pos++]; }

  /// Up to `stop` (consumed) or the end of the text. `raw_escapes` keeps escape characters,
  /// for patterns, where they still mean something.
  std::string process(std::optional<char> stop, bool raw_escapes, Words& words) {
    std::string result;
    while (!at_end()) {
      char c = peek();
      if (stop && c == *stop) {
        ++m_pos;
        return result;
      }
      if (c == '$') {
        const std::string value = dollar();
        result += value;
        words.add_split(value);
        continue;
      }
      if (c == '\'' || c == '"') {
        const std::string value = c == '\'' ? single_quoted() : double_quoted(raw_escapes);
        result += value;
        words.add_raw(value);
        continue;
      }
      ++m_pos;
      if (c != m_escape) {
        result += c;
        words.add_split(std::string_view(&c, 1));
        continue;
      }
      if (raw_escapes) {
        result += c;
        words.add_raw(std::string_view(&c, 1));
      }
      if (at_end()) {
        break;  // a trailing escape is dropped
      }
      c = next();
      result += c;
      words.add_raw(std::string_view(&c, 1));
    }
    if (stop) {
      throw Error(std::string(k_bad_substitution));
    }
    return result;
  }

  /// Everything up to the next `'` literally: nothing escapes inside single quotes.
  std::string single_quoted() {
    ++m_pos;
    std::string result;
    while (!at_end()) {
      const char c = next();
      if (c == '\'') {
        return result;
      }
      result += c;
    }
    throw Error("unexpected end of statement while looking for matching single-quote");
  }

  /// Up to the next unescaped `"`, expanding `$`; the escape character only escapes `"`, `$`
  /// and itself, as in sh.
  std::string double_quoted(bool raw_escapes) {
    ++m_pos;
    std::string result;
    while (!at_end()) {
      const char c = peek();
      if (c == '"') {
        ++m_pos;
        return result;
      }
      if (c == '$') {
        result += dollar();
        continue;
      }
      ++m_pos;
      if (c != m_escape) {
        result += c;
        continue;
      }
      if (at_end()) {
        continue;  // a trailing escape: the quote is unterminated
      }
      const char escaped = peek();
      const bool escapable = escaped == '"' || escaped == '$' || escaped == m_escape;
      if (raw_escapes || !escapable) {
        result += c;
      }
      if (escapable) {
        result += next();
      }
    }
    throw Error("unexpected end of statement while looking for matching double-quote");
  }

  /// A name after `$`: digits (`$1`), one special character (`$?`) or letters, digits and `_`.
  std::string name() {
    std::string result;
    if (at_end()) {
      return result;
    }
    if (is_digit(peek())) {
      while (!at_end() && is_digit(peek())) {
        result += next();
      }
      return result;
    }
    if (is_special_parameter(peek())) {
      result += next();
      return result;
    }
    while (!at_end() && is_name_char(peek())) {
      result += next();
    }
    return result;
  }

  std::string dollar() {
    ++m_pos;
    if (at_end() || peek() != '{') {
      const std::string variable = name();
      if (variable.empty()) {
        return "$";  // `$` before anything that is not a name is literal
      }
      return m_lookup(variable).value_or("");
    }
    ++m_pos;
    return braced();
  }

  /// The word of `${v-word}` and its kin, up to `stop`; an error reaching the end of the text
  /// means the brace was never closed.
  std::string word_until(char stop, bool raw_escapes) {
    Words ignored;
    try {
      return process(stop, raw_escapes, ignored);
    } catch (const Error&) {
      if (at_end()) {
        throw Error(std::string(k_bad_substitution));
      }
      throw;
    }
  }

  /// After `${`.
  std::string braced() {
    if (at_end() || peek() == '{' || peek() == '}' || peek() == ':') {
      throw Error(std::string(k_bad_substitution));
    }
    const std::string variable = name();
    if (variable.empty() || at_end()) {
      throw Error(std::string(k_bad_substitution));
    }
    char op = next();
    if (op == '}') {
      return m_lookup(variable).value_or("");
    }
    bool null_is_unset = false;
    if (op == ':') {
      null_is_unset = true;
      op = at_end() ? '\0' : next();
      if (op != '-' && op != '+' && op != '?') {
        throw Error(std::string(k_bad_substitution));
      }
    }
    switch (op) {
      case '-':
      case '+':
      case '?': return conditional(variable, op, null_is_unset, word_until('}', false));
      case '#':
      case '%': {
        const bool longest = !at_end() && peek() == op;
        if (longest) {
          ++m_pos;
        }
        const ShellPattern pattern(word_until('}', true), m_escape);
        const std::string value = m_lookup(variable).value_or("");
        return op == '#' ? trim_prefix(value, pattern, longest)
                         : trim_suffix(value, pattern, longest);
      }
      case '/': {
        const bool all = !at_end() && peek() == '/';
        if (all) {
          ++m_pos;
        }
        const ShellPattern pattern(word_until('/', true), m_escape);
        const std::string replacement = word_until('}', false);
        return replace_matches(m_lookup(variable).value_or(""), pattern, replacement, all);
      }
      default: throw Error(std::string(k_bad_substitution));
    }
  }

  /// `${v-w}`, `${v+w}`, `${v?w}` and their `:` forms, which also take an empty value as
  /// unset.
  std::string conditional(const std::string& variable, char op, bool null_is_unset,
                          const std::string& word) {
    const std::optional<std::string> value = m_lookup(variable);
    const bool missing = !value || (null_is_unset && value->empty());
    if (op == '-') {
      return missing ? word : *value;
    }
    if (op == '+') {
      return missing ? "" : word;
    }
    if (missing) {
      const std::string_view fallback =
          value ? "is not allowed to be empty" : "is not allowed to be unset";
      throw Error(variable + ": " + (word.empty() ? std::string(fallback) : word));
    }
    return *value;
  }

  std::string_view m_text;
  const Lookup& m_lookup;
  char m_escape;
  std::size_t m_pos = 0;
};

}  // namespace

std::string expand_word(std::string_view word, const Lookup& lookup, char escape) {
  Words words;
  return Expander(word, lookup, escape).run(words);
}

std::vector<std::string> expand_words(std::string_view text, const Lookup& lookup, char escape) {
  Words words;
  Expander(text, lookup, escape).run(words);
  return words.take();
}

}  // namespace berth::image::dockerfile
