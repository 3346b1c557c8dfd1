#include "orchestrator/compose/emit.h"

#include <algorithm>
#include <cstdlib>
#include <regex>

#include <fmt/format.h>

#include "orchestrator/compose/schema.h"
#include "orchestrator/compose/yaml_util.h"

namespace berth::compose {

namespace {

using schema::ScalarKind;

constexpr std::string_view k_top_order[] = {"name",    "services", "networks",
                                            "volumes", "secrets",  "configs"};

/// Keys of a mapping in output order.
std::vector<std::string> ordered_keys(const YAML::Node& map, bool top_level) {
  std::vector<std::string> keys;
  for (const auto& entry : map) keys.push_back(entry.first.Scalar());
  auto rank = [&](const std::string& key) -> std::size_t {
    if (!top_level) return 0;
    auto it = std::find(std::begin(k_top_order), std::end(k_top_order), key);
    return static_cast<std::size_t>(it - std::begin(k_top_order));
  };
  std::sort(keys.begin(), keys.end(), [&](const std::string& a, const std::string& b) {
    const auto ra = rank(a);
    const auto rb = rank(b);
    return ra != rb ? ra < rb : a < b;
  });
  return keys;
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

bool is_integer(const std::string& s) {
  static const std::regex k_int("[-+]?[0-9]+");
  return std::regex_match(s, k_int);
}

bool is_number(const std::string& s) {
  static const std::regex k_num("[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?");
  return std::regex_match(s, k_num);
}

/// True when a plain scalar with this text would be read back as something other than a
/// string by a YAML 1.1 or 1.2 reader (docker-compose v1 reads 1.1: yes/no, 1:20 ...).
bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  static const std::regex k_special(
      "~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|"
      "off|Off|OFF|[-+]?(\\.inf|\\.Inf|\\.INF)|\\.nan|\\.NaN|\\.NAN|0x[0-9a-fA-F]+|0o[0-7]+|"
      "[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\\.[0-9_]*)?");
  return is_number(s) || std::regex_match(s, k_special);
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

void emit_yaml(YAML::Emitter& out, const YAML::Node& node, std::vector<std::string>& path,
               bool escape_dollars) {
  if (node.IsMap()) {
    if (node.size() == 0) {
      out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
      return;
    }
    out << YAML::BeginMap;
    for (const auto& key : ordered_keys(node, path.empty())) {
      out << YAML::Key;
      if (needs_quotes(key)) out << YAML::DoubleQuoted;
      out << key << YAML::Value;
      path.push_back(key);
      emit_yaml(out, node[key], path, escape_dollars);
      path.pop_back();
    }
    out << YAML::EndMap;
  } else if (node.IsSequence()) {
    if (node.size() == 0) {
      out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
      return;
    }
    out << YAML::BeginSeq;
    for (std::size_t i = 0; i < node.size(); ++i) {
      path.push_back(std::to_string(i));
      emit_yaml(out, node[i], path, escape_dollars);
      path.pop_back();
    }
    out << YAML::EndSeq;
  } else {
    const std::string text = node.IsNull() ? std::string() : node.Scalar();
    bool b = false;
    switch (kind_at(node, path)) {
      case ScalarKind::Null: out << YAML::Null; break;
      case ScalarKind::Boolean:
        is_bool_word(text, &b);
        out << (b ? "true" : "false");
        break;
      case ScalarKind::Integer:
        out << std::to_string(std::strtoll(text.c_str(), nullptr, 10));
        break;
      case ScalarKind::Number: out << text; break;
      default:
        if (needs_quotes(text)) out << YAML::DoubleQuoted;
        out << escaped(text, escape_dollars);
        break;
    }
  }
}

}  // namespace

nlohmann::ordered_json to_json_value(const YAML::Node& node, std::vector<std::string>& path,
                                     bool escape_dollars) {
  if (node.IsMap()) {
    auto object = nlohmann::ordered_json::object();
    for (const auto& key : ordered_keys(node, path.empty())) {
      path.push_back(key);
      object[key] = to_json_value(node[key], path, escape_dollars);
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
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetNullFormat(YAML::LowerNull);  // "null", as compose prints it, not "~"
  std::vector<std::string> path;
  emit_yaml(out, model, path, escape_dollars);
  std::string text = out.c_str();
  text.push_back('\n');
  return text;
}

std::string to_json(const YAML::Node& model, bool escape_dollars) {
  std::vector<std::string> path;
  // Compose files are not checked for valid UTF-8; print bad bytes as U+FFFD, not fail.
  return to_json_value(model, path, escape_dollars)
             .dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
         "\n";
}

}  // namespace berth::compose
