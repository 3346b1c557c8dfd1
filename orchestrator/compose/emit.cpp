#include "orchestrator/compose/emit.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "orchestrator/compose/schema.h"
#include "orchestrator/compose/yaml_util.h"

namespace berth::compose {

namespace {

using schema::ScalarKind;

constexpr std::string_view k_top_order[] = {"name",    "services", "networks",
                                            "volumes", "secrets",  "configs"};

/// Output order of keys: at the top level name, services, networks, volumes, secrets,
/// configs, then the rest; everywhere sorted.
bool key_before(const std::string& a, const std::string& b, bool top_level) {
  if (top_level) {
    const auto rank = [](const std::string& key) {
      auto it = std::find(std::begin(k_top_order), std::end(k_top_order), key);
      return static_cast<std::size_t>(it - std::begin(k_top_order));
    };
    const auto ra = rank(a);
    const auto rb = rank(b);
    if (ra != rb) return ra < rb;
  }
  return a < b;
}

/// The entries of a mapping in output order. (The indexes are sorted, not the entries:
/// assigning a YAML::Node, as a sort does when it swaps, rewrites the node it refers to.)
std::vector<std::pair<std::string, YAML::Node>> ordered_entries(const YAML::Node& map,
                                                                bool top_level) {
  std::vector<std::pair<std::string, YAML::Node>> entries;
  for (const auto& entry : map) entries.emplace_back(entry.first.Scalar(), entry.second);
  std::vector<std::size_t> order(entries.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return key_before(entries[a].first, entries[b].first, top_level);
  });
  std::vector<std::pair<std::string, YAML::Node>> sorted;
  sorted.reserve(entries.size());
  for (const std::size_t i : order) sorted.emplace_back(entries[i].first, entries[i].second);
  return sorted;
}

bool is_bool_word(const std::string& s, bool* value) {
  static const char* k_true[] = {"true", "True", "TRUE"};
  static const char* k_false[] = {"false", "False", "FALSE"};
  for (const char* t : k_true) {
    if (s == t) {
      *value = true;
      return true;
    }
  }
  for (const char* f : k_false) {
    if (s == f) {
      *value = false;
      return true;
    }
  }
  return false;
}

// Hand-written rather than std::regex: these run on every key and scalar printed, and the
// regex versions made `berth config` on 100 services take half as long again as loading it.

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string_view without_sign(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  return s;
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}

/// [-+]?[0-9]+
bool is_integer(std::string_view s) {
  return all_of(without_sign(s), is_digit);
}

/// [-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?
bool is_number(std::string_view s) {
  s = without_sign(s);
  std::size_t i = 0;
  std::size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    return is_integer(s.substr(i + 1));
  }
  return i == s.size();
}

/// [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?  (YAML 1.1 base-60 numbers, like 1:20)
bool is_sexagesimal(std::string_view s) {
  s = without_sign(s);
  const std::size_t dot = s.find('.');
  if (dot != std::string_view::npos) {
    for (const char c : s.substr(dot + 1)) {
      if (!is_digit(c) && c != '_') return false;
    }
    s = s.substr(0, dot);
  }
  const std::size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_digit(s.front())) return false;
  for (const char c : s.substr(0, colon)) {
    if (!is_digit(c) && c != '_') return false;
  }
  for (std::string_view rest = s.substr(colon + 1);;) {
    const std::size_t next = rest.find(':');
    const std::string_view part = rest.substr(0, next);
    if (part.empty() || part.size() > 2 || !all_of(part, is_digit)) return false;
    if (part.size() == 2 && part.front() > '5') return false;
    if (next == std::string_view::npos) return true;
    rest.remove_prefix(next + 1);
  }
}

bool is_prefixed(std::string_view s, std::string_view prefix, bool (*pred)(char)) {
  return s.size() > prefix.size() && s.starts_with(prefix) && all_of(s.substr(prefix.size()), pred);
}

