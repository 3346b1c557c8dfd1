#include "orchestrator/compose/interpolate.h"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "orchestrator/compose/yaml_util.h"
#include "util/error.h"

namespace berth::compose {

namespace {

// Defaults nest as ${A:-${B:-...}}; a limit keeps hostile input from exhausting the stack.
constexpr int k_max_nesting = 64;

bool is_name_start(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

std::size_t name_end(std::string_view text, std::size_t pos) {
  while (pos < text.size() && is_name_char(text[pos])) {
    ++pos;
  }
  return pos;
}

// Index of the '}' closing the '{' at `open`. Braces nest like compose-go counts them (any
// '{', so a JSON default such as ${X:-{"a":1}} stays whole). When they never balance,
// compose-go's greedy pattern ends at the last '}' of the text, so we do too.
std::size_t closing_brace(std::string_view text, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < text.size(); ++i) {
    if (text[i] == '{') {
      ++depth;
    } else if (text[i] == '}' && --depth == 0) {
      return i;
    }
  }
  const std::size_t last = text.rfind('}');
  return last != std::string_view::npos && last > open ? last : std::string_view::npos;
}

class Interpolator {
 public:
  Interpolator(std::string_view whole, const Lookup& lookup, const UnsetHandler& on_unset)
      : m_whole(whole), m_lookup(lookup), m_on_unset(on_unset) {}

  std::string substitute(std::string_view text, int depth) {
    if (depth > k_max_nesting) {
      throw Error(fmt::format("interpolation nested too deeply in {:?}", m_whole));
    }
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
      if (text[i] != '$' || i + 1 == text.size()) {
        out += text[i++];
        continue;
      }
      const char next = text[i + 1];
      if (next == '$') {
        out += '$';
        i += 2;
      } else if (is_name_start(next)) {
        const std::size_t end = name_end(text, i + 1);
        out += plain(text.substr(i + 1, end - i - 1));
        i = end;
      } else if (next == '{') {
        const std::size_t close = closing_brace(text, i + 1);
        if (close == std::string_view::npos) {
          invalid();
        }
        out += braced(text.substr(i + 2, close - i - 2), depth);
        i = close + 1;
      } else {
        // compose-go keeps a '$' that starts no expression ("a $ sign", "^re$", "$}").
        out += text[i++];
      }
    }
    return out;
  }

 private:
  [[noreturn]] void invalid() const {
    throw Error(fmt::format(
        "invalid interpolation format for {:?}: you may need to escape any $ with another $",
        m_whole));
  }

  std::string plain(std::string_view name) const {
    std::optional<std::string> value = m_lookup(name);
    if (!value) {
      if (m_on_unset) {
        m_on_unset(name);
      }
      return {};
    }
    return std::move(*value);
  }

  // The inside of ${...}: NAME, or NAME then one of :- - :+ + :? ? and an argument.
  std::string braced(std::string_view content, int depth) {
    if (content.empty() || !is_name_start(content[0])) {
      invalid();
    }
    const std::size_t end = name_end(content, 0);
    const std::string_view name = content.substr(0, end);
    std::string_view rest = content.substr(end);
    if (rest.empty()) {
      return plain(name);
    }
    const bool colon = rest[0] == ':';
    if (colon) {
      rest.remove_prefix(1);
    }
    if (rest.empty() || (rest[0] != '-' && rest[0] != '+' && rest[0] != '?')) {
      invalid();
    }
    const char op = rest[0];
    // compose-go expands the argument before looking at the variable, so its errors and
    // unset warnings surface even when the argument is not used.
    const std::string arg = substitute(rest.substr(1), depth + 1);
    const std::optional<std::string> value = m_lookup(name);
    const bool missing = !value || (colon && value->empty());
    switch (op) {
      case '-': return missing ? arg : *value;
      case '+': return missing ? value.value_or("") : arg;
      default:
        if (missing) {
          throw Error(arg.empty()
                          ? fmt::format("required variable {} is missing a value", name)
                          : fmt::format("required variable {} is missing a value: {}", name, arg));
        }
        return *value;
    }
  }

  std::string_view m_whole;
  const Lookup& m_lookup;
  const UnsetHandler& m_on_unset;
};

// yaml-cpp 0.7 exposes no node identity usable as a hash key (only Node::is()). Scalar()
// returns a reference into the node's data, which every node kind has and every alias of
// the node shares, so its address identifies the node for the duration of the walk.
const void* node_id(const YAML::Node& node) {
  return &node.Scalar();
}

struct Pending {
  YAML::Node node;
  std::string path;
};

std::string key_text(const YAML::Node& key) {
  return key.IsScalar() ? key.Scalar() : fmt::format("<{}>", kind_name(key));
}

void interpolate_scalar(YAML::Node& node, const std::string& path, const Lookup& lookup,
                        std::string_view file, const UnsetHandler& on_unset) {
  const std::string& text = node.Scalar();
  if (text.find('$') == std::string::npos) {
    return;
  }
  std::string result;
  try {
    result = interpolate(text, lookup, on_unset);
  } catch (const Error& e) {
    wrap(e, path.empty() ? where(file, node) : fmt::format("{}: {}", where(file, node), path));
  }
  if (result != text) {
    // Assigning a std::string rewrites the shared scalar data in place: tag, style and mark
    // survive, and every alias of the node sees the new text.
    node = result;
  }
}

// Pushes the children of a collection so that they pop in document order.
void push_children(const Pending& item, std::vector<Pending>& stack) {
  std::vector<Pending> children;
  children.reserve(item.node.size());
  std::size_t index = 0;
  for (auto it = item.node.begin(); it != item.node.end(); ++it) {
    if (item.node.IsSequence()) {
      children.push_back({*it, index_path(item.path, index++)});
    } else {
      children.push_back({it->second, join_path(item.path, key_text(it->first))});
    }
  }
  std::move(children.rbegin(), children.rend(), std::back_inserter(stack));
}

}  // namespace

std::string interpolate(std::string_view text, const Lookup& lookup, const UnsetHandler& on_unset) {
  return Interpolator(text, lookup, on_unset).substitute(text, 0);
}

void interpolate_tree(YAML::Node& root, const Lookup& lookup, std::string_view file,
                      const UnsetHandler& on_unset) {
  // Aliases share nodes, so each distinct node is visited once: a shared scalar must not be
  // interpolated twice ("$$x" -> "$x" -> ""), and a billion-laughs tree stays small.
  std::unordered_set<const void*> seen;
  std::vector<Pending> stack{{root, ""}};
  while (!stack.empty()) {
    Pending item = std::move(stack.back());
    stack.pop_back();
    if (!item.node.IsDefined() || !seen.insert(node_id(item.node)).second) {
      continue;
    }
    if (item.node.IsScalar()) {
      interpolate_scalar(item.node, item.path, lookup, file, on_unset);
    } else if (item.node.IsSequence() || item.node.IsMap()) {
      push_children(item, stack);
    }
  }
}

}  // namespace berth::compose
