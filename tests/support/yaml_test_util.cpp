#include "tests/support/yaml_test_util.h"

namespace berth::testing {

std::string render_yaml(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  const std::string prefix = (tag.empty() || tag == "?" || tag == "!") ? "" : tag + " ";
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      std::string out = prefix + "{";
      bool first = true;
      for (const auto& entry : node) {
        out += (first ? "" : ", ") + entry.first.Scalar() + ": " + render_yaml(entry.second);
        first = false;
      }
      return out + "}";
    }
    case YAML::NodeType::Sequence: {
      std::string out = prefix + "[";
      bool first = true;
      for (const auto& item : node) {
        out += (first ? "" : ", ") + render_yaml(item);
        first = false;
      }
      return out + "]";
    }
    case YAML::NodeType::Scalar:
      return prefix + (tag == "!" ? "\"" + node.Scalar() + "\"" : node.Scalar());
    case YAML::NodeType::Null: return prefix + "~";
    default: return "<undefined>";
  }
}

compose::Lookup lookup_in(Vars vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace berth::testing
