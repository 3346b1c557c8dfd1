#include "orchestrator/compose/merge.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "orchestrator/compose/yaml_util.h"
#include "util/error.h"

// A note on yaml-cpp handles: assigning one YAML::Node to another writes through to the node the
// left side refers to (and so to every alias of it). This file therefore never assigns nodes: it
// builds fresh ones, and rebinds handles with Node::reset.

namespace berth::compose {
namespace {

constexpr std::string_view k_reset_tag = "!reset";
constexpr std::string_view k_override_tag = "!override";
// The tag yaml-cpp gives nodes written without a tag and without quotes.
const std::string k_plain_tag = "?";

// A key path in the tree. Kept as segments because service and network names may contain dots.
class Path {
 public:
  /// A path whose first `hidden` segments are left out of messages (merge_services).
  Path(std::vector<std::string> segments, std::size_t hidden)
      : m_segments(std::move(segments)), m_hidden(hidden) {}

  /// The path of a mapping entry.
  Path child(std::string_view key) const {
    Path out = *this;
    out.m_segments.emplace_back(key);
    return out;
  }

  /// The path of a sequence item; no pattern goes through sequences, so it never matches one.
  Path item(std::size_t index) const { return child(fmt::format("[{}]", index)); }

  /// True when every segment equals the pattern's (dot-separated) one or the pattern has `*`.
  bool matches(std::string_view pattern) const {
    std::size_t i = 0;
    while (true) {
      const std::size_t dot = pattern.find('.');
      const std::string_view segment = pattern.substr(0, dot);
      if (i >= m_segments.size() || (segment != "*" && segment != m_segments[i])) {
        return false;
      }
      ++i;
      if (dot == std::string_view::npos) {
        return i == m_segments.size();
      }
      pattern.remove_prefix(dot + 1);
    }
  }

  /// "services.web.ports[2]", without the hidden prefix.
  std::string text() const {
    std::string out;
    for (std::size_t i = m_hidden; i < m_segments.size(); ++i) {
      const std::string& segment = m_segments[i];
      out = segment.starts_with('[') ? out + segment : join_path(out, segment);
    }
    return out;
  }

