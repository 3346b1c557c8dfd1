// Printing the canonical model as `docker compose config` does: YAML or JSON, keys in a
// fixed order, every scalar with the type its key has in the compose specification.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

namespace berth::compose {

/// The model as YAML: top-level keys name, services, networks, volumes, secrets, configs,
/// then the rest; keys sorted below that. Strings that would read back as another type are
/// quoted, so that loading the output again gives the same model.
/// With `escape_dollars` (the model was interpolated), a `$` in a value is written `$$` so
/// that the output, loaded again, interpolates back to the same value.
std::string to_yaml(const YAML::Node& model, bool escape_dollars = true);

/// The model as JSON, two-space indented, same key order.
std::string to_json(const YAML::Node& model, bool escape_dollars = true);

/// One subtree as typed JSON; `path` is where it sits in the model (decides scalar types).
nlohmann::ordered_json to_json_value(const YAML::Node& node, std::vector<std::string>& path,
                                     bool escape_dollars = false);

}  // namespace berth::compose
