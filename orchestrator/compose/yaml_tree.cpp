#include "orchestrator/compose/yaml_tree.h"

#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "orchestrator/compose/yaml_util.h"
#include "util/error.h"

namespace berth::compose {

namespace {

// A real compose file expands to a few thousand nodes; a document that expands past this
// through aliases ("billion laughs") is refused before any phase walks it.
constexpr std::size_t k_max_expanded_nodes = 500'000;
// Deeper than any compose file needs; keeps every later recursive phase off the stack's end.
constexpr std::size_t k_max_depth = 200;

class MergeKeyResolver {
 public:
  explicit MergeKeyResolver(std::string_view file) : m_file(file) {}

  /// Resolves `node` and everything below it; parsed nodes shared through aliases are
  /// resolved once (they are identified by their byte offset in the file).
  YAML::Node resolve(const YAML::Node& node) {
    // A scalar holds no alias and no merge key: nothing to resolve or remember.
    if (!node.IsMap() && !node.IsSequence()) {
      count(1);
      return node;
    }
    const YAML::Mark mark = node.Mark();
    if (!mark.is_null()) {
      if (auto it = m_done.find(mark.pos); it != m_done.end()) {
        count(it->second.second);
        return it->second.first;
      }
    }
    // yaml-cpp lets an alias name one of its own ancestors; such a cycle has no expansion.
    if (!mark.is_null() && !m_in_progress.insert(mark.pos).second) {
      throw Error(
          fmt::format("{}: an alias refers to a node that contains it", where(m_file, node)));
    }
    if (m_depth++ > k_max_depth) {
      throw Error(fmt::format("{}: document nested deeper than {} levels", where(m_file, node),
                              k_max_depth));
    }
    const std::size_t before = m_expanded;
    YAML::Node result = node;
    if (node.IsMap()) {
      result = resolve_map(node);
    } else if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i) {
        YAML::Node item = resolve(node[i]);
        if (!item.is(node[i])) result[i] = item;
      }
    }
    count(1);
    --m_depth;
    if (!mark.is_null()) {
      m_in_progress.erase(mark.pos);
      m_done.emplace(mark.pos, std::make_pair(result, m_expanded - before));
    }
    return result;
  }

 private:
  void count(std::size_t nodes) {
    m_expanded += nodes;
    if (m_expanded > k_max_expanded_nodes) {
      throw Error(fmt::format("{}: document too large: its aliases expand to more than {} nodes",
                              m_file, k_max_expanded_nodes));
    }
  }

  YAML::Node resolve_map(const YAML::Node& map) {
    std::set<std::string> seen;
    bool has_merge = false;
    for (const auto& entry : map) {
      if (!entry.first.IsScalar()) {
        throw Error(fmt::format("{}: mapping keys must be strings, not a {}",
                                where(m_file, entry.first), kind_name(entry.first)));
      }
      const std::string& key = entry.first.Scalar();
      if (key == "<<" && !is_quoted(entry.first)) {
        has_merge = true;
        continue;
      }
      if (!seen.insert(key).second) {
        throw Error(
            fmt::format("{}: mapping key \"{}\" already defined", where(m_file, entry.first), key));
      }
    }
    if (!has_merge) {
      // Resolve values in place: the map belongs to this parse, and a shared (aliased) map
      // wants the same resolution everywhere it appears.
      for (auto entry : map) {
        YAML::Node value = resolve(entry.second);
        if (!value.is(entry.second)) entry.second = value;
      }
      return map;
    }
    // Explicit keys win over merged ones; among merged mappings the first listed wins.
    YAML::Node merged = new_node(YAML::NodeType::Map);
    std::set<std::string> present;
    for (const auto& entry : map) {
      if (entry.first.Scalar() == "<<" && !is_quoted(entry.first)) continue;
      merged.force_insert(entry.first, resolve(entry.second));  // keys are unique (checked)
      present.insert(entry.first.Scalar());
    }
    for (const auto& entry : map) {
      if (entry.first.Scalar() != "<<" || is_quoted(entry.first)) continue;
      const YAML::Node& source = entry.second;
      if (source.IsMap()) {
        add_missing(merged, present, resolve(source));
      } else if (source.IsSequence()) {
        for (const auto& item : source) {
          if (!item.IsMap()) {
            throw Error(fmt::format("{}: merge key \"<<\" takes mappings, not a {}",
                                    where(m_file, item), kind_name(item)));
          }
          add_missing(merged, present, resolve(item));
        }
      } else {
        throw Error(fmt::format("{}: merge key \"<<\" takes a mapping or a list of mappings",
                                where(m_file, source)));
      }
    }
    return merged;
  }

  static void add_missing(YAML::Node& target, std::set<std::string>& present,
                          const YAML::Node& source) {
    for (const auto& entry : source) {
      if (present.insert(entry.first.Scalar()).second) {
        target.force_insert(entry.first, entry.second);
      }
    }
  }

  std::string m_file;
  std::size_t m_expanded = 0;
  std::size_t m_depth = 0;
  std::unordered_set<std::size_t> m_in_progress;  // byte offsets of the nodes being resolved
  // byte offset of a parsed node -> (its resolution, nodes it expands to)
  std::unordered_map<std::size_t, std::pair<YAML::Node, std::size_t>> m_done;
};

}  // namespace

YAML::Node parse_compose_yaml(std::string_view content, std::string_view file) {
  YAML::Node document;
  try {
    document = YAML::Load(std::string(content));
  } catch (const YAML::Exception& e) {
    // yaml-cpp's message carries its own "yaml-cpp: error at line..." prefix; use the mark.
    if (e.mark.is_null()) throw Error(fmt::format("{}: {}", file, e.msg));
    throw Error(fmt::format("{}:{}:{}: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (document.IsNull() || !document.IsDefined()) return new_node(YAML::NodeType::Map);
  if (!document.IsMap()) {
    throw Error(fmt::format("{}: top-level object must be a mapping, not a {}",
                            where(file, document), kind_name(document)));
  }
  return MergeKeyResolver(file).resolve(document);
}

}  // namespace berth::compose
