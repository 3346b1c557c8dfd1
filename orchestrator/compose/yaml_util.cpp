#include "orchestrator/compose/yaml_util.h"

#include <fmt/format.h>

namespace berth::compose {

std::string where(std::string_view file, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return std::string(file);
  return fmt::format("{}:{}:{}", file, mark.line + 1, mark.column + 1);
}

std::string join_path(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return fmt::format("{}.{}", path, key);
}

std::string index_path(std::string_view path, std::size_t index) {
  return fmt::format("{}[{}]", path, index);
}

bool is_quoted(const YAML::Node& node) {
  return node.IsScalar() && node.Tag() == "!";
}

bool is_null(const YAML::Node& node) {
  if (node.IsNull()) return true;
  if (!node.IsScalar() || is_quoted(node)) return false;
  const std::string& s = node.Scalar();
  return s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::string kind_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "mapping";
    case YAML::NodeType::Sequence: return "sequence";
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar: return is_null(node) ? "null" : "string";
    default: return "nothing";
  }
}

}  // namespace berth::compose