 private:
  std::vector<std::string> m_segments;
  std::size_t m_hidden = 0;
};

[[noreturn]] void fail(const Path& path, std::string_view message) {
  const std::string where_text = path.text();
  if (where_text.empty()) {
    throw Error(std::string(message));
  }
  throw Error(fmt::format("{}: {}", where_text, message));
}

[[noreturn]] void fail_mismatch(const Path& path, const YAML::Node& base, const YAML::Node& over) {
  fail(path, fmt::format("cannot merge a {} into a {}", kind_name(over), kind_name(base)));
}

bool is_reset(const YAML::Node& node) {
  return node.Tag() == k_reset_tag;
}

bool is_override(const YAML::Node& node) {
  return node.Tag() == k_override_tag;
}

bool has_merge_tag(const YAML::Node& node) {
  return is_reset(node) || is_override(node);
}

// ---------------------------------------------------------------------------------------------
// Copies

/// An empty container of the same kind and style as `node`, sharing nothing with it. (Source
/// marks cannot be carried over: yaml-cpp offers no way to set one, and Clone drops them.)
YAML::Node empty_like(const YAML::Node& node) {
  YAML::Node out = new_node(node.Type());
  out.SetStyle(node.Style());
  return out;
}

YAML::Node copy_scalar(const YAML::Node& node) {
  if (!has_merge_tag(node)) {
    return clone_node(node);
  }
  // `key: !override` with no value parses as an empty tagged scalar; it stands for null.
  if (node.IsNull() || node.Scalar().empty()) {
    return new_node(YAML::NodeType::Null);
  }
  YAML::Node out = clone_node(node);
  out.SetTag(k_plain_tag);
  return out;
}

/// A deep copy that shares nothing with `node`, with merge tags consumed: entries tagged !reset
/// are dropped, !override tags are stripped. Inside sequences the tags are only stripped, as
/// compose-go does not remove sequence items.
// Set while merge_services_shared runs: "copies" are then the input nodes themselves.
thread_local bool t_share_inputs = false;

YAML::Node copy_tree(const YAML::Node& node) {
  if (t_share_inputs) {
    return node;
  }
  if (node.IsMap()) {
    YAML::Node out = empty_like(node);
    for (const auto& entry : node) {
      if (!is_reset(entry.second)) {
        out.force_insert(entry.first, copy_tree(entry.second));  // keys are never changed: shared
      }
    }
    return out;
  }
  if (node.IsSequence()) {
    YAML::Node out = empty_like(node);
    for (const auto& item : node) {
      out.push_back(copy_tree(item));
    }
    return out;
  }
  return copy_scalar(node);
}

// ---------------------------------------------------------------------------------------------
// Small tree helpers

std::optional<YAML::Node> find_value(const YAML::Node& map, std::string_view key) {
  if (!map.IsMap()) {
    return std::nullopt;
  }
  for (const auto& entry : map) {
    if (entry.first.Scalar() == key) {
      return entry.second;
    }
  }
  return std::nullopt;
}

/// The value of `key` unless it is missing or tagged !reset (which means missing too).
std::optional<YAML::Node> find_present(const YAML::Node& map, std::string_view key) {
  std::optional<YAML::Node> value = find_value(map, key);
  if (value && is_reset(*value)) {
    return std::nullopt;
  }
  return value;
}

/// The text of a scalar entry, absent when missing, null or not a scalar.
std::optional<std::string> scalar_value(const YAML::Node& map, std::string_view key) {
  const std::optional<YAML::Node> value = find_present(map, key);
  if (!value || !value->IsScalar() || is_null(*value)) {
    return std::nullopt;
  }
  return value->Scalar();
}

/// The items of a sequence; compose-go also lets a lone scalar stand for a one-item list.
std::vector<YAML::Node> items_of(const YAML::Node& node) {
  std::vector<YAML::Node> out;
  if (node.IsSequence()) {
    for (const auto& item : node) {
      out.push_back(item);
    }
  } else if (!is_null(node)) {
    out.push_back(node);
  }
  return out;
}

/// Deep equality as compose-go's reflect.DeepEqual sees decoded values (mapping order ignored).
bool same_tree(const YAML::Node& a, const YAML::Node& b) {
  if (is_null(a) || is_null(b)) {
    return is_null(a) && is_null(b);
  }
  if (a.Type() != b.Type()) {
    return false;
  }
  if (a.IsScalar()) {
    return a.Scalar() == b.Scalar();
  }
  if (a.size() != b.size()) {
    return false;
  }
  if (a.IsSequence()) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!same_tree(a[i], b[i])) {
        return false;
      }
    }
    return true;
  }
  for (const auto& entry : a) {
    const std::optional<YAML::Node> other = find_value(b, entry.first.Scalar());
    if (!other || !same_tree(entry.second, *other)) {
      return false;
    }
  }
  return true;
}

// Ordered entries of a mapping under construction; the values are already fresh trees.
class Entries {
 public:
  /// Replaces the value of `key` in place, or appends the entry.
  void put(const YAML::Node& key, const YAML::Node& value) {
    for (auto& entry : m_entries) {
      if (entry.first.Scalar() == key.Scalar()) {
        entry.second.reset(value);
        return;
      }
    }
    m_entries.emplace_back(key, value);  // keys are never changed: shared, not copied
  }

  void erase(std::string_view key) {
    std::vector<std::pair<YAML::Node, YAML::Node>> kept;
    for (const auto& entry : m_entries) {
      if (entry.first.Scalar() != key) {
        kept.push_back(entry);
      }
    }
    m_entries.swap(kept);
  }

  /// The mapping, in the style of `like` when that is a mapping.
  YAML::Node build(const YAML::Node& like) const {
    YAML::Node out = like.IsMap() ? empty_like(like) : new_node(YAML::NodeType::Map);
    for (const auto& [key, value] : m_entries) {
      out.force_insert(key, value);
    }
    return out;
  }

 private:
  std::vector<std::pair<YAML::Node, YAML::Node>> m_entries;
};

// ---------------------------------------------------------------------------------------------
// Merge rules

enum class MergeRule {
  standard,     // mappings merge by key, sequences append, scalars are replaced
  replace,      // the override replaces the value whole (command, entrypoint, ...)
  key_value,    // KEY=VALUE maps: entries replaced by key, a null value included
  sequence,     // lists that also accept a lone string: append
  mapping,      // maps that also accept a list of names (networks, models)
  depends_on,   // like mapping, list entries get the default condition
  build,        // a string stands for {context: string}
  logging,      // options merge only for the same driver
  ulimit,       // two mappings merge, anything else is replaced
  ipam_config,  // config entries merge by subnet
};

