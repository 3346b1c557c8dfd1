// Small helpers shared by the loader's phases over the YAML tree.
#pragma once

#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

namespace berth::compose {

/// "file:line:col" (1-based) of a node, or just "file" when the node has no position
/// (nodes made by the loader itself).
std::string where(std::string_view file, const YAML::Node& node);

/// Appends a key to a dotted path: join_path("services", "web") == "services.web".
std::string join_path(std::string_view path, std::string_view key);

/// Appends a sequence index: index_path("services.web.ports", 2) == "services.web.ports[2]".
std::string index_path(std::string_view path, std::size_t index);

/// True for a scalar written in quotes in the source (yaml-cpp tags those "!"), which
/// YAML never resolves to a bool, number or null.
bool is_quoted(const YAML::Node& node);

/// True for a plain null scalar (`~`, `null`, empty value).
bool is_null(const YAML::Node& node);

/// A short name for a node's YAML kind ("mapping", "sequence", "string", "null") for messages.
std::string kind_name(const YAML::Node& node);

}  // namespace berth::compose
