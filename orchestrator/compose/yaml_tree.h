// Parsing a compose file into the tree the loader's phases work on.
#pragma once

#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

namespace berth::compose {

/// Parses the first YAML document of `content` (an empty file is an empty mapping) and
/// prepares it: `<<` merge keys expanded, duplicate or non-scalar keys rejected, and the
/// size an alias-heavy document expands to bounded. Errors name "<file>:<line>:<col>".
YAML::Node parse_compose_yaml(std::string_view content, std::string_view file);

}  // namespace berth::compose