/// The special rule for a path (compose-go's mergeSpecials); `standard` for the rest.
MergeRule rule_for(const Path& path) {
  struct Rule {
    std::string_view pattern;
    MergeRule rule;
  };
  static const std::array<Rule, 30> k_rules{{
      {"networks.*.ipam.config", MergeRule::ipam_config},
      {"networks.*.labels", MergeRule::key_value},
      {"volumes.*.labels", MergeRule::key_value},
      {"secrets.*.labels", MergeRule::key_value},
      {"configs.*.labels", MergeRule::key_value},
      {"services.*.annotations", MergeRule::key_value},
      {"services.*.build", MergeRule::build},
      {"services.*.build.args", MergeRule::key_value},
      {"services.*.build.additional_contexts", MergeRule::key_value},
      {"services.*.build.extra_hosts", MergeRule::sequence},
      {"services.*.build.labels", MergeRule::key_value},
      {"services.*.command", MergeRule::replace},
      {"services.*.depends_on", MergeRule::depends_on},
      {"services.*.deploy.labels", MergeRule::key_value},
      {"services.*.dns", MergeRule::sequence},
      {"services.*.dns_opt", MergeRule::sequence},
      {"services.*.dns_search", MergeRule::sequence},
      {"services.*.entrypoint", MergeRule::replace},
      {"services.*.env_file", MergeRule::sequence},
      {"services.*.environment", MergeRule::key_value},
      {"services.*.extra_hosts", MergeRule::sequence},
      {"services.*.healthcheck.test", MergeRule::replace},
      {"services.*.label_file", MergeRule::sequence},
      {"services.*.labels", MergeRule::key_value},
      {"services.*.logging", MergeRule::logging},
      {"services.*.models", MergeRule::mapping},
      {"services.*.networks", MergeRule::mapping},
      {"services.*.sysctls", MergeRule::key_value},
      {"services.*.tmpfs", MergeRule::sequence},
      {"services.*.ulimits.*", MergeRule::ulimit},
  }};
  for (const Rule& rule : k_rules) {
    if (path.matches(rule.pattern)) {
      return rule.rule;
    }
  }
  return MergeRule::standard;
}

YAML::Node merge_value(const YAML::Node& base, const YAML::Node& over, const Path& path);

/// Base entries in their order (merged with the override's), then the override's new ones.
YAML::Node merge_mappings(const YAML::Node& base, const YAML::Node& over, const Path& path) {
  Entries entries;
  for (const auto& entry : base) {
    if (is_reset(entry.second)) {
      continue;
    }
    const std::string& key = entry.first.Scalar();
    const std::optional<YAML::Node> over_value = find_value(over, key);
    if (!over_value) {
      entries.put(entry.first, copy_tree(entry.second));
    } else if (is_override(*over_value)) {
      entries.put(entry.first, copy_tree(*over_value));
    } else if (!is_reset(*over_value)) {
      entries.put(entry.first, merge_value(entry.second, *over_value, path.child(key)));
    }
  }
  for (const auto& entry : over) {
    if (!is_reset(entry.second) && !find_present(base, entry.first.Scalar())) {
      entries.put(entry.first, copy_tree(entry.second));
    }
  }
  return entries.build(base);
}

/// Appends the override's items, skipping those identical to one already there (compose-go
/// appendWithoutDuplicates: merging the same file twice changes nothing).
YAML::Node append_unique(const YAML::Node& like, const std::vector<YAML::Node>& base_items,
                         const std::vector<YAML::Node>& over_items) {
  std::vector<YAML::Node> kept = base_items;
  for (const YAML::Node& item : over_items) {
    const auto same = [&item](const YAML::Node& existing) { return same_tree(existing, item); };
    if (std::none_of(kept.begin(), kept.end(), same)) {
      kept.push_back(item);
    }
  }
  YAML::Node out = like.IsSequence() ? empty_like(like) : new_node(YAML::NodeType::Sequence);
  for (const YAML::Node& item : kept) {
    out.push_back(copy_tree(item));
  }
  return out;
}

YAML::Node merge_standard(const YAML::Node& base, const YAML::Node& over, const Path& path) {
  // An override that sets a value to null leaves the base value in place.
  if (is_null(over)) {
    return copy_tree(base);
  }
  if (base.IsMap()) {
    if (!over.IsMap()) {
      fail_mismatch(path, base, over);
    }
    return merge_mappings(base, over, path);
  }
  if (base.IsSequence()) {
    if (!over.IsSequence()) {
      fail_mismatch(path, base, over);
    }
    return append_unique(base, items_of(base), items_of(over));
  }
  return copy_tree(over);
}