/// True when a plain scalar with this text would be read back as something other than a
/// string by a YAML 1.1 or 1.2 reader (docker-compose v1 reads 1.1: yes/no, 1:20 ...).
bool needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  static constexpr std::string_view k_words[] = {
      "~",  "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
      "y",  "Y",    "yes",  "Yes",  "YES",  "n",    "N",    "no",    "No",    "NO",
      "on", "On",   "ON",   "off",  "Off",  "OFF",  ".nan", ".NaN",  ".NAN"};
  if (std::find(std::begin(k_words), std::end(k_words), s) != std::end(k_words)) return true;
  const std::string_view unsigned_s = without_sign(s);
  if (unsigned_s == ".inf" || unsigned_s == ".Inf" || unsigned_s == ".INF") return true;
  const auto is_hex = [](char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  };
  const auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
  return is_number(s) || is_sexagesimal(s) || is_prefixed(s, "0x", +is_hex) ||
         is_prefixed(s, "0o", +is_octal);
}

/// The kind a scalar of unknown schema type (x- extensions) had in the source.
ScalarKind inferred_kind(const YAML::Node& node) {
  if (is_quoted(node)) return ScalarKind::String;
  const std::string& s = node.Scalar();
  bool b = false;
  if (is_null(node)) return ScalarKind::Null;
  if (is_bool_word(s, &b)) return ScalarKind::Boolean;
  if (is_integer(s)) return ScalarKind::Integer;
  if (is_number(s)) return ScalarKind::Number;
  return ScalarKind::String;
}

ScalarKind kind_at(const YAML::Node& node, const std::vector<std::string>& path) {
  if (node.IsNull()) return ScalarKind::Null;
  ScalarKind kind = schema::canonical_scalar_kind(path);
  if (kind == ScalarKind::Any) kind = inferred_kind(node);
  // A value of the wrong shape for its slot is printed as the string it is rather than
  // turned into something else (the schema check has already refused real mistakes).
  const std::string& s = node.Scalar();
  bool b = false;
  if (kind == ScalarKind::Boolean && !is_bool_word(s, &b)) return ScalarKind::String;
  if (kind == ScalarKind::Integer && !is_integer(s)) return ScalarKind::String;
  if (kind == ScalarKind::Number && !is_number(s)) return ScalarKind::String;
  if (kind == ScalarKind::Null && !is_null(node)) return ScalarKind::String;
  return kind;
}

std::string escaped(const std::string& text, bool escape_dollars) {
  if (!escape_dollars || text.find('$') == std::string::npos) return text;
  std::string out;
  for (const char c : text) {
    if (c == '$') out.push_back('$');
    out.push_back(c);
  }
  return out;
}

/// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  const std::size_t n = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

/// True when `s` can be written as a plain block scalar and read back as the same string.
bool is_plain_safe(std::string_view s) {
  if (needs_quotes(s) || s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
  if (std::string_view(",[]{}#&*!|>'\"%@`").find(s.front()) != std::string_view::npos) return false;
  if ((s.front() == '-' || s.front() == '?' || s.front() == ':') &&
      (s.size() == 1 || s[1] == ' ')) {
    return false;
  }
  if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos) {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return false;
    if (c >= 0x80) {
      const std::size_t n = utf8_length(s, i);
      if (n == 0) return false;
      i += n - 1;
    }
  }
  return true;
}

/// Writes the model as block YAML, two spaces an indent: yaml-cpp's emitter spent most of
/// `berth config`'s time deciding, with its own regex engine, how to write each scalar.
class YamlWriter {
 public:
  explicit YamlWriter(bool escape_dollars) : m_escape_dollars(escape_dollars) {}

  std::string write(const YAML::Node& model) {
    if (model.IsMap() && model.size() > 0) {
      map(model, 0, false);
    } else {
      std::vector<std::string> path;
      value_line(model, path);
    }
    return std::move(m_out);
  }

 private:
  /// Entries of a non-empty mapping, each on its own line at `indent`; with `continued` the
  /// first one goes where the cursor is (after "- ").
  void map(const YAML::Node& node, std::size_t indent, bool continued) {
    bool first = true;
    for (const auto& [key, value] : ordered_entries(node, m_path.empty())) {
      if (!(first && continued)) m_out.append(indent, ' ');
      first = false;
      string(key);
      m_out += ':';
      m_path.push_back(key);
      child(value, indent);
      m_path.pop_back();
    }
  }

