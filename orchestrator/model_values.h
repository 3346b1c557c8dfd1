// Reading values out of the canonical compose model (docs/compose-model.md), where every
// scalar is a string and a missing key is an empty node.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

namespace berth::orchestrator {

/// `node[key]`, or an empty node when either is missing (yaml-cpp throws on indexing one).
inline YAML::Node child(const YAML::Node& node, const std::string& key) {
  return node && node.IsMap() ? node[key] : YAML::Node();
}

/// The scalar's text, or `fallback` when the node is missing or not a scalar.
inline std::string scalar(const YAML::Node& node, const std::string& fallback = "") {
  return node && node.IsScalar() ? node.Scalar() : fallback;
}

/// A boolean as the canonical model writes one.
inline bool truthy(const YAML::Node& node) {
  const std::string text = scalar(node);
  return text == "true" || text == "True" || text == "yes";
}

}  // namespace berth::orchestrator
