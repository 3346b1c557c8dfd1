#include "orchestrator/compose/dotenv.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "util/error.h"

namespace berth::compose {

namespace {

constexpr std::string_view k_utf8_bom = "\xEF\xBB\xBF";
constexpr std::string_view k_export = "export";

// Blanks inside a line; '\r' counts, which is what makes CRLF files work.
bool is_inline_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

bool is_space(char c) {
  return c == '\n' || is_inline_space(c);
}

// compose-go accepts Unicode letters and digits plus "_.-[]"; any non-ASCII byte is let
// through as part of such a letter.
bool is_key_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x80 || std::isalnum(u) != 0 || c == '_' || c == '.' || c == '-' || c == '[' ||
         c == ']';
}

std::string_view trim_right(std::string_view text) {
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

void append_utf8(std::string& out, unsigned code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// compose-go turns "\0" plus up to three digits into "\" plus the digits, then reads that as a
// Go octal escape: exactly three octal digits up to \377 give that code point, anything else
// stays as written without its 0.
std::size_t expand_octal(std::string_view text, std::size_t pos, std::string& out) {
  std::size_t end = pos;
  while (end < text.size() && end - pos < 3 && text[end] >= '0' && text[end] <= '9') {
    ++end;
  }
  const std::string_view digits = text.substr(pos, end - pos);
  const bool octal = digits.size() == 3 && digits.find_first_of("89") == std::string_view::npos;
  if (octal && digits[0] <= '3') {
    append_utf8(out, static_cast<unsigned>(std::stoul(std::string(digits), nullptr, 8)));
  } else {
    out += '\\';
    out += digits;
  }
  return end;
}

// The escapes of a double-quoted value (XSI echo's, as compose-go supports them). "\$" becomes
// "$$" so that interpolation afterwards yields a literal '$'. Unknown escapes stay as written.
std::string expand_escapes(std::string_view text) {
  static const std::unordered_map<char, char> k_simple = {{'a', '\a'}, {'b', '\b'}, {'f', '\f'},
                                                          {'n', '\n'}, {'r', '\r'}, {'t', '\t'},
                                                          {'v', '\v'}, {'"', '"'},  {'\\', '\\'}};
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i++];
      continue;
    }
    const char c = text[i + 1];
    if (const auto it = k_simple.find(c); it != k_simple.end()) {
      out += it->second;
      i += 2;
    } else if (c == '$') {
      out += "$$";
      i += 2;
    } else if (c == '0') {
      i = expand_octal(text, i + 2, out);
    } else {
      out += text[i++];
    }
  }
  return out;
}

class DotenvParser {
 public:
  DotenvParser(std::string_view content, std::string_view file, const Lookup& lookup,
               const UnsetHandler& on_unset)
      : m_src(content), m_file(file), m_lookup(lookup), m_on_unset(on_unset) {
    if (m_src.starts_with(k_utf8_bom)) {
      // Editors on Windows like to add one; compose-go skips it.
      m_src.remove_prefix(k_utf8_bom.size());
    }
  }

  std::vector<EnvEntry> parse() {
    while (skip_blanks_and_comments()) {
      m_statement_line = line_at(m_pos);
      parse_statement();
    }
    return std::move(m_entries);
  }

 private:
  struct Key {
    std::string name;
    bool inherited = false;
  };

  [[noreturn]] void fail(std::string_view message) const {
    throw Error(fmt::format("{}:{}: {}", m_file, m_statement_line, message));
  }

