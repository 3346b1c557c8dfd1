#include "orchestrator/compose/canonical.h"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "orchestrator/compose/port_spec.h"
#include "orchestrator/compose/units.h"
#include "orchestrator/compose/yaml_util.h"
#include "util/error.h"
#include "util/shell_words.h"
#include "util/strings.h"

namespace berth::compose {
namespace {

// ---------------------------------------------------------------------------------------------
// Node helpers

/// Reuses an input node that needs no change. Sharing (instead of YAML::Clone) keeps its
/// source position, which Clone resets to 1:1; no phase mutates nodes it did not create.
/// Beware: `handle = other` on a yaml-cpp Node rewrites the node `handle` refers to, so a
/// handle that may hold a kept node is only ever rebound with reset(), never assigned.
YAML::Node keep(const YAML::Node& node) {
  return node;
}

/// A string-typed (quoted) scalar; reuses `at` when it already is exactly that.
YAML::Node string_at(const YAML::Node& at, std::string_view value) {
  if (at.IsScalar() && at.Tag() == "!" && at.Scalar() == value) {
    return keep(at);
  }
  return new_scalar(value, "!");
}

YAML::Node string_node(std::string_view value) {
  return string_at(YAML::Node{}, value);
}

/// A plain scalar (number or bool); reuses `at` when it already is exactly that.
YAML::Node plain_at(const YAML::Node& at, std::string_view value) {
  if (at.IsScalar() && at.Tag() == "?" && at.Scalar() == value) {
    return keep(at);
  }
  YAML::Node node = new_scalar(value, "?");
  return node;
}

YAML::Node plain_node(std::string_view value) {
  return plain_at(YAML::Node{}, value);
}

YAML::Node null_node() {
  return new_node(YAML::NodeType::Null);
}

std::optional<YAML::Node> lookup(const YAML::Node& map, std::string_view key) {
  for (const auto& entry : map) {
    if (entry.first.Scalar() == key) {
      return entry.second;
    }
  }
  return std::nullopt;
}

bool is_true(const YAML::Node& node) {
  if (!node.IsScalar()) {
    return false;
  }
  const std::string& s = node.Scalar();
  return s == "true" || s == "True" || s == "TRUE";
}

/// Key/value pairs of a mapping under construction, in insertion order.
class Entries {
 public:
  Entries() = default;
  Entries(const Entries&) = default;
  Entries(Entries&&) = default;
  // Assigning would assign YAML::Node elements, which overwrites the nodes they share.
  Entries& operator=(const Entries&) = delete;
  Entries& operator=(Entries&&) = delete;

  /// Replaces the value of `key`, or appends it.
  void set(std::string_view key, YAML::Node value) {
    for (auto& [name, existing] : m_items) {
      if (name == key) {
        existing.reset(value);  // rebinds; `existing = value` would overwrite a shared node
        return;
      }
    }
    m_items.emplace_back(std::string{key}, std::move(value));
  }

  /// The entries of a mapping, values kept as they are.
  static Entries of(const YAML::Node& map) {
    Entries out;
    for (const auto& entry : map) {
      out.set(entry.first.Scalar(), keep(entry.second));
    }
    return out;
  }

  /// Sets `key` only when it is missing (a default for the long form).
  void set_default(std::string_view key, const YAML::Node& value) {
    if (!has(key)) {
      set(key, value);
    }
  }

  bool has(std::string_view key) const {
    for (const auto& item : m_items) {
      if (item.first == key) {
        return true;
      }
    }
    return false;
  }

