#include "orchestrator/compose/yaml_util.h"

#include <fmt/format.h>

namespace berth::compose {

namespace {
thread_local NodeArena* t_current_arena = nullptr;
}  // namespace

NodeArena::NodeArena() : m_pool(YAML::NodeType::Sequence), m_previous(t_current_arena) {
  t_current_arena = this;
}

NodeArena::~NodeArena() {
  t_current_arena = m_previous;
}

void NodeArena::adopt(const YAML::Node& node) {
  // push_back merges the pushed node's pool into ours and points its holder at ours.
  m_pool.push_back(node);
}

YAML::Node NodeArena::key(std::string_view text) {
  auto [it, inserted] = m_keys.try_emplace(std::string(text));
  if (inserted) it->second = YAML::Node(it->first);
  return it->second;
}

YAML::Node NodeArena::scalar(std::string_view text) {
  // Indexing one past the end of a sequence makes the node in the sequence's own pool. It
  // gets its value at once: yaml-cpp makes the next one only after the last is defined.
  YAML::Node node = m_pool[m_pool.size()];
  node = std::string(text);
  return node;
}

YAML::Node new_scalar(std::string_view text, const std::string& tag) {
  YAML::Node node =
      t_current_arena != nullptr ? t_current_arena->scalar(text) : YAML::Node(std::string(text));
  node.SetTag(tag);
  return node;
}

YAML::Node key_node(std::string_view text) {
  return t_current_arena != nullptr ? t_current_arena->key(text) : YAML::Node(std::string(text));
}

YAML::Node new_node(YAML::NodeType::value type) {
  YAML::Node node(type);
  if (t_current_arena != nullptr) t_current_arena->adopt(node);
  return node;
}

YAML::Node clone_node(const YAML::Node& node) {
  // By hand rather than YAML::Clone, which replays the tree as parser events (several times
  // slower). A scalar gets no children, so it need not join the arena's pool.
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      YAML::Node copy = new_scalar(node.Scalar(), node.Tag());
      copy.SetStyle(node.Style());
      return copy;
    }
    case YAML::NodeType::Map: {
      YAML::Node copy = new_node(YAML::NodeType::Map);
      copy.SetTag(node.Tag());
      copy.SetStyle(node.Style());
      for (const auto& entry : node)
        copy.force_insert(entry.first, clone_node(entry.second));  // keys are never changed
      return copy;
    }
    case YAML::NodeType::Sequence: {
      YAML::Node copy = new_node(YAML::NodeType::Sequence);
      copy.SetTag(node.Tag());
      copy.SetStyle(node.Style());
      for (const auto& item : node) copy.push_back(clone_node(item));
      return copy;
    }
    case YAML::NodeType::Null: {
      YAML::Node copy(YAML::NodeType::Null);
      copy.SetTag(node.Tag());
      return copy;
    }
    default: return YAML::Node();
  }
}

std::string where(std::string_view file, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return std::string(file);
  return fmt::format("{}:{}:{}", file, mark.line + 1, mark.column + 1);
}

std::string join_path(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return fmt::format("{}.{}", path, key);
}

std::string index_path(std::string_view path, std::size_t index) {
  return fmt::format("{}[{}]", path, index);
}

bool is_quoted(const YAML::Node& node) {
  return node.IsScalar() && node.Tag() == "!";
}

bool is_null(const YAML::Node& node) {
  if (node.IsNull()) return true;
  if (!node.IsScalar() || is_quoted(node)) return false;
  const std::string& s = node.Scalar();
  return s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::string kind_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "mapping";
    case YAML::NodeType::Sequence: return "sequence";
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar: return is_null(node) ? "null" : "string";
    default: return "nothing";
  }
}

}  // namespace berth::compose