  std::size_t line_at(std::size_t pos) {
    m_line += static_cast<std::size_t>(
        std::count(m_src.begin() + static_cast<std::ptrdiff_t>(m_line_pos),
                   m_src.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
    m_line_pos = pos;
    return m_line;
  }

  std::string_view rest_of_line(std::size_t pos) const {
    const std::size_t end = m_src.find('\n', pos);
    return trim_right(m_src.substr(pos, end == std::string_view::npos ? end : end - pos));
  }

  void skip_inline_space() {
    while (m_pos < m_src.size() && is_inline_space(m_src[m_pos])) {
      ++m_pos;
    }
  }

  // Moves to the next statement; false at the end of the text.
  bool skip_blanks_and_comments() {
    while (m_pos < m_src.size()) {
      if (is_space(m_src[m_pos])) {
        ++m_pos;
      } else if (m_src[m_pos] == '#') {
        const std::size_t end = m_src.find('\n', m_pos);
        m_pos = end == std::string_view::npos ? m_src.size() : end;
      } else {
        return true;
      }
    }
    return false;
  }

  void parse_statement() {
    const Key key = parse_key();
    if (key.inherited) {
      // `KEY` alone passes the caller's value through, and nothing when it is unset.
      if (std::optional<std::string> value = m_lookup(key.name)) {
        add(key.name, std::move(*value));
      }
      return;
    }
    skip_inline_space();
    const char quote = m_pos < m_src.size() ? m_src[m_pos] : '\0';
    if (quote == '"' || quote == '\'') {
      std::string raw = quoted_value(quote);
      add(key.name, quote == '"' ? expand(expand_escapes(raw)) : std::move(raw));
    } else {
      add(key.name, expand(unquoted_value()));
    }
  }

  // Reads `[export ]KEY` up to its separator ('=', ':' or the end of the line) and moves past it.
  Key parse_key() {
    if (m_src.substr(m_pos).starts_with(k_export) && m_pos + k_export.size() < m_src.size() &&
        is_inline_space(m_src[m_pos + k_export.size()])) {
      m_pos += k_export.size();
      skip_inline_space();
    }
    const std::size_t start = m_pos;
    while (m_pos < m_src.size() && m_src[m_pos] != '=' && m_src[m_pos] != ':' &&
           m_src[m_pos] != '\n') {
      const char c = m_src[m_pos];
      if (!is_inline_space(c) && !is_key_char(c)) {
        fail(fmt::format("unexpected character {:?} in variable name {:?}",
                         std::string_view(&m_src[m_pos], 1), rest_of_line(start)));
      }
      ++m_pos;
    }
    Key key;
    key.name = std::string(trim_right(m_src.substr(start, m_pos - start)));
    // A last line without a newline is a `KEY` alone as well.
    key.inherited = m_pos == m_src.size() || m_src[m_pos] == '\n';
    if (m_pos < m_src.size()) {
      ++m_pos;
    }
    if (key.name.empty()) {
      fail("missing variable name");
    }
    if (std::any_of(key.name.begin(), key.name.end(), is_inline_space)) {
      fail(fmt::format("variable name {:?} cannot contain a space", key.name));
    }
    return key;
  }

  // The rest of the line, cut at an inline comment (" #": a '#' right after a value char is
  // kept, as in compose-go) and trimmed.
  std::string unquoted_value() {
    const std::size_t end = std::min(m_src.find('\n', m_pos), m_src.size());
    std::string_view value = m_src.substr(m_pos, end - m_pos);
    m_pos = end;
    if (const std::size_t comment = value.find(" #"); comment != std::string_view::npos) {
      value = value.substr(0, comment);
    }
    return std::string(trim_right(value));
  }

  // A quoted value, possibly over several lines. A backslash before the quote character keeps
  // it in the value (both quote kinds, as compose-go); other backslashes stay for
  // expand_escapes().
  std::string quoted_value(char quote) {
    const std::size_t start = m_pos++;
    std::string value;
    bool escaped = false;
    for (; m_pos < m_src.size(); ++m_pos) {
      const char c = m_src[m_pos];
      if (escaped) {
        escaped = false;
        if (c != quote) {
          value += '\\';
        }
        value += c;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == quote) {
        ++m_pos;
        expect_line_end();
        return value;
      } else {
        value += c;
      }
    }
    fail(fmt::format("unterminated quoted value {}", rest_of_line(start)));
  }

  // After a closing quote only blanks and a comment may follow on the line; compose-go would
  // silently read anything else as the next statement.
  void expect_line_end() {
    skip_inline_space();
    if (m_pos < m_src.size() && m_src[m_pos] != '\n' && m_src[m_pos] != '#') {
      fail(fmt::format("unexpected {:?} after the closing quote", rest_of_line(m_pos)));
    }
  }

  std::string expand(const std::string& value) {
    const Lookup lookup = [this](std::string_view name) -> std::optional<std::string> {
      if (std::optional<std::string> value = m_lookup(name)) {
        return value;
      }
      if (const auto it = m_values.find(std::string(name)); it != m_values.end()) {
        return it->second;
      }
      return std::nullopt;
    };
    try {
      return interpolate(value, lookup, m_on_unset);
    } catch (const Error& e) {
      fail(e.what());
    }
  }

  void add(const std::string& key, std::string value) {
    m_values[key] = value;
    m_entries.push_back({key, std::move(value)});
  }

  std::string_view m_src;
  std::string_view m_file;
  const Lookup& m_lookup;
  const UnsetHandler& m_on_unset;
  std::size_t m_pos = 0;
  std::size_t m_line = 1;
  std::size_t m_line_pos = 0;
  std::size_t m_statement_line = 1;
  std::unordered_map<std::string, std::string> m_values;
  std::vector<EnvEntry> m_entries;
};

std::string read_file(const std::string& path) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) {
    throw Error(fmt::format("{}: cannot read env file: {}", path, std::strerror(errno)));
  }
  std::string content;
  char buffer[8192];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) {
    content.append(buffer, n);
  }
  if (std::ferror(file.get()) != 0) {
    throw Error(fmt::format("{}: cannot read env file: {}", path, std::strerror(errno)));
  }
  return content;
}

}  // namespace

std::vector<EnvEntry> parse_dotenv(std::string_view content, std::string_view file,
                                   const Lookup& lookup, const UnsetHandler& on_unset) {
  return DotenvParser(content, file, lookup, on_unset).parse();
}

std::vector<EnvEntry> read_dotenv_file(const std::string& path, const Lookup& lookup,
                                       const UnsetHandler& on_unset) {
  return parse_dotenv(read_file(path), path, lookup, on_unset);
}

}  // namespace berth::compose