  /// The mapping with the keys in `order` first (those present), then the rest as inserted.
  YAML::Node to_map(std::initializer_list<std::string_view> order = {}) const {
    YAML::Node out = new_node(YAML::NodeType::Map);
    std::vector<bool> placed(m_items.size(), false);
    for (std::string_view key : order) {
      for (std::size_t i = 0; i < m_items.size(); ++i) {
        if (m_items[i].first == key) {
          out.force_insert(key_node(m_items[i].first), m_items[i].second);
          placed[i] = true;
        }
      }
    }
    for (std::size_t i = 0; i < m_items.size(); ++i) {
      if (!placed[i]) {
        out.force_insert(key_node(m_items[i].first), m_items[i].second);
      }
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, YAML::Node>> m_items;
};

// ---------------------------------------------------------------------------------------------
// Paths

bool starts_with_any(std::string_view text, std::initializer_list<std::string_view> prefixes) {
  for (std::string_view prefix : prefixes) {
    if (text.starts_with(prefix)) {
      return true;
    }
  }
  return false;
}

/// Build contexts that are not local directories (compose-go paths/context.go).
bool is_remote_context(std::string_view context) {
  return context.find("://") != std::string_view::npos ||
         starts_with_any(context, {"service:", "github.com/", "git@"});
}

/// Bind-mount sources in short syntax are host paths only when they look like one.
bool looks_like_path(std::string_view source) {
  return !source.empty() && (source[0] == '.' || source[0] == '/' || source[0] == '~');
}

// ---------------------------------------------------------------------------------------------
// Volumes

/// Splits a volume spec at ':' outside `${...}` (compose-go format/volume.go).
std::vector<std::string> split_volume_spec(std::string_view spec) {
  std::vector<std::string> sections(1);
  int depth = 0;
  for (std::size_t i = 0; i < spec.size(); ++i) {
    const char c = spec[i];
    if (c == '$' && i + 1 < spec.size() && spec[i + 1] == '{') {
      ++depth;
    } else if (c == '}' && depth > 0) {
      --depth;
    } else if (c == ':' && depth == 0) {
      sections.emplace_back();
      continue;
    }
    sections.back() += c;
  }
  return sections;
}

bool is_propagation(std::string_view option) {
  for (std::string_view mode : {"rprivate", "private", "rshared", "shared", "rslave", "slave"}) {
    if (option == mode) {
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Numbers

/// A CPU count the way compose prints its float32 (Go's %g with the shortest digits).
std::optional<std::string> format_cpus(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  char buffer[64];
  const auto single = static_cast<float>(value);
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, single, std::chars_format::scientific);
  const std::string_view scientific(buffer, static_cast<std::size_t>(result.ptr - buffer));
  const std::size_t e = scientific.find('e');
  int exponent = 0;
  std::from_chars(scientific.data() + e + (scientific[e + 1] == '+' ? 2 : 1),
                  scientific.data() + scientific.size(), exponent);
  if (exponent < -4 || exponent >= 6) {
    return std::string{scientific};
  }
  const auto fixed =
      std::to_chars(buffer, buffer + sizeof buffer, single, std::chars_format::fixed);
  return std::string(buffer, static_cast<std::size_t>(fixed.ptr - buffer));
}

/// A secret or config `mode` as compose reads it: a plain YAML integer is the value itself
/// (decimal, or 0o/0x/0b prefixed, or with a leading 0 octal, as Go's YAML reader takes it); a
/// quoted string is octal digits. Nothing else is a mode.
std::optional<std::uint64_t> parse_file_mode(std::string_view text, bool quoted) {
  int base = 8;
  if (!quoted) {
    base = 10;
    if (text.starts_with('+')) {
      text.remove_prefix(1);
    }
    if (text.size() > 2 && text[0] == '0') {
      const char prefix = static_cast<char>(text[1] | 0x20);  // lower case
      base = prefix == 'o' ? 8 : prefix == 'x' ? 16 : prefix == 'b' ? 2 : 10;
      if (base != 10) {
        text.remove_prefix(2);
      }
    }
    if (base == 10 && text.size() > 1 && text[0] == '0') {
      base = 8;
    }
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

bool is_integer(std::string_view text) {
  if (text.starts_with('-') || text.starts_with('+')) {
    text.remove_prefix(1);
  }
  if (text.empty()) {
    return false;
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The walk over the document

class Canonicalizer {
 public:
  explicit Canonicalizer(const CanonicalContext& ctx) : m_ctx(ctx) {}

  YAML::Node document(const YAML::Node& doc) const;

 private:
  using Transform = YAML::Node (Canonicalizer::*)(const YAML::Node&, const std::string&) const;
  using KeyTable = std::vector<std::pair<std::string_view, Transform>>;

  const CanonicalContext& m_ctx;

  [[noreturn]] void fail(const YAML::Node& at, const std::string& path,
                         std::string_view message) const {
    throw Error(fmt::format("{}: {}: {}", where(m_ctx.file, at), path, message));
  }

  void expect_map(const YAML::Node& node, const std::string& path) const;
  void expect_sequence(const YAML::Node& node, const std::string& path) const;
  void expect_string(const YAML::Node& node, const std::string& path) const;

  YAML::Node apply(Transform fn, const YAML::Node& value, const std::string& path) const;
  YAML::Node by_table(const YAML::Node& map, const std::string& path, const KeyTable& table) const;
  std::string resolve_path(std::string_view path) const;

  // Generic shapes.
  YAML::Node string_list(const YAML::Node& in, const std::string& path) const;
  YAML::Node string_or_list(const YAML::Node& in, const std::string& path) const;
  YAML::Node path_list(const YAML::Node& in, const std::string& path) const;
  YAML::Node mapping(const YAML::Node& in, const std::string& path) const;
  YAML::Node labels(const YAML::Node& in, const std::string& path) const;
  YAML::Node duration(const YAML::Node& in, const std::string& path) const;
  YAML::Node bytes(const YAML::Node& in, const std::string& path) const;
  YAML::Node cpus(const YAML::Node& in, const std::string& path) const;
  YAML::Node host_path(const YAML::Node& in, const std::string& path) const;

  // Top level.
  YAML::Node services(const YAML::Node& in, const std::string& path) const;
  YAML::Node resources(const YAML::Node& in, const std::string& path) const;
  YAML::Node resource(const YAML::Node& in, const std::string& path) const;
  YAML::Node file_object(const YAML::Node& in, const std::string& path) const;
  Entries external_resource(const YAML::Node& in, const std::string& path) const;

  // Services.
  YAML::Node service(const YAML::Node& in, const std::string& path) const;
  YAML::Node build(const YAML::Node& in, const std::string& path) const;
  YAML::Node build_context(const YAML::Node& in, const std::string& path) const;
  YAML::Node additional_contexts(const YAML::Node& in, const std::string& path) const;
  YAML::Node ssh(const YAML::Node& in, const std::string& path) const;
  YAML::Node command(const YAML::Node& in, const std::string& path) const;
  YAML::Node depends_on(const YAML::Node& in, const std::string& path) const;
  YAML::Node dependency(const YAML::Node& in, const std::string& path) const;
  YAML::Node devices(const YAML::Node& in, const std::string& path) const;
  YAML::Node device(const YAML::Node& in, const std::string& path) const;
  YAML::Node env_files(const YAML::Node& in, const std::string& path) const;
  YAML::Node env_file(const YAML::Node& in, const std::string& path) const;
  YAML::Node extra_hosts(const YAML::Node& in, const std::string& path) const;
  void add_host(YAML::Node& out, const YAML::Node& at, const std::string& path,
                std::string_view host, std::string_view ip, std::string_view entry) const;
  YAML::Node healthcheck(const YAML::Node& in, const std::string& path) const;
  YAML::Node healthcheck_test(const YAML::Node& in, const std::string& path) const;
  YAML::Node networks(const YAML::Node& in, const std::string& path) const;
  YAML::Node ports(const YAML::Node& in, const std::string& path) const;
  YAML::Node long_port(const YAML::Node& in, const std::string& path) const;
  YAML::Node file_mounts(const YAML::Node& in, const std::string& path) const;
  YAML::Node file_mount(const YAML::Node& in, const std::string& path) const;
  YAML::Node ulimits(const YAML::Node& in, const std::string& path) const;
  YAML::Node ulimit(const YAML::Node& in, const std::string& path) const;
  YAML::Node volumes(const YAML::Node& in, const std::string& path) const;
  YAML::Node short_volume(const YAML::Node& in, const std::string& path) const;
  YAML::Node long_volume(const YAML::Node& in, const std::string& path) const;
  YAML::Node tmpfs_options(const YAML::Node& in, const std::string& path) const;
  YAML::Node deploy(const YAML::Node& in, const std::string& path) const;
  YAML::Node deploy_resources(const YAML::Node& in, const std::string& path) const;
  YAML::Node deploy_resource(const YAML::Node& in, const std::string& path) const;
  YAML::Node deploy_update(const YAML::Node& in, const std::string& path) const;
  YAML::Node deploy_restart(const YAML::Node& in, const std::string& path) const;
};

void Canonicalizer::expect_map(const YAML::Node& node, const std::string& path) const {
  if (!node.IsMap()) {
    fail(node, path, fmt::format("expected a mapping, got {}", kind_name(node)));
  }
}

void Canonicalizer::expect_sequence(const YAML::Node& node, const std::string& path) const {
  if (!node.IsSequence()) {
    fail(node, path, fmt::format("expected a sequence, got {}", kind_name(node)));
  }
}

void Canonicalizer::expect_string(const YAML::Node& node, const std::string& path) const {
  if (!node.IsScalar() || is_null(node)) {
    fail(node, path, fmt::format("expected a string, got {}", kind_name(node)));
  }
}

/// Runs one transform on a key's value, honouring the merge tags and keeping nulls.
YAML::Node Canonicalizer::apply(Transform fn, const YAML::Node& value,
                                const std::string& path) const {
  if (value.Tag() == "!reset" || is_null(value)) {
    return keep(value);
  }
  YAML::Node out = (this->*fn)(value, path);
  if (value.Tag() == "!override" && out.Tag() != "!override") {
    out.SetTag("!override");  // `out` is new here: a kept node would already carry the tag
  }
  return out;
}

/// A mapping whose keys listed in `table` are transformed; other keys are kept as they are.
YAML::Node Canonicalizer::by_table(const YAML::Node& map, const std::string& path,
                                   const KeyTable& table) const {
  expect_map(map, path);
  YAML::Node out = new_node(YAML::NodeType::Map);
  for (const auto& entry : map) {
    const std::string& key = entry.first.Scalar();
    Transform fn = nullptr;
    for (const auto& [name, transform] : table) {
      if (name == key) {
        fn = transform;
      }
    }
    // The input's own key node: keys are never changed, and a new string key would cost
    // yaml-cpp a memory pool of its own.
    out.force_insert(entry.first,
                     fn ? apply(fn, entry.second, join_path(path, key)) : keep(entry.second));
  }
  return out;
}

std::string Canonicalizer::resolve_path(std::string_view path) const {
  if (path.starts_with('~')) {
    // Like compose-go ExpandUser: "~", "~/x" and also "~x" are taken relative to $HOME.
    return clean_path(fmt::format("{}/{}", m_ctx.home_dir, path.substr(1)));
  }
  if (path.starts_with('/')) {
    return clean_path(path);
  }
  return clean_path(fmt::format("{}/{}", m_ctx.base_dir, path));
}

YAML::Node Canonicalizer::host_path(const YAML::Node& in, const std::string& path) const {
  expect_string(in, path);
  return string_at(in, resolve_path(in.Scalar()));
}

// ---- generic shapes -------------------------------------------------------------------------

YAML::Node Canonicalizer::string_list(const YAML::Node& in, const std::string& path) const {
  expect_sequence(in, path);
  YAML::Node out = new_node(YAML::NodeType::Sequence);
  for (std::size_t i = 0; i < in.size(); ++i) {
    expect_string(in[i], index_path(path, i));
    out.push_back(string_at(in[i], in[i].Scalar()));
  }
  return out;
}

YAML::Node Canonicalizer::string_or_list(const YAML::Node& in, const std::string& path) const {
  if (in.IsSequence()) {
    return string_list(in, path);
  }
  expect_string(in, path);
  YAML::Node out = new_node(YAML::NodeType::Sequence);
  out.push_back(string_at(in, in.Scalar()));
  return out;
}

YAML::Node Canonicalizer::path_list(const YAML::Node& in, const std::string& path) const {
  const YAML::Node list = string_or_list(in, path);
  YAML::Node out = new_node(YAML::NodeType::Sequence);
  for (std::size_t i = 0; i < list.size(); ++i) {
    out.push_back(string_at(list[i], resolve_path(list[i].Scalar())));
  }
  return out;
}

/// `["A=1", "B"]` or `{A: 1, B: null}` -> `{A: "1", B: null}`.
YAML::Node Canonicalizer::mapping(const YAML::Node& in, const std::string& path) const {
  if (in.IsSequence()) {
    Entries out;
    for (std::size_t i = 0; i < in.size(); ++i) {
      expect_string(in[i], index_path(path, i));
      const std::string& item = in[i].Scalar();
      const std::size_t equals = item.find('=');
      out.set(item.substr(0, equals), equals == std::string::npos
                                          ? null_node()
                                          : string_at(in[i], item.substr(equals + 1)));
    }
    return out.to_map();
  }
  expect_map(in, path);
  YAML::Node out = new_node(YAML::NodeType::Map);
  for (const auto& entry : in) {
    const std::string& key = entry.first.Scalar();
    const YAML::Node& value = entry.second;
    // `KEY: !reset` (an empty tagged scalar) must reach merge with its tag to remove KEY.
    if (is_null(value) || value.Tag() == "!reset" || value.Tag() == "!override") {
      out.force_insert(entry.first, keep(value));
      continue;
    }
    if (!value.IsScalar()) {
      fail(value, join_path(path, key),
           fmt::format("expected a string, number, boolean or null, got {}", kind_name(value)));
    }
    out.force_insert(entry.first, string_at(value, value.Scalar()));
  }
  return out;
}

/// Labels, annotations and sysctls: a mapping whose `KEY` without a value is "" (compose-go
/// holds them as map[string]string), where environment and build args keep it null (unset).
YAML::Node Canonicalizer::labels(const YAML::Node& in, const std::string& path) const {
  const YAML::Node map = mapping(in, path);
  YAML::Node out = new_node(YAML::NodeType::Map);
  for (const auto& entry : map) {
    const bool tagged = entry.second.Tag() == "!reset" || entry.second.Tag() == "!override";
    out.force_insert(entry.first,
                     entry.second.IsNull() && !tagged ? string_node("") : entry.second);
  }
  return out;
}

YAML::Node Canonicalizer::duration(const YAML::Node& in, const std::string& path) const {
  expect_string(in, path);
  const auto nanoseconds = parse_duration(in.Scalar());
  if (!nanoseconds) {
    fail(in, path, fmt::format("invalid duration \"{}\"", in.Scalar()));
  }
  return string_at(in, format_duration(*nanoseconds));
}

YAML::Node Canonicalizer::bytes(const YAML::Node& in, const std::string& path) const {
  expect_string(in, path);
  const std::string& text = in.Scalar();
  if (is_integer(text)) {
    // Plain integers (including -1, "unlimited" for memswap_limit) are byte counts already.
    std::int64_t value = 0;
    const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
    if (std::from_chars(begin, text.data() + text.size(), value).ec == std::errc{}) {
      return string_at(in, fmt::format("{}", value));
    }
  }
  const auto value = parse_bytes(text);
  if (!value) {
    fail(in, path, fmt::format("invalid byte size \"{}\"", text));
  }
  return string_at(in, fmt::format("{}", *value));
}

YAML::Node Canonicalizer::cpus(const YAML::Node& in, const std::string& path) const {
  expect_string(in, path);
  const auto text = format_cpus(in.Scalar());
  if (!text) {
    fail(in, path, fmt::format("invalid cpus \"{}\"", in.Scalar()));
  }
  return plain_at(in, *text);
}

// ---- top level ------------------------------------------------------------------------------

YAML::Node Canonicalizer::document(const YAML::Node& doc) const {
  if (!doc.IsDefined() || is_null(doc)) {
    return keep(doc);
  }
  if (!doc.IsMap()) {
    throw Error(fmt::format("{}: expected a mapping at the top level, got {}",
                            where(m_ctx.file, doc), kind_name(doc)));
  }
  static const KeyTable k_top{
      {"services", &Canonicalizer::services}, {"networks", &Canonicalizer::resources},
      {"volumes", &Canonicalizer::resources}, {"secrets", &Canonicalizer::resources},
      {"configs", &Canonicalizer::resources},
  };
  return by_table(doc, "", k_top);
}

YAML::Node Canonicalizer::services(const YAML::Node& in, const std::string& path) const {
  expect_map(in, path);
  YAML::Node out = new_node(YAML::NodeType::Map);
  for (const auto& entry : in) {
    const std::string& name = entry.first.Scalar();
    out.force_insert(entry.first,
                     apply(&Canonicalizer::service, entry.second, join_path(path, name)));
  }
  return out;
}

/// Top-level networks/volumes/secrets/configs: each entry canonicalised, null -> {} for
/// networks and volumes.
YAML::Node Canonicalizer::resources(const YAML::Node& in, const std::string& path) const {
  expect_map(in, path);
  const bool is_file_object = path == "secrets" || path == "configs";
  YAML::Node out = new_node(YAML::NodeType::Map);
  for (const auto& entry : in) {
    const std::string& name = entry.first.Scalar();
    const YAML::Node& value = entry.second;
    const std::string item_path = join_path(path, name);
    if (!is_file_object && is_null(value) && value.Tag() != "!reset") {
      out.force_insert(name, new_node(YAML::NodeType::Map));
      continue;
    }
    out.force_insert(
        name, apply(is_file_object ? &Canonicalizer::file_object : &Canonicalizer::resource, value,
                    item_path));
  }
  return out;
}

/// Legacy `external: {name: x}` -> `external: true` plus `name: x`; `labels` as a mapping.
Entries Canonicalizer::external_resource(const YAML::Node& in, const std::string& path) const {
  expect_map(in, path);
  Entries out = Entries::of(in);
  if (const auto labels = lookup(in, "labels")) {
    // A list here would also stop merge from combining it with a mapping from another file.
    out.set("labels", apply(&Canonicalizer::labels, *labels, join_path(path, "labels")));
  }
  const auto external = lookup(in, "external");
  if (!external || !external->IsMap()) {
    return out;
  }
  out.set("external", plain_node("true"));
  const auto legacy_name = lookup(*external, "name");
  if (!legacy_name) {
    return out;
  }
  const auto name = lookup(in, "name");
  if (name && name->Scalar() != legacy_name->Scalar()) {
    fail(*legacy_name, join_path(path, "external.name"),
         fmt::format("conflicts with name \"{}\"; only use name", name->Scalar()));
  }
  out.set("name", string_at(*legacy_name, legacy_name->Scalar()));
  return out;
}

YAML::Node Canonicalizer::resource(const YAML::Node& in, const std::string& path) const {
  Entries out = external_resource(in, path);
  // A local volume bound to a host directory names that directory in driver_opts.device.
  const auto driver = lookup(in, "driver");
  const auto options = lookup(in, "driver_opts");
  if (driver && driver->Scalar() == "local" && options && options->IsMap()) {
    const auto o = lookup(*options, "o");
    const auto device = lookup(*options, "device");
    if (o && o->Scalar() == "bind" && device && device->IsScalar() && !is_null(*device)) {
      Entries opts = Entries::of(*options);
      opts.set("device", string_at(*device, resolve_path(device->Scalar())));
      out.set("driver_opts", opts.to_map());
    }
  }
  return out.to_map();
}

YAML::Node Canonicalizer::file_object(const YAML::Node& in, const std::string& path) const {
  Entries out = external_resource(in, path);
  if (const auto file = lookup(in, "file"); file && !is_null(*file)) {
    out.set("file", host_path(*file, join_path(path, "file")));
  }
  return out.to_map();
}

// ---- services -------------------------------------------------------------------------------

YAML::Node Canonicalizer::service(const YAML::Node& in, const std::string& path) const {
  static const KeyTable k_service{
      {"annotations", &Canonicalizer::labels},
      {"build", &Canonicalizer::build},
      {"command", &Canonicalizer::command},
      {"configs", &Canonicalizer::file_mounts},
      {"cpus", &Canonicalizer::cpus},
      {"depends_on", &Canonicalizer::depends_on},
      {"deploy", &Canonicalizer::deploy},
      {"devices", &Canonicalizer::devices},
      {"dns", &Canonicalizer::string_or_list},
      {"dns_search", &Canonicalizer::string_or_list},
      {"entrypoint", &Canonicalizer::command},
      {"env_file", &Canonicalizer::env_files},
      {"environment", &Canonicalizer::mapping},
      {"expose", &Canonicalizer::string_or_list},
      {"extra_hosts", &Canonicalizer::extra_hosts},
      {"healthcheck", &Canonicalizer::healthcheck},
      {"label_file", &Canonicalizer::path_list},
      {"labels", &Canonicalizer::labels},
      {"mem_limit", &Canonicalizer::bytes},
      {"mem_reservation", &Canonicalizer::bytes},
      {"memswap_limit", &Canonicalizer::bytes},
      {"networks", &Canonicalizer::networks},
      {"ports", &Canonicalizer::ports},
      {"secrets", &Canonicalizer::file_mounts},
      {"shm_size", &Canonicalizer::bytes},
      {"stop_grace_period", &Canonicalizer::duration},
      {"sysctls", &Canonicalizer::labels},
      {"tmpfs", &Canonicalizer::string_or_list},
      {"ulimits", &Canonicalizer::ulimits},
      {"volumes", &Canonicalizer::volumes},
  };
  return by_table(in, path, k_service);
}

YAML::Node Canonicalizer::build(const YAML::Node& in, const std::string& path) const {
  static const KeyTable k_build{
      {"context", &Canonicalizer::build_context},
      {"args", &Canonicalizer::mapping},
      {"labels", &Canonicalizer::labels},
      {"extra_hosts", &Canonicalizer::extra_hosts},
      {"shm_size", &Canonicalizer::bytes},
      {"additional_contexts", &Canonicalizer::additional_contexts},
      {"ssh", &Canonicalizer::ssh},
      {"secrets", &Canonicalizer::file_mounts},
      {"ulimits", &Canonicalizer::ulimits},
  };
  YAML::Node out = new_node(YAML::NodeType::Map);
  if (in.IsScalar()) {
    out["context"] = build_context(in, join_path(path, "context"));
    return out;
  }
  const YAML::Node built = by_table(in, path, k_build);
  // compose-go defaults a missing context to ".", the directory of the file.
  out["context"] = built["context"].IsDefined() ? built["context"] : string_node(resolve_path("."));
  for (const auto& entry : built) {
    if (entry.first.Scalar() != "context") {
      out.force_insert(entry.first, entry.second);
    }
  }
  return out;
}

YAML::Node Canonicalizer::build_context(const YAML::Node& in, const std::string& path) const {
  expect_string(in, path);
  if (is_remote_context(in.Scalar())) {
    return keep(in);
  }
  return host_path(in, path);
}

YAML::Node Canonicalizer::additional_contexts(const YAML::Node& in, const std::string& path) const {
  const YAML::Node contexts = mapping(in, path);
  YAML::Node out = new_node(YAML::NodeType::Map);
  for (const auto& entry : contexts) {
    const std::string& name = entry.first.Scalar();
    out[name] =
        is_null(entry.second) ? entry.second : build_context(entry.second, join_path(path, name));
  }
  return out;
}

/// `[default, "key=path"]` -> `{default: null, key: <abs path>}`.
YAML::Node Canonicalizer::ssh(const YAML::Node& in, const std::string& path) const {
  YAML::Node out = new_node(YAML::NodeType::Map);
  if (in.IsSequence()) {
    for (std::size_t i = 0; i < in.size(); ++i) {
      expect_string(in[i], index_path(path, i));
      const std::string& item = in[i].Scalar();
      const std::size_t equals = item.find('=');
      if (equals == std::string::npos && item != "default") {
        fail(in[i], index_path(path, i),
             fmt::format("invalid ssh key \"{}\": expected default or <id>=<path>", item));
      }
      out[item.substr(0, equals)] = equals == std::string::npos
                                        ? null_node()
                                        : string_at(in[i], resolve_path(item.substr(equals + 1)));
    }
    return out;
  }
  expect_map(in, path);
  for (const auto& entry : in) {
    const std::string& id = entry.first.Scalar();
    out[id] =
        is_null(entry.second) ? keep(entry.second) : host_path(entry.second, join_path(path, id));
  }
  return out;
}

YAML::Node Canonicalizer::command(const YAML::Node& in, const std::string& path) const {
  if (in.IsSequence()) {
    return string_list(in, path);
  }
  expect_string(in, path);
  std::vector<std::string> words;
  try {
    words = split_shell_words(in.Scalar());
  } catch (const Error& e) {
    fail(in, path, fmt::format("cannot split \"{}\" into words: {}", in.Scalar(), e.what()));
  }
  YAML::Node out = new_node(YAML::NodeType::Sequence);
  for (const std::string& word : words) {
    out.push_back(string_node(word));
  }
  return out;
}

YAML::Node Canonicalizer::depends_on(const YAML::Node& in, const std::string& path) const {
  YAML::Node out = new_node(YAML::NodeType::Map);
  if (in.IsSequence()) {
    for (std::size_t i = 0; i < in.size(); ++i) {
      expect_string(in[i], index_path(path, i));
      YAML::Node dependency = new_node(YAML::NodeType::Map);
      dependency.force_insert(key_node("condition"), string_node("service_started"));
      dependency.force_insert(key_node("required"), plain_node("true"));
      out[in[i].Scalar()] = dependency;
    }
    return out;
  }
  expect_map(in, path);
  for (const auto& entry : in) {
    const std::string& name = entry.first.Scalar();
    const std::string item_path = join_path(path, name);
    if (entry.second.Tag() == "!reset") {
      out[name] = keep(entry.second);
      continue;
    }
    out[name] = dependency(entry.second, item_path);
    if (entry.second.Tag() == "!override") {
      out[name].SetTag("!override");
    }
  }
  return out;
}

YAML::Node Canonicalizer::dependency(const YAML::Node& in, const std::string& path) const {
  expect_map(in, path);
  Entries out = Entries::of(in);
  out.set_default("condition", string_node("service_started"));
  out.set_default("required", plain_node("true"));
  return out.to_map({"condition", "required", "restart"});
}

YAML::Node Canonicalizer::devices(const YAML::Node& in, const std::string& path) const {
  expect_sequence(in, path);
  YAML::Node out = new_node(YAML::NodeType::Sequence);
  for (std::size_t i = 0; i < in.size(); ++i) {
    out.push_back(apply(&Canonicalizer::device, in[i], index_path(path, i)));
  }
  return out;
}

/// "/dev/a[:/dev/b[:rwm]]" or `{source, target?, permissions?}`.
YAML::Node Canonicalizer::device(const YAML::Node& in, const std::string& path) const {
  if (in.IsScalar()) {
    Entries out;
    const std::vector<std::string_view> parts = split(in.Scalar(), ':');
    if (parts.size() > 3) {
      fail(in, path,
           fmt::format("invalid device \"{}\": too many colons, use the long syntax", in.Scalar()));
    }
    out.set("source", string_node(parts[0]));
    out.set("target", string_node(parts.size() > 1 ? parts[1] : parts[0]));
    out.set("permissions", string_node(parts.size() > 2 ? parts[2] : "rwm"));
    return out.to_map();
  }
  expect_map(in, path);
  Entries out = Entries::of(in);
  if (const auto source = lookup(in, "source")) {
    // A fresh node: sharing one node twice would make the emitter write an anchor and alias.
    out.set_default("target", string_node(source->Scalar()));
  }
  out.set_default("permissions", string_node("rwm"));
  return out.to_map({"source", "target", "permissions"});
}

YAML::Node Canonicalizer::env_files(const YAML::Node& in, const std::string& path) const {
  YAML::Node out = new_node(YAML::NodeType::Sequence);
  if (!in.IsSequence()) {
    out.push_back(env_file(in, path));
    return out;
  }
  for (std::size_t i = 0; i < in.size(); ++i) {
    out.push_back(env_file(in[i], index_path(path, i)));
  }
  return out;
}

YAML::Node Canonicalizer::env_file(const YAML::Node& in, const std::string& path) const {
  if (in.IsScalar() && !is_null(in)) {
    Entries out;
    out.set("path", host_path(in, path));
    out.set("required", plain_node("true"));
    return out.to_map();
  }
  expect_map(in, path);
  Entries out = Entries::of(in);
  if (const auto file = lookup(in, "path")) {
    out.set("path", host_path(*file, join_path(path, "path")));
  }
  out.set_default("required", plain_node("true"));
  return out.to_map({"path", "required", "format"});
}

/// `["host:ip", "host=ip"]` or `{host: ip}` -> `["host=ip"]`, in input order.
YAML::Node Canonicalizer::extra_hosts(const YAML::Node& in, const std::string& path) const {
  YAML::Node out = new_node(YAML::NodeType::Sequence);
  if (in.IsSequence()) {
    for (std::size_t i = 0; i < in.size(); ++i) {
      const std::string item_path = index_path(path, i);
      expect_string(in[i], item_path);
      const std::string& entry = in[i].Scalar();
      std::size_t separator = entry.find('=');
      if (separator == std::string::npos) {
        separator = entry.find(':');
      }
      if (separator == std::string::npos) {
        fail(in[i], item_path, fmt::format("invalid extra host \"{}\": missing IP address", entry));
      }
      const std::string_view host = std::string_view(entry).substr(0, separator);
      for (std::string_view ip : split(std::string_view(entry).substr(separator + 1), ',')) {
        add_host(out, in[i], item_path, host, ip, entry);
      }
    }
    return out;
  }
  expect_map(in, path);
  for (const auto& item : in) {
    const std::string& host = item.first.Scalar();
    const std::string item_path = join_path(path, host);
    const YAML::Node& value = item.second;
    if (value.IsSequence()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        expect_string(value[i], index_path(item_path, i));
        add_host(out, value[i], item_path, host, value[i].Scalar(), host);
      }
    } else if (is_null(value)) {
      add_host(out, value, item_path, host, "", host);
    } else {
      expect_string(value, item_path);
      add_host(out, value, item_path, host, value.Scalar(), host);
    }
  }
  return out;
}

void Canonicalizer::add_host(YAML::Node& out, const YAML::Node& at, const std::string& path,
                             std::string_view host, std::string_view ip,
                             std::string_view entry) const {
  if (host.empty() || host.find_first_of(":=") != std::string_view::npos) {
    fail(at, path, fmt::format("invalid extra host \"{}\": bad host name \"{}\"", entry, host));
  }
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') {
    ip = ip.substr(1, ip.size() - 2);
  }
  out.push_back(string_at(at, fmt::format("{}={}", host, ip)));
}

YAML::Node Canonicalizer::healthcheck(const YAML::Node& in, const std::string& path) const {
  static const KeyTable k_healthcheck{
      {"test", &Canonicalizer::healthcheck_test},   {"interval", &Canonicalizer::duration},
      {"timeout", &Canonicalizer::duration},        {"start_period", &Canonicalizer::duration},
      {"start_interval", &Canonicalizer::duration},
  };
  const YAML::Node canonical = by_table(in, path, k_healthcheck);
  if (const auto disable = lookup(in, "disable"); !disable || !is_true(*disable)) {
    return canonical;
  }
  Entries out = Entries::of(canonical);
  YAML::Node none = new_node(YAML::NodeType::Sequence);
  none.push_back(string_node("NONE"));
  out.set("test", none);
  return out.to_map();
}

YAML::Node Canonicalizer::healthcheck_test(const YAML::Node& in, const std::string& path) const {
  if (in.IsSequence()) {
    return string_list(in, path);
  }
  expect_string(in, path);
  YAML::Node out = new_node(YAML::NodeType::Sequence);
  out.push_back(string_node("CMD-SHELL"));
  out.push_back(string_at(in, in.Scalar()));
  return out;
}

/// `[front, back]` -> `{front: null, back: null}`; a mapping is kept.
YAML::Node Canonicalizer::networks(const YAML::Node& in, const std::string& path) const {
  if (in.IsMap()) {
    return keep(in);
  }
  expect_sequence(in, path);
  YAML::Node out = new_node(YAML::NodeType::Map);
  for (std::size_t i = 0; i < in.size(); ++i) {
    expect_string(in[i], index_path(path, i));
    out[in[i].Scalar()] = null_node();
  }
  return out;
}

YAML::Node Canonicalizer::ports(const YAML::Node& in, const std::string& path) const {
  expect_sequence(in, path);
  YAML::Node out = new_node(YAML::NodeType::Sequence);
  for (std::size_t i = 0; i < in.size(); ++i) {
    const YAML::Node& item = in[i];
    const std::string item_path = index_path(path, i);
    if (item.IsMap()) {
      out.push_back(apply(&Canonicalizer::long_port, item, item_path));
      continue;
    }
    expect_string(item, item_path);
    std::vector<PortMapping> mappings;
    try {
      mappings = parse_port_spec(item.Scalar());
    } catch (const Error& e) {
      fail(item, item_path, e.what());
    }
    for (const PortMapping& mapping : mappings) {
      YAML::Node port = new_node(YAML::NodeType::Map);
      port.force_insert(key_node("mode"), string_node("ingress"));
      if (!mapping.host_ip.empty()) {
        port.force_insert(key_node("host_ip"), string_node(mapping.host_ip));
      }
      port.force_insert(key_node("target"), plain_node(fmt::format("{}", mapping.target)));
      if (!mapping.published.empty()) {
        port.force_insert(key_node("published"), string_node(mapping.published));
      }
      port.force_insert(key_node("protocol"), string_node(mapping.protocol));
      out.push_back(port);
    }
  }
  return out;
}

YAML::Node Canonicalizer::long_port(const YAML::Node& in, const std::string& path) const {
  Entries out = Entries::of(in);
  out.set_default("mode", string_node("ingress"));
  out.set_default("protocol", string_node("tcp"));
  if (const auto target = lookup(in, "target"); target && target->IsScalar()) {
    if (!parse_port_number(target->Scalar())) {
      fail(*target, join_path(path, "target"),
           fmt::format("invalid port \"{}\"", target->Scalar()));
    }
    out.set("target", plain_at(*target, target->Scalar()));
  }
  if (const auto published = lookup(in, "published");
      published && published->IsScalar() && !is_null(*published)) {
    out.set("published", string_at(*published, published->Scalar()));
  }
  return out.to_map({"mode", "host_ip", "target", "published", "protocol", "app_protocol", "name"});
}

YAML::Node Canonicalizer::file_mounts(const YAML::Node& in, const std::string& path) const {
  expect_sequence(in, path);
  YAML::Node out = new_node(YAML::NodeType::Sequence);
  for (std::size_t i = 0; i < in.size(); ++i) {
    out.push_back(apply(&Canonicalizer::file_mount, in[i], index_path(path, i)));
  }
  return out;
}

/// "name" -> `{source: name}`; the long form is kept.
YAML::Node Canonicalizer::file_mount(const YAML::Node& in, const std::string& path) const {
  if (in.IsScalar()) {
    Entries out;
    out.set("source", string_at(in, in.Scalar()));
    return out.to_map();
  }
  expect_map(in, path);
  Entries out = Entries::of(in);
  const auto mode = lookup(in, "mode");
  // A merge tag hides whether the value was quoted, so a tagged mode is left as it is.
  if (mode && mode->IsScalar() && !is_null(*mode) && mode->Tag() != "!reset" &&
      mode->Tag() != "!override") {
    // Kept as text, `mode: 288` would read back as the octal string "288" (no mode at all),
    // `mode: 440` as 0440; compose prints the value as a string of octal digits.
    const auto value = parse_file_mode(mode->Scalar(), is_quoted(*mode));
    if (!value) {
      fail(*mode, join_path(path, "mode"), fmt::format("invalid mode \"{}\"", mode->Scalar()));
    }
    out.set("mode", string_at(*mode, fmt::format("0{:o}", *value)));
  }
  return out.to_map({"source", "target", "uid", "gid", "mode"});
}

YAML::Node Canonicalizer::ulimits(const YAML::Node& in, const std::string& path) const {
  expect_map(in, path);
  YAML::Node out = new_node(YAML::NodeType::Map);
  for (const auto& entry : in) {
    const std::string& name = entry.first.Scalar();
    out.force_insert(entry.first,
                     apply(&Canonicalizer::ulimit, entry.second, join_path(path, name)));
  }
  return out;
}

/// `nofile: 1024` -> `nofile: {soft: 1024, hard: 1024}`.
YAML::Node Canonicalizer::ulimit(const YAML::Node& in, const std::string& path) const {
  if (in.IsScalar()) {
    Entries out;
    if (!is_integer(in.Scalar())) {
      fail(in, path, fmt::format("invalid ulimit \"{}\"", in.Scalar()));
    }
    out.set("soft", plain_at(in, in.Scalar()));
    out.set("hard", plain_node(in.Scalar()));  // not `in` again: no shared node, no alias
    return out.to_map();
  }
  expect_map(in, path);
  Entries out = Entries::of(in);
  return out.to_map({"soft", "hard"});
}

YAML::Node Canonicalizer::volumes(const YAML::Node& in, const std::string& path) const {
  expect_sequence(in, path);
  YAML::Node out = new_node(YAML::NodeType::Sequence);
  for (std::size_t i = 0; i < in.size(); ++i) {
    const Transform fn = in[i].IsMap() ? &Canonicalizer::long_volume : &Canonicalizer::short_volume;
    out.push_back(apply(fn, in[i], index_path(path, i)));
  }
  return out;
}

/// "[source:]target[:options]" per compose-go format/volume.go.
YAML::Node Canonicalizer::short_volume(const YAML::Node& in, const std::string& path) const {
  expect_string(in, path);
  const std::string& spec = in.Scalar();
  const std::vector<std::string> sections = split_volume_spec(spec);
  const auto bad = [&](std::string_view why) {
    fail(in, path, fmt::format("invalid volume \"{}\": {}", spec, why));
  };
  if (spec.empty()) {
    bad("empty specification");
  }
  if (sections.size() > 3) {
    bad("too many colons");
  }
  for (const std::string& section : sections) {
    if (section.empty()) {
      bad("empty section between colons");
    }
  }
  const std::string source = sections.size() > 1 ? sections[0] : "";
  const std::string target = sections.size() > 1 ? sections[1] : sections[0];
  bool read_only = false;
  Entries bind;
  Entries volume;
  bool has_bind = false;
  bool has_volume = false;
  if (sections.size() == 3) {
    for (std::string_view option : split(sections[2], ',')) {
      if (option == "ro" || option == "rw") {
        read_only = option == "ro";
      } else if (option == "nocopy") {
        volume.set("nocopy", plain_node("true"));
        has_volume = true;
      } else if (is_propagation(option)) {
        bind.set("propagation", string_node(option));
        has_bind = true;
      } else if (option == "z" || option == "Z") {
        bind.set("selinux", string_node(option));
        has_bind = true;
      }
      // compose-go ignores unknown options; so do we, to accept the same files.
    }
  }
  Entries out;
  const bool is_bind = looks_like_path(source);
  out.set("type", string_node(is_bind ? "bind" : "volume"));
  if (!source.empty()) {
    out.set("source", string_node(is_bind ? resolve_path(source) : source));
  }
  out.set("target", string_node(clean_path(target)));
  if (read_only) {
    out.set("read_only", plain_node("true"));
  }
  if (is_bind) {
    bind.set("create_host_path", plain_node("true"));
    has_bind = true;
  } else {
    has_volume = true;
  }
  if (has_bind) {
    out.set("bind", bind.to_map({"create_host_path", "propagation", "selinux"}));
  }
  if (has_volume) {
    out.set("volume", volume.to_map());
  }
  return out.to_map();
}

YAML::Node Canonicalizer::long_volume(const YAML::Node& in, const std::string& path) const {
  Entries out = Entries::of(in);
  const auto type = lookup(in, "type");
  const auto source = lookup(in, "source");
  if (type && type->Scalar() == "bind" && source && !is_null(*source)) {
    out.set("source", host_path(*source, join_path(path, "source")));
  }
  if (const auto tmpfs = lookup(in, "tmpfs"); tmpfs && !is_null(*tmpfs)) {
    out.set("tmpfs", apply(&Canonicalizer::tmpfs_options, *tmpfs, join_path(path, "tmpfs")));
  }
  return out.to_map(
      {"type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs", "image"});
}

YAML::Node Canonicalizer::tmpfs_options(const YAML::Node& in, const std::string& path) const {
  static const KeyTable k_tmpfs{{"size", &Canonicalizer::bytes}};
  return by_table(in, path, k_tmpfs);
}

YAML::Node Canonicalizer::deploy(const YAML::Node& in, const std::string& path) const {
  static const KeyTable k_deploy{
      {"labels", &Canonicalizer::labels},
      {"resources", &Canonicalizer::deploy_resources},
      {"update_config", &Canonicalizer::deploy_update},
      {"rollback_config", &Canonicalizer::deploy_update},
      {"restart_policy", &Canonicalizer::deploy_restart},
  };
  return by_table(in, path, k_deploy);
}

YAML::Node Canonicalizer::deploy_resources(const YAML::Node& in, const std::string& path) const {
  static const KeyTable k_resources{
      {"limits", &Canonicalizer::deploy_resource},
      {"reservations", &Canonicalizer::deploy_resource},
  };
  return by_table(in, path, k_resources);
}

YAML::Node Canonicalizer::deploy_resource(const YAML::Node& in, const std::string& path) const {
  static const KeyTable k_resource{
      {"memory", &Canonicalizer::bytes},
      {"cpus", &Canonicalizer::cpus},
  };
  return by_table(in, path, k_resource);
}

YAML::Node Canonicalizer::deploy_update(const YAML::Node& in, const std::string& path) const {
  static const KeyTable k_update{
      {"delay", &Canonicalizer::duration},
      {"monitor", &Canonicalizer::duration},
  };
  return by_table(in, path, k_update);
}

YAML::Node Canonicalizer::deploy_restart(const YAML::Node& in, const std::string& path) const {
  static const KeyTable k_restart{
      {"delay", &Canonicalizer::duration},
      {"window", &Canonicalizer::duration},
  };
  return by_table(in, path, k_restart);
}

}  // namespace

std::string clean_path(std::string_view path) {
  const bool rooted = path.starts_with('/');
  std::vector<std::string_view> parts;
  for (std::string_view part : split(path, '/')) {
    if (part.empty() || part == ".") {
      continue;
    }
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(part);
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string out = rooted ? "/" : "";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    out += (i == 0 ? "" : "/");
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

YAML::Node canonicalize(const YAML::Node& document, const CanonicalContext& ctx) {
  return Canonicalizer(ctx).document(document);
}

}  // namespace berth::compose