std::string key_of_key_value(const YAML::Node& item, const Path& path) {
  if (!item.IsScalar()) {
    fail(path, fmt::format("expected a KEY=VALUE string, got a {}", kind_name(item)));
  }
  const std::string& text = item.Scalar();
  return text.substr(0, text.find('='));
}

/// KEY=VALUE lists (non-canonical): the last entry for a key wins, in the place of the first.
YAML::Node merge_key_value_lists(const YAML::Node& base, const YAML::Node& over, const Path& path) {
  std::vector<YAML::Node> merged;
  std::map<std::string, std::size_t> slot_of_key;
  std::size_t index = 0;
  for (const YAML::Node& source : {base, over}) {
    for (const YAML::Node& item : items_of(source)) {
      const std::string key = key_of_key_value(item, path.item(index++));
      const auto found = slot_of_key.find(key);
      if (found == slot_of_key.end()) {
        slot_of_key.emplace(key, merged.size());
        merged.push_back(item);
      } else {
        merged[found->second].reset(item);
      }
    }
  }
  YAML::Node out = base.IsSequence() ? empty_like(base) : new_node(YAML::NodeType::Sequence);
  for (const YAML::Node& item : merged) {
    out.push_back(copy_tree(item));
  }
  return out;
}

/// environment, labels, build.args...: each override entry replaces the base one whole, a null
/// value included (compose-go merges these as KEY=VALUE lists, keyed by KEY).
YAML::Node merge_key_value(const YAML::Node& base, const YAML::Node& over, const Path& path) {
  if (is_null(over)) {
    return copy_tree(base);
  }
  if (!base.IsMap() && !over.IsMap()) {
    return merge_key_value_lists(base, over, path);
  }
  if (!over.IsMap() || (!base.IsMap() && !is_null(base))) {
    fail_mismatch(path, base, over);
  }
  Entries entries;
  if (base.IsMap()) {
    for (const auto& entry : base) {
      if (!is_reset(entry.second)) {
        entries.put(entry.first, copy_tree(entry.second));
      }
    }
  }
  for (const auto& entry : over) {
    if (is_reset(entry.second)) {
      entries.erase(entry.first.Scalar());
    } else {
      entries.put(entry.first, copy_tree(entry.second));
    }
  }
  return entries.build(base.IsMap() ? base : over);
}

/// dns, env_file, tmpfs, extra_hosts...: appended; a lone string counts as a one-item list.
YAML::Node merge_sequence(const YAML::Node& base, const YAML::Node& over, const Path& path) {
  if (is_null(over)) {
    return copy_tree(base);
  }
  if (base.IsMap() && over.IsMap()) {
    // Mapping forms (build.extra_hosts may stay `host: ip`): keep the shape, merge by key.
    return merge_key_value(base, over, path);
  }
  if (base.IsMap() || over.IsMap()) {
    fail_mismatch(path, base, over);
  }
  return append_unique(base.IsSequence() ? base : over, items_of(base), items_of(over));
}

YAML::Node depends_on_defaults() {
  YAML::Node out = new_node(YAML::NodeType::Map);
  out["condition"] = "service_started";
  out["required"] = "true";
  return out;
}

/// A mapping for `node`; compose-go also accepts a list of names (each mapped to null, or to
/// the default depends_on entry). The result is only read.
YAML::Node as_mapping(const YAML::Node& node, const Path& path, bool depends_on) {
  if (node.IsMap()) {
    return node;
  }
  YAML::Node out = new_node(YAML::NodeType::Map);
  for (const YAML::Node& name : items_of(node)) {
    if (!name.IsScalar()) {
      fail(path, fmt::format("expected a name, got a {}", kind_name(name)));
    }
    out.force_insert(name, depends_on ? depends_on_defaults() : new_node(YAML::NodeType::Null));
  }
  return out;
}

/// networks, models, depends_on: null counts as an empty mapping on either side, so a null
/// override keeps the base and a null base takes the override.
YAML::Node merge_as_mapping(const YAML::Node& base, const YAML::Node& over, const Path& path,
                            bool depends_on) {
  return merge_mappings(as_mapping(base, path, depends_on), as_mapping(over, path, depends_on),
                        path);
}