  void sequence(const YAML::Node& node, std::size_t indent, bool continued) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      if (!(i == 0 && continued)) m_out.append(indent, ' ');
      m_out += "- ";
      m_path.push_back(std::to_string(i));
      const YAML::Node item = node[i];
      if (item.IsMap() && item.size() > 0) {
        map(item, indent + 2, true);
      } else if (item.IsSequence() && item.size() > 0) {
        sequence(item, indent + 2, true);
      } else {
        value_line(item, m_path);
      }
      m_path.pop_back();
    }
  }

  /// What follows "key:": a scalar or empty collection on the same line, else the block.
  void child(const YAML::Node& value, std::size_t indent) {
    if (value.IsMap() && value.size() > 0) {
      m_out += '\n';
      map(value, indent + 2, false);
    } else if (value.IsSequence() && value.size() > 0) {
      m_out += '\n';
      sequence(value, indent + 2, false);
    } else {
      m_out += ' ';
      value_line(value, m_path);
    }
  }

  void value_line(const YAML::Node& node, const std::vector<std::string>& path) {
    if (node.IsMap()) {
      m_out += "{}";
    } else if (node.IsSequence()) {
      m_out += "[]";
    } else {
      const std::string text = node.IsNull() ? std::string() : node.Scalar();
      bool b = false;
      switch (kind_at(node, path)) {
        case ScalarKind::Null: m_out += "null"; break;
        case ScalarKind::Boolean:
          is_bool_word(text, &b);
          m_out += b ? "true" : "false";
          break;
        case ScalarKind::Integer:
          m_out += std::to_string(std::strtoll(text.c_str(), nullptr, 10));
          break;
        case ScalarKind::Number: m_out += text; break;
        default: string(escaped(text, m_escape_dollars));
      }
    }
    m_out += '\n';
  }

  /// A key or string value: plain when that reads back the same, else double-quoted.
  void string(const std::string& text) {
    if (!text.empty() && is_plain_safe(text)) {
      m_out += text;
      return;
    }
    m_out += '"';
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      switch (c) {
        case '"': m_out += "\\\""; break;
        case '\\': m_out += "\\\\"; break;
        case '\n': m_out += "\\n"; break;
        case '\t': m_out += "\\t"; break;
        case '\r': m_out += "\\r"; break;
        default:
          if (c < 0x20 || c == 0x7F) {
            m_out += fmt::format("\\x{:02x}", c);
          } else if (c >= 0x80) {
            const std::size_t n = utf8_length(text, i);
            if (n == 0) {
              m_out += fmt::format("\\x{:02x}", c);  // not UTF-8: the byte's code point
            } else {
              m_out.append(text, i, n);
              i += n - 1;
            }
          } else {
            m_out += static_cast<char>(c);
          }
      }
    }
    m_out += '"';
  }

  bool m_escape_dollars;
  std::vector<std::string> m_path;
  std::string m_out;
};

}  // namespace

nlohmann::ordered_json to_json_value(const YAML::Node& node, std::vector<std::string>& path,
                                     bool escape_dollars) {
  if (node.IsMap()) {
    auto object = nlohmann::ordered_json::object();
    for (const auto& [key, value] : ordered_entries(node, path.empty())) {
      path.push_back(key);
      object[key] = to_json_value(value, path, escape_dollars);
      path.pop_back();
    }
    return object;
  }
  if (node.IsSequence()) {
    auto array = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < node.size(); ++i) {
      path.push_back(std::to_string(i));
      array.push_back(to_json_value(node[i], path, escape_dollars));
      path.pop_back();
    }
    return array;
  }
  const std::string text = node.IsNull() ? std::string() : node.Scalar();
  bool b = false;
  switch (kind_at(node, path)) {
    case ScalarKind::Null: return nullptr;
    case ScalarKind::Boolean: is_bool_word(text, &b); return b;
    case ScalarKind::Integer: return std::strtoll(text.c_str(), nullptr, 10);
    case ScalarKind::Number: return std::strtod(text.c_str(), nullptr);
    default: return escaped(text, escape_dollars);
  }
}

std::string to_yaml(const YAML::Node& model, bool escape_dollars) {
  return YamlWriter(escape_dollars).write(model);
}

std::string to_json(const YAML::Node& model, bool escape_dollars) {
  std::vector<std::string> path;
  // Compose files are not checked for valid UTF-8; print bad bytes as U+FFFD, not fail.
  return to_json_value(model, path, escape_dollars)
             .dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
         "\n";
}

}  // namespace berth::compose
