// Small helpers shared by the loader's phases over the YAML tree.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include <yaml-cpp/yaml.h>

namespace berth::compose {

/// yaml-cpp keeps nodes in memory pools, and the first time a node of one pool is put under
/// a node of another it copies the whole source pool into the destination. A phase that builds
/// new trees out of a large parsed one would pay that copy for every new node it makes: the
/// loader went quadratic (0.4 s for 100 services). While a NodeArena is alive on this thread,
/// new_node() and clone_node() make nodes in one shared pool, so a parsed file's pool is
/// copied once. Arenas nest; nodes outlive their arena safely (pools are reference-counted).
class NodeArena {
 public:
  NodeArena();
  ~NodeArena();
  NodeArena(const NodeArena&) = delete;
  NodeArena& operator=(const NodeArena&) = delete;

  /// Moves `node` into this arena's pool (cheap: the new node's pool is small).
  void adopt(const YAML::Node& node);

  /// A new scalar made directly in this arena's pool (no pool of its own to merge).
  YAML::Node scalar(std::string_view text);

  /// One shared node per mapping key text ("type", "target", ...): keys are never changed.
  YAML::Node key(std::string_view text);

 private:
  YAML::Node m_pool;
  NodeArena* m_previous;
  std::unordered_map<std::string, YAML::Node> m_keys;
};

/// A new empty node of `type`, in the current arena's pool when there is one.
YAML::Node new_node(YAML::NodeType::value type);

/// A new scalar with `text` and `tag` ("!" quoted, "?" plain), in the current arena's pool
/// when there is one.
YAML::Node new_scalar(std::string_view text, const std::string& tag);

/// A node for a mapping key with this text, shared within the current arena (a new scalar
/// node costs yaml-cpp a memory pool of its own, and the same few keys recur everywhere).
YAML::Node key_node(std::string_view text);

/// A deep copy of `node` (marks are lost, as with YAML::Clone), in the current arena's pool.
YAML::Node clone_node(const YAML::Node& node);

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
