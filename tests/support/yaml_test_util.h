// Test support for the loader's phases: one-line tree renderings and injected lookups.
#pragma once

#include <map>
#include <string>

#include <yaml-cpp/yaml.h>

#include "orchestrator/compose/interpolate.h"

namespace berth::testing {

/// One line that shows what a tree means to later phases: mapping order kept, quoted
/// scalars (tag "!") in double quotes, plain ones bare, null as ~, custom tags (!reset,
/// !override) in front.
std::string render_yaml(const YAML::Node& node);

using Vars = std::map<std::string, std::string, std::less<>>;

/// A Lookup over a fixed set of variables.
compose::Lookup lookup_in(Vars vars);

}  // namespace berth::testing