YAML::Node as_build(const YAML::Node& node, const Path& path) {
  if (node.IsMap()) {
    return node;
  }
  if (!node.IsScalar()) {
    fail(path, fmt::format("expected a mapping or a string, got a {}", kind_name(node)));
  }
  YAML::Node out = new_node(YAML::NodeType::Map);
  out.force_insert(key_node("context"), clone_node(node));
  return out;
}

YAML::Node merge_build(const YAML::Node& base, const YAML::Node& over, const Path& path) {
  if (is_null(over)) {
    return copy_tree(base);
  }
  if (is_null(base)) {
    return copy_tree(as_build(over, path));
  }
  return merge_mappings(as_build(base, path), as_build(over, path), path);
}

/// Logging options merge when both sides name the same driver or either names none; a
/// different driver replaces the whole logging block.
YAML::Node merge_logging(const YAML::Node& base, const YAML::Node& over, const Path& path) {
  if (is_null(over) || !base.IsMap()) {
    return merge_standard(base, over, path);
  }
  if (!over.IsMap()) {
    fail_mismatch(path, base, over);
  }
  const std::optional<YAML::Node> over_driver = find_present(over, "driver");
  const std::optional<YAML::Node> base_driver = find_present(base, "driver");
  if (!over_driver || !base_driver || over_driver->Scalar() == base_driver->Scalar()) {
    return merge_mappings(base, over, path);
  }
  return copy_tree(over);
}

YAML::Node merge_ulimit(const YAML::Node& base, const YAML::Node& over, const Path& path) {
  if (base.IsMap() && over.IsMap()) {
    return merge_mappings(base, over, path);
  }
  return copy_tree(over);
}

/// The override's config entries, each merged into the base entry with the same subnet
/// (compose-go mergeIPAMConfig; base entries no override entry names are not kept).
YAML::Node merge_ipam_config(const YAML::Node& base, const YAML::Node& over, const Path& path) {
  if (is_null(over) || is_null(base)) {
    return merge_standard(base, over, path);
  }
  if (!base.IsSequence() || !over.IsSequence()) {
    fail_mismatch(path, base, over);
  }
  YAML::Node out = empty_like(base);
  for (std::size_t i = 0; i < over.size(); ++i) {
    const YAML::Node entry = over[i];
    if (!entry.IsMap()) {
      fail(path.item(i), fmt::format("expected a mapping, got a {}", kind_name(entry)));
    }
    const std::optional<std::string> subnet = scalar_value(entry, "subnet");
    std::optional<YAML::Node> match;
    for (const auto& candidate : base) {
      if (candidate.IsMap() && scalar_value(candidate, "subnet") == subnet) {
        match.emplace(candidate);
        break;
      }
    }
    out.push_back(match ? merge_mappings(*match, entry, path.item(i)) : copy_tree(entry));
  }
  return out;
}

/// Merges two values found at the same path (neither is tagged !reset or !override).
YAML::Node merge_value(const YAML::Node& base, const YAML::Node& over, const Path& path) {
  switch (rule_for(path)) {
    case MergeRule::standard: return merge_standard(base, over, path);
    case MergeRule::replace: return copy_tree(over);
    case MergeRule::key_value: return merge_key_value(base, over, path);
    case MergeRule::sequence: return merge_sequence(base, over, path);
    case MergeRule::mapping: return merge_as_mapping(base, over, path, false);
    case MergeRule::depends_on: return merge_as_mapping(base, over, path, true);
    case MergeRule::build: return merge_build(base, over, path);
    case MergeRule::logging: return merge_logging(base, over, path);
    case MergeRule::ulimit: return merge_ulimit(base, over, path);
    case MergeRule::ipam_config: return merge_ipam_config(base, over, path);
  }
  return merge_standard(base, over, path);
}

YAML::Node merge_roots(const YAML::Node& base, const YAML::Node& over, const Path& path,
                       std::string_view what) {
  for (const YAML::Node* node : {&base, &over}) {
    if (!node->IsMap() && !is_null(*node)) {
      throw Error(fmt::format("{} must be a mapping, got a {}", what, kind_name(*node)));
    }
  }
  if (is_reset(over)) {
    return new_node(YAML::NodeType::Map);
  }
  if (is_override(over) || !base.IsMap()) {
    return is_null(over) ? new_node(YAML::NodeType::Map) : copy_tree(over);
  }
  if (!over.IsMap()) {
    return copy_tree(base);
  }
  return merge_mappings(base, over, path);
}

