// The compose specification's schema (compose-go schema/compose-spec.json) as a C++ table, and
// the check of a compose document against it.
//
// The check runs after interpolation, on the raw (not yet canonical) tree. Every mapping level
// knows its keys; `x-` extension keys are accepted where the specification has
// `patternProperties: {"^x-": {}}`. Scalars stay strings in yaml-cpp, so a typed slot accepts
// a scalar whose text parses as that type:
// - boolean: `true`/`false` in any case, and `y`/`yes`/`on`/`n`/`no`/`off` (compose-go's cast
//   accepts these with a deprecation warning), quoted or not, because the specification allows
//   boolean-or-string there for interpolated values. Where the specification says only
//   `boolean` (depends_on.*.required, use_api_socket) the value must be a plain YAML 1.2 core
//   boolean: `true`, `True`, `TRUE`, `false`, `False`, `FALSE`.
// - integer / number: decimal text, optionally signed (`42`, `-1`, `0.5`, `1e3`), quoted or not
//   for integer-or-string slots; plain only where the specification allows no string.
// - string: any non-null scalar (`user: 1000` is accepted: the tree cannot tell a literal number
//   from an interpolated one, and compose accepts the latter).
// Values tagged `!reset` are not checked; `!override` values are.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

namespace berth::compose::schema {

/// Checks a whole (interpolated, not yet canonical) compose document: every key known, every
/// value of an allowed shape. Throws berth::Error "<file>:<line>:<col>: <path>: <problem>", e.g.
/// "compose.yaml:4:5: services.web.imagee: unknown key, did you mean \"image\"?" or
/// "compose.yaml:7:14: services.web.ports: must be a sequence, not a mapping".
void validate_document(const YAML::Node& document, std::string_view file);

enum class ScalarKind { String, Integer, Number, Boolean, Null, Any };

/// The output type of a scalar of the canonical model at a path like
/// {"services", "web", "ports", "0", "target"} (sequence indexes as decimal text): `target` is
/// Integer, `published` String, `read_only` Boolean, `cpus` Number, durations and byte sizes
/// String, environment values String, a service's `networks.<name>` entry Null, `x-` extension
/// values and paths outside the specification Any. A null node prints as null whatever its kind.
ScalarKind canonical_scalar_kind(std::span<const std::string> path);

}  // namespace berth::compose::schema
