// Variable interpolation of compose files and .env values ($VAR, ${VAR:-default}, ...),
// following the Compose specification as compose-go implements it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

namespace berth::compose {

/// Looks a variable up; nullopt when it is not set (set-but-empty is "").
using Lookup = std::function<std::optional<std::string>(std::string_view name)>;

/// Called once per reference to a variable that is unset and has no default.
using UnsetHandler = std::function<void(std::string_view name)>;

/// Substitutes $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}, ${VAR+a},
/// nesting, $$. Throws berth::Error with a message without location (the caller adds it).
std::string interpolate(std::string_view text, const Lookup& lookup,
                        const UnsetHandler& on_unset = {});

/// Interpolates every scalar *value* of a tree in place (never mapping keys), keeping tags.
/// Errors are prefixed "<file>:<line>:<col>: <path>: " using the scalar's mark and dotted path.
void interpolate_tree(YAML::Node& root, const Lookup& lookup, std::string_view file,
                      const UnsetHandler& on_unset = {});

}  // namespace berth::compose