// ---------------------------------------------------------------------------------------------
// Unicity

enum class UniqueKey {
  key_value,  // the text before the first '=' (the whole text without one)
  expose,     // the whole value
  volume,     // the mount target
  device,     // the device target
  config,     // the target, or /<source>
  secret,     // the target, or /run/secrets/<source>
  env_file,   // the path
  port,       // host_ip:published:target/protocol
};

/// The sequences that must be unique and their key (compose-go's `unique` table).
std::optional<UniqueKey> unique_key_for(const Path& path) {
  struct Rule {
    std::string_view pattern;
    UniqueKey key;
  };
  static const std::array<Rule, 28> k_rules{{
      {"networks.*.labels", UniqueKey::key_value},
      {"networks.*.ipam.options", UniqueKey::key_value},
      {"services.*.annotations", UniqueKey::key_value},
      {"services.*.build.args", UniqueKey::key_value},
      {"services.*.build.additional_contexts", UniqueKey::key_value},
      {"services.*.build.labels", UniqueKey::key_value},
      {"services.*.build.tags", UniqueKey::key_value},
      {"services.*.cap_add", UniqueKey::key_value},
      {"services.*.cap_drop", UniqueKey::key_value},
      {"services.*.configs", UniqueKey::config},
      {"services.*.deploy.labels", UniqueKey::key_value},
      {"services.*.devices", UniqueKey::device},
      {"services.*.dns", UniqueKey::key_value},
      {"services.*.dns_opt", UniqueKey::key_value},
      {"services.*.dns_search", UniqueKey::key_value},
      {"services.*.env_file", UniqueKey::env_file},
      {"services.*.environment", UniqueKey::key_value},
      {"services.*.expose", UniqueKey::expose},
      {"services.*.labels", UniqueKey::key_value},
      {"services.*.links", UniqueKey::key_value},
      {"services.*.networks.*.aliases", UniqueKey::key_value},
      {"services.*.networks.*.link_local_ips", UniqueKey::key_value},
      {"services.*.ports", UniqueKey::port},
      {"services.*.profiles", UniqueKey::key_value},
      {"services.*.secrets", UniqueKey::secret},
      {"services.*.sysctls", UniqueKey::key_value},
      {"services.*.tmpfs", UniqueKey::key_value},
      {"services.*.volumes", UniqueKey::volume},
  }};
  for (const Rule& rule : k_rules) {
    if (path.matches(rule.pattern)) {
      return rule.key;
    }
  }
  return std::nullopt;
}

std::string scalar_key(const YAML::Node& item, const Path& path) {
  if (!item.IsScalar()) {
    fail(path, fmt::format("expected a string, got a {}", kind_name(item)));
  }
  return item.Scalar();
}

std::string required_key(const YAML::Node& item, std::string_view key, const Path& path,
                         std::string_view what) {
  std::optional<std::string> value = scalar_value(item, key);
  if (!value) {
    fail(path, fmt::format("{} has no {}", what, key));
  }
  return *value;
}

std::string mount_key(const YAML::Node& item, const Path& path, std::string_view directory) {
  if (!item.IsMap()) {
    return fmt::format("{}/{}", directory, scalar_key(item, path));
  }
  if (std::optional<std::string> target = scalar_value(item, "target")) {
    return *target;
  }
  return fmt::format("{}/{}", directory, scalar_value(item, "source").value_or(""));
}

std::string port_key(const YAML::Node& item, const Path& path) {
  if (!item.IsMap()) {
    return scalar_key(item, path);
  }
  return fmt::format("{}:{}:{}/{}", scalar_value(item, "host_ip").value_or("0.0.0.0"),
                     scalar_value(item, "published").value_or(""),
                     required_key(item, "target", path, "port"),
                     scalar_value(item, "protocol").value_or("tcp"));
}

std::string device_key(const YAML::Node& item, const Path& path) {
  if (item.IsMap()) {
    return required_key(item, "target", path, "device");
  }
  // Short form "source:target[:permissions]", target defaulting to the source.
  const std::string text = scalar_key(item, path);
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos) {
    return text;
  }
  return text.substr(colon + 1, text.find(':', colon + 1) - colon - 1);
}

