#include "util/shell_words.h"

#include "util/error.h"

namespace berth {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n';
}

/// Characters a backslash escapes inside double quotes (POSIX 2.2.3).
bool escapable_in_double_quotes(char c) {
  return c == '$' || c == '`' || c == '"' || c == '\\' || c == '\n';
}

class WordSplitter {
 public:
  explicit WordSplitter(std::string_view text) : m_text(text) {}

  std::vector<std::string> split() {
    while (m_pos < m_text.size()) {
      const char c = m_text[m_pos++];
      if (is_blank(c)) {
        end_word();
      } else if (c == '\'') {
        single_quoted();
      } else if (c == '"') {
        double_quoted();
      } else if (c == '\\') {
        escaped();
      } else {
        m_word += c;
        m_in_word = true;
      }
    }
    end_word();
    return std::move(m_words);
  }

 private:
  std::string_view m_text;
  std::size_t m_pos = 0;
  std::string m_word;
  bool m_in_word = false;  // distinguishes an empty quoted word from no word
  std::vector<std::string> m_words;

  void end_word() {
    if (m_in_word) {
      m_words.push_back(std::move(m_word));
      m_word.clear();
      m_in_word = false;
    }
  }

  void single_quoted() {
    const std::size_t close = m_text.find('\'', m_pos);
    if (close == std::string_view::npos) {
      throw Error("unterminated single quote");
    }
    m_word.append(m_text.substr(m_pos, close - m_pos));
    m_pos = close + 1;
    m_in_word = true;
  }

  void double_quoted() {
    m_in_word = true;
    while (m_pos < m_text.size()) {
      const char c = m_text[m_pos++];
      if (c == '"') {
        return;
      }
      if (c == '\\' && m_pos < m_text.size() && escapable_in_double_quotes(m_text[m_pos])) {
        const char next = m_text[m_pos++];
        if (next != '\n') {
          m_word += next;
        }
        continue;
      }
      m_word += c;
    }
    throw Error("unterminated double quote");
  }

  void escaped() {
    if (m_pos >= m_text.size()) {
      throw Error("trailing backslash");
    }
    const char next = m_text[m_pos++];
    if (next == '\n') {
      return;  // line continuation
    }
    m_word += next;
    m_in_word = true;
  }
};

}  // namespace

std::vector<std::string> split_shell_words(std::string_view text) {
  return WordSplitter(text).split();
}

}  // namespace berth
