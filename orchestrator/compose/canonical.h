// Canonicalisation: rewrites one compose document from short syntax into the one long form
// described in docs/compose-model.md, so later phases (merge, validation, hashing, `berth
// config`) only ever see a single shape per key.
#pragma once

#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

namespace berth::compose {

struct CanonicalContext {
  std::string file;      // for error messages: "<file>:<line>:<col>: <path>: ..."
  std::string base_dir;  // absolute; relative host paths are resolved against it
  std::string home_dir;  // for ~ expansion
};

/// Returns a new tree in canonical long form (input untouched). Idempotent:
/// canonicalize(canonicalize(x)) == canonicalize(x). Nodes tagged !reset are kept untouched;
/// a node tagged !override is canonicalised and keeps its tag. Strings the phase derives are
/// tagged "!" (quoted), numbers and booleans it adds are plain. Bad values throw berth::Error
/// naming file:line:col and the key path (`services.web.ports[1]: invalid port "80x"`).
///
/// Values that need no change are shared with the input rather than cloned, because
/// YAML::Clone resets every source position to 1:1 and later phases need real positions.
/// Treat both trees as immutable: `node = value` or SetTag() on a shared node changes it in
/// both. Nodes the phase creates have no position (where() then prints just the file name).
YAML::Node canonicalize(const YAML::Node& document, const CanonicalContext& ctx);

/// Lexically normalises a slash-separated path like Go's path.Clean ("/a/b/../c" -> "/a/c",
/// "a//b/" -> "a/b", "" -> ".").
std::string clean_path(std::string_view path);

}  // namespace berth::compose