std::string unique_key(UniqueKey kind, const YAML::Node& item, const Path& path) {
  switch (kind) {
    case UniqueKey::key_value: return key_of_key_value(item, path);
    case UniqueKey::expose: return scalar_key(item, path);
    case UniqueKey::volume:
      return item.IsMap() ? required_key(item, "target", path, "volume") : scalar_key(item, path);
    case UniqueKey::device: return device_key(item, path);
    case UniqueKey::config: return mount_key(item, path, "");
    case UniqueKey::secret: return mount_key(item, path, "/run/secrets");
    case UniqueKey::env_file:
      return item.IsMap() ? required_key(item, "path", path, "env_file entry")
                          : scalar_key(item, path);
    case UniqueKey::port: return port_key(item, path);
  }
  return scalar_key(item, path);
}

/// Keeps the first position of each key with the last item for it, rewriting `sequence`.
void make_unique(YAML::Node sequence, UniqueKey kind, const Path& path) {
  std::vector<YAML::Node> items;
  for (const auto& item : sequence) {
    items.push_back(item);
  }
  std::vector<std::size_t> chosen;
  std::map<std::string, std::size_t> slot_of_key;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string key = unique_key(kind, items[i], path.item(i));
    const auto found = slot_of_key.find(key);
    if (found == slot_of_key.end()) {
      slot_of_key.emplace(key, chosen.size());
      chosen.push_back(i);
    } else {
      chosen[found->second] = i;
    }
  }
  if (chosen.size() == items.size()) {
    return;  // no key repeats, so every item stays where it is
  }
  while (sequence.size() > 0) {
    sequence.remove(sequence.size() - 1);
  }
  for (const std::size_t i : chosen) {
    sequence.push_back(items[i]);
  }
}

void unify(YAML::Node node, const Path& path) {
  if (node.IsMap()) {
    for (const auto& entry : node) {
      unify(entry.second, path.child(entry.first.Scalar()));
    }
    return;
  }
  if (node.IsSequence()) {
    if (const std::optional<UniqueKey> kind = unique_key_for(path)) {
      make_unique(node, *kind, path);
    }
  }
}

/// adopt_document's walk: `node` itself when nothing below it is shared or tagged, else a
/// rebuilt container (or, for a node already seen elsewhere in the tree, a deep copy).
YAML::Node unshare(const YAML::Node& node, std::unordered_set<const void*>& seen) {
  // Nodes that alias each other share their data, and with it the address of its scalar.
  if (!seen.insert(&node.Scalar()).second) return copy_tree(node);
  if (has_merge_tag(node) && !node.IsMap() && !node.IsSequence()) return copy_scalar(node);
  bool changed = has_merge_tag(node);
  if (node.IsMap()) {
    std::vector<std::pair<YAML::Node, YAML::Node>> entries;
    for (const auto& entry : node) {
      if (is_reset(entry.second)) {
        changed = true;
        continue;
      }
      YAML::Node value = unshare(entry.second, seen);
      changed = changed || !value.is(entry.second);
      entries.emplace_back(entry.first, value);
    }
    if (!changed) return node;
    YAML::Node out = empty_like(node);
    for (const auto& [key, value] : entries) out.force_insert(key, value);
    return out;
  }
  if (node.IsSequence()) {
    std::vector<YAML::Node> items;
    for (const auto& item : node) {
      YAML::Node value = unshare(item, seen);
      changed = changed || !value.is(item);
      items.push_back(value);
    }
    if (!changed) return node;
    YAML::Node out = empty_like(node);
    for (const auto& item : items) out.push_back(item);
    return out;
  }
  return node;
}

}  // namespace

YAML::Node adopt_document(const YAML::Node& document) {
  std::unordered_set<const void*> seen;
  seen.reserve(4096);
  return unshare(document, seen);
}

YAML::Node merge_documents(const YAML::Node& base, const YAML::Node& override_doc) {
  return merge_roots(base, override_doc, Path({}, 0), "a compose file");
}

YAML::Node merge_services(const YAML::Node& base, const YAML::Node& override_service) {
  // compose-go merges extended services at the path "services.x": the service rules apply.
  return merge_roots(base, override_service, Path({"services", "*"}, 2), "a service definition");
}

YAML::Node merge_services_shared(const YAML::Node& base, const YAML::Node& override_service) {
  struct Sharing {
    Sharing() { t_share_inputs = true; }
    ~Sharing() { t_share_inputs = false; }
  } sharing;
  return merge_services(base, override_service);
}

void enforce_unicity(YAML::Node& document) {
  unify(document, Path({}, 0));
}

}  // namespace berth::compose
