#include "orchestrator/compose/schema.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "orchestrator/compose/yaml_util.h"
#include "util/error.h"

namespace berth::compose::schema {
namespace {

// How a scalar in a slot is checked (and, for canonical_scalar_kind, how it prints).
enum class Scalar { None, Text, Integer, Number, Boolean };

// Which keys a mapping-of-named-entries accepts (the specification's patternProperties).
enum class Keys {
  Name,      // ^[a-zA-Z0-9._-]+$ (services, networks, volumes, ...)
  NonEmpty,  // ^.+$ / .+ (labels, driver options, ...)
  Lower,     // ^[a-z]+$ (ulimits)
};

// One node of the schema. A value may be several things at once (the specification's oneOf
// and type lists); every oneOf in the specification differs by YAML kind, so one record with
// a part per kind (scalar, sequence, mapping, null) describes it.
struct Shape {
  Scalar scalar = Scalar::None;
  // Only a plain scalar will do: the specification allows no string here, so a quoted value
  // (which YAML makes a string) is rejected.
  bool strict = false;
  std::vector<std::string_view> choices{};  // enum of the scalar
  std::optional<long long> min{};
  std::optional<long long> max{};
  bool null_ok = false;
  const Shape* items = nullptr;  // a sequence of these is allowed
  bool unique = false;           // uniqueItems
  bool mapping = false;          // a mapping is allowed
  std::vector<std::pair<std::string_view, const Shape*>> fields{};  // its known keys
  bool extensions = false;        // `x-` keys are allowed (patternProperties ^x-)
  const Shape* values = nullptr;  // value of other keys matching `keys`
  Keys keys = Keys::NonEmpty;
  bool open = false;  // keys matching nothing are accepted unchecked (no additionalProperties)
  std::vector<std::string_view> required{};
  std::vector<std::string_view> required_any{};  // at least one of these keys
};

using Fields = std::vector<std::pair<std::string_view, const Shape*>>;

constexpr int k_max_depth = 200;
constexpr std::size_t k_max_quoted = 60;
// Node visits allowed when comparing the items of one sequence for uniqueness: aliases can
// make a small file describe an exponentially large tree.
constexpr std::size_t k_compare_budget = 100'000;

// The whole specification, built once. Shapes point at each other, so they live in a deque
// (stable addresses) inside an object that is never moved.
class Table {
 public:
  Table();
  const Shape* root() const { return m_root; }

 private:
  const Shape* add(Shape shape) {
    m_shapes.push_back(std::move(shape));
    return &m_shapes.back();
  }
  const Shape* scalar(Scalar kind, bool strict = false) {
    return add({.scalar = kind, .strict = strict});
  }
  const Shape* choice(std::vector<std::string_view> choices) {
    return add({.scalar = Scalar::Text, .choices = std::move(choices)});
  }
  const Shape* ranged(std::optional<long long> min, std::optional<long long> max) {
    return add({.scalar = Scalar::Integer, .min = min, .max = max});
  }
  const Shape* list(const Shape* items, bool unique = false) {
    return add({.items = items, .unique = unique});
  }
  // A mapping with known keys; `extensions` tells whether `x-` keys are allowed.
  const Shape* record(Fields fields, bool extensions = true,
                      std::vector<std::string_view> required = {}) {
    return add({.mapping = true,
                .fields = std::move(fields),
                .extensions = extensions,
                .required = std::move(required)});
  }
  // A mapping of named entries (patternProperties), closed unless `open`.
  const Shape* named(const Shape* values, Keys keys = Keys::NonEmpty, bool open = false) {
    return add({.mapping = true, .values = values, .keys = keys, .open = open});
  }
  // The union of alternatives that differ by YAML kind.
  const Shape* either(std::initializer_list<const Shape*> alternatives);

  void build_common();
  void build_service_parts();
  const Shape* build_service();
  const Shape* build_build();
  const Shape* build_deploy();
  const Shape* build_volumes();
  void build_top_level_parts();

  std::deque<Shape> m_shapes;
  const Shape* m_root = nullptr;

  // Shared definitions (the specification's #/definitions).
  const Shape* m_text = nullptr;
  const Shape* m_nullable_text = nullptr;
  const Shape* m_integer = nullptr;
  const Shape* m_number = nullptr;
  const Shape* m_boolean = nullptr;
  const Shape* m_strings = nullptr;         // array of strings
  const Shape* m_unique_strings = nullptr;  // list_of_strings
  const Shape* m_string_or_list = nullptr;
  const Shape* m_list_or_dict = nullptr;
  const Shape* m_extra_hosts = nullptr;
  const Shape* m_command = nullptr;
  const Shape* m_hook = nullptr;
  const Shape* m_env_file = nullptr;
  const Shape* m_label_file = nullptr;
  const Shape* m_config_or_secret = nullptr;
  const Shape* m_ulimits = nullptr;
  const Shape* m_devices = nullptr;
  const Shape* m_gpus = nullptr;
  const Shape* m_generic_resources = nullptr;
  const Shape* m_healthcheck = nullptr;
  const Shape* m_development = nullptr;
  const Shape* m_options = nullptr;  // driver_opts: ^.+$ -> string or number
  const Shape* m_blkio = nullptr;
  const Shape* m_include = nullptr;
  const Shape* m_network = nullptr;
  const Shape* m_volume = nullptr;
  const Shape* m_secret = nullptr;
  const Shape* m_config = nullptr;
  const Shape* m_model = nullptr;
};

const Shape* Table::either(std::initializer_list<const Shape*> alternatives) {
  Shape merged;
  for (const Shape* alternative : alternatives) {
    const Shape& a = *alternative;
    if (a.scalar != Scalar::None) {
      merged.scalar = a.scalar;
      merged.strict = a.strict;
      merged.choices = a.choices;
      merged.min = a.min;
      merged.max = a.max;
    }
    if (a.items != nullptr) {
      merged.items = a.items;
      merged.unique = a.unique;
    }
    if (a.mapping) {
      merged.mapping = true;
      merged.fields = a.fields;
      merged.extensions = a.extensions;
      merged.values = a.values;
      merged.keys = a.keys;
      merged.open = a.open;
      merged.required = a.required;
      merged.required_any = a.required_any;
    }
    merged.null_ok = merged.null_ok || a.null_ok;
  }
  return add(std::move(merged));
}

Table::Table() {
  build_common();
  build_service_parts();
  build_top_level_parts();
  const Shape* service = build_service();
  m_root = record({
      {"version", m_text},
      {"name", m_text},
      {"include", list(m_include)},
      {"services", named(service, Keys::Name)},
      {"models", named(m_model, Keys::Name, true)},
      {"networks", named(m_network, Keys::Name, true)},
      {"volumes", named(m_volume, Keys::Name)},
      {"secrets", named(m_secret, Keys::Name)},
      {"configs", named(m_config, Keys::Name)},
  });
}

void Table::build_common() {
  m_text = scalar(Scalar::Text);
  m_nullable_text = add({.scalar = Scalar::Text, .null_ok = true});
  m_integer = scalar(Scalar::Integer);
  m_number = scalar(Scalar::Number);
  m_boolean = scalar(Scalar::Boolean);
  m_strings = list(m_text);
  m_unique_strings = list(m_text, true);
  m_string_or_list = either({m_text, m_unique_strings});
  // list_or_dict values are string, number, boolean or null: all print as strings.
  m_list_or_dict = either({named(m_nullable_text), m_unique_strings});
  m_extra_hosts = either({named(either({m_text, m_strings})), m_unique_strings});
  m_command = either({add({.null_ok = true}), m_text, m_strings});
  m_options = named(m_text, Keys::NonEmpty, true);
  m_hook = record({{"command", m_command},
                   {"user", m_text},
                   {"privileged", m_boolean},
                   {"working_dir", m_text},
                   {"environment", m_list_or_dict}},
                  true, {"command"});
}

void Table::build_service_parts() {
  const Shape* env_file_entry =
      record({{"path", m_text}, {"format", m_text}, {"required", m_boolean}}, false, {"path"});
  m_env_file = either({m_text, list(either({m_text, env_file_entry}))});
  m_label_file = either({m_text, m_strings});
  m_config_or_secret = list(either({m_text, record({{"source", m_text},
                                                    {"target", m_text},
                                                    {"uid", m_text},
                                                    {"gid", m_text},
                                                    {"mode", m_text}})}));
  const Shape* ulimit_pair =
      record({{"hard", m_integer}, {"soft", m_integer}}, true, {"soft", "hard"});
  m_ulimits = named(either({m_integer, ulimit_pair}), Keys::Lower, true);
  const Fields device_fields = {{"capabilities", m_unique_strings},
                                {"count", m_text},
                                {"device_ids", m_unique_strings},
                                {"driver", m_text},
                                {"options", m_list_or_dict}};
  Shape device{.mapping = true,
               .fields = device_fields,
               .extensions = true,
               .required_any = {"capabilities", "driver"}};
  m_devices = list(add(std::move(device)));
  // The specification puts additionalProperties on the gpus array, where it means nothing;
  // the entries are checked like deploy devices (known keys and x- only).
  m_gpus = either({choice({"all"}), list(record(device_fields))});
  const Shape* discrete = record({{"kind", m_text}, {"value", m_integer}});
  m_generic_resources = list(record({{"discrete_resource_spec", discrete}}));
  m_healthcheck = record({{"disable", m_boolean},
                          {"interval", m_text},
                          {"retries", m_integer},
                          {"test", either({m_text, m_strings})},
                          {"timeout", m_text},
                          {"start_period", m_text},
                          {"start_interval", m_text}});
  const Shape* watch =
      record({{"ignore", m_string_or_list},
              {"include", m_string_or_list},
              {"path", m_text},
              {"action", choice({"rebuild", "sync", "restart", "sync+restart", "sync+exec"})},
              {"target", m_text},
              {"exec", m_hook}},
             true, {"path", "action"});
  m_development = either({add({.null_ok = true}), record({{"watch", list(watch)}})});
  const Shape* blkio_limit = record({{"path", m_text}, {"rate", m_text}}, false);
  const Shape* blkio_weight = record({{"path", m_text}, {"weight", m_integer}}, false);
  m_blkio = record({{"device_read_bps", list(blkio_limit)},
                    {"device_read_iops", list(blkio_limit)},
                    {"device_write_bps", list(blkio_limit)},
                    {"device_write_iops", list(blkio_limit)},
                    {"weight", m_integer},
                    {"weight_device", list(blkio_weight)}},
                   false);
}

const Shape* Table::build_build() {
  return either({m_text, record({{"context", m_text},
                                 {"dockerfile", m_text},
                                 {"dockerfile_inline", m_text},
                                 {"entitlements", m_strings},
                                 {"args", m_list_or_dict},
                                 {"ssh", m_list_or_dict},
                                 {"labels", m_list_or_dict},
                                 {"cache_from", m_strings},
                                 {"cache_to", m_strings},
                                 {"no_cache", m_boolean},
                                 {"additional_contexts", m_list_or_dict},
                                 {"network", m_text},
                                 {"provenance", m_text},
                                 {"sbom", m_text},
                                 {"pull", m_boolean},
                                 {"target", m_text},
                                 {"shm_size", m_text},
                                 {"extra_hosts", m_extra_hosts},
                                 {"isolation", m_text},
                                 {"privileged", m_boolean},
                                 {"secrets", m_config_or_secret},
                                 {"tags", m_strings},
                                 {"ulimits", m_ulimits},
                                 {"platforms", m_strings}})});
}

const Shape* Table::build_deploy() {
  const Shape* update = record({{"parallelism", m_integer},
                                {"delay", m_text},
                                {"failure_action", m_text},
                                {"monitor", m_text},
                                {"max_failure_ratio", m_number},
                                {"order", choice({"start-first", "stop-first"})}});
  const Shape* limits = record({{"cpus", m_number}, {"memory", m_text}, {"pids", m_integer}});
  const Shape* reservations = record({{"cpus", m_number},
                                      {"memory", m_text},
                                      {"generic_resources", m_generic_resources},
                                      {"devices", m_devices}});
  const Shape* preference = record({{"spread", m_text}});
  return either(
      {add({.null_ok = true}),
       record({{"mode", m_text},
               {"endpoint_mode", m_text},
               {"replicas", m_integer},
               {"labels", m_list_or_dict},
               {"rollback_config", update},
               {"update_config", update},
               {"resources", record({{"limits", limits}, {"reservations", reservations}})},
               {"restart_policy", record({{"condition", m_text},
                                          {"delay", m_text},
                                          {"max_attempts", m_integer},
                                          {"window", m_text}})},
               {"placement", record({{"constraints", m_strings},
                                     {"preferences", list(preference)},
                                     {"max_replicas_per_node", m_integer}})}})});
}

const Shape* Table::build_volumes() {
  const Shape* bind =
      record({{"propagation", m_text},
              {"create_host_path", m_boolean},
              {"recursive", choice({"enabled", "disabled", "writable", "readonly"})},
              {"selinux", choice({"z", "Z"})}});
  const Shape* volume =
      record({{"labels", m_list_or_dict}, {"nocopy", m_boolean}, {"subpath", m_text}});
  const Shape* tmpfs = record({{"size", m_text}, {"mode", m_text}});
  const Shape* image = record({{"subpath", m_text}});
  const Shape* mount =
      record({{"type", choice({"bind", "volume", "tmpfs", "cluster", "npipe", "image"})},
              {"source", m_text},
              {"target", m_text},
              {"read_only", m_boolean},
              {"consistency", m_text},
              {"bind", bind},
              {"volume", volume},
              {"tmpfs", tmpfs},
              {"image", image}},
             true, {"type"});
  return list(either({m_text, mount}), true);
}

const Shape* Table::build_service() {
  const Shape* dependency =
      record({{"restart", m_boolean},
              {"required", scalar(Scalar::Boolean, true)},
              {"condition",
               choice({"service_started", "service_healthy", "service_completed_successfully"})}},
             true, {"condition"});
  const Shape* service_network = record({{"aliases", m_unique_strings},
                                         {"interface_name", m_text},
                                         {"ipv4_address", m_text},
                                         {"ipv6_address", m_text},
                                         {"link_local_ips", m_unique_strings},
                                         {"mac_address", m_text},
                                         {"driver_opts", m_options},
                                         {"priority", scalar(Scalar::Integer, true)},
                                         {"gw_priority", scalar(Scalar::Integer, true)}});
  const Shape* service_model = record({{"endpoint_var", m_text}, {"model_var", m_text}});
  const Shape* port = record({{"name", m_text},
                              {"mode", m_text},
                              {"host_ip", m_text},
                              {"target", m_integer},
                              {"published", m_text},
                              {"protocol", m_text},
                              {"app_protocol", m_text}});
  const Shape* device =
      record({{"source", m_text}, {"target", m_text}, {"permissions", m_text}}, true, {"source"});
  const Shape* provider_option = either({m_text, list(m_text)});
  const Shape* provider =
      record({{"type", m_text}, {"options", named(provider_option, Keys::NonEmpty, true)}}, true,
             {"type"});
  const Shape* unique_scalars = list(m_text, true);
  return record({
      {"develop", m_development},
      {"deploy", build_deploy()},
      {"annotations", m_list_or_dict},
      {"attach", m_boolean},
      {"build", build_build()},
      {"blkio_config", m_blkio},
      {"cap_add", m_unique_strings},
      {"cap_drop", m_unique_strings},
      {"cgroup", choice({"host", "private"})},
      {"cgroup_parent", m_text},
      {"command", m_command},
      {"configs", m_config_or_secret},
      {"container_name", m_text},
      {"cpu_count", ranged(0, std::nullopt)},
      {"cpu_percent", ranged(0, 100)},
      {"cpu_shares", m_integer},
      {"cpu_quota", m_integer},
      {"cpu_period", m_integer},
      {"cpu_rt_period", m_integer},
      {"cpu_rt_runtime", m_integer},
      {"cpus", m_number},
      {"cpuset", m_text},
      {"credential_spec", record({{"config", m_text}, {"file", m_text}, {"registry", m_text}})},
      {"depends_on", either({m_unique_strings, named(dependency, Keys::Name)})},
      {"device_cgroup_rules", m_unique_strings},
      {"devices", list(either({m_text, device}))},
      {"dns", m_string_or_list},
      {"dns_opt", m_unique_strings},
      {"dns_search", m_string_or_list},
      {"domainname", m_text},
      {"entrypoint", m_command},
      {"env_file", m_env_file},
      {"label_file", m_label_file},
      {"environment", m_list_or_dict},
      {"expose", unique_scalars},
      {"extends",
       either({m_text, record({{"service", m_text}, {"file", m_text}}, false, {"service"})})},
      {"provider", provider},
      {"external_links", m_unique_strings},
      {"extra_hosts", m_extra_hosts},
      {"gpus", m_gpus},
      {"group_add", unique_scalars},
      {"healthcheck", m_healthcheck},
      {"hostname", m_text},
      {"image", m_text},
      {"init", m_boolean},
      {"ipc", m_text},
      {"isolation", m_text},
      {"labels", m_list_or_dict},
      {"links", m_unique_strings},
      {"logging",
       record({{"driver", m_text}, {"options", named(m_nullable_text, Keys::NonEmpty, true)}})},
      {"mac_address", m_text},
      {"mem_limit", m_text},
      {"mem_reservation", m_text},
      {"mem_swappiness", m_integer},
      {"memswap_limit", m_text},
      {"network_mode", m_text},
      {"models", either({m_unique_strings, named(service_model, Keys::Name, true)})},
      {"networks", either({m_unique_strings,
                           named(either({add({.null_ok = true}), service_network}), Keys::Name)})},
      {"oom_kill_disable", m_boolean},
      {"oom_score_adj", ranged(-1000, 1000)},
      {"pid", m_nullable_text},
      {"pids_limit", m_integer},
      {"platform", m_text},
      {"ports", list(either({m_text, port}), true)},
      {"post_start", list(m_hook)},
      {"pre_stop", list(m_hook)},
      {"privileged", m_boolean},
      {"profiles", m_unique_strings},
      {"pull_policy", m_text},
      {"pull_refresh_after", m_text},
      {"read_only", m_boolean},
      {"restart", m_text},
      {"runtime", m_text},
      {"scale", m_integer},
      {"security_opt", m_unique_strings},
      {"shm_size", m_text},
      {"secrets", m_config_or_secret},
      {"sysctls", m_list_or_dict},
      {"stdin_open", m_boolean},
      {"stop_grace_period", m_text},
      {"stop_signal", m_text},
      {"storage_opt", named(m_text, Keys::NonEmpty, true)},
      {"tmpfs", m_string_or_list},
      {"tty", m_boolean},
      {"ulimits", m_ulimits},
      {"use_api_socket", scalar(Scalar::Boolean, true)},
      {"user", m_text},
      {"uts", m_text},
      {"userns_mode", m_text},
      {"volumes", build_volumes()},
      {"volumes_from", m_unique_strings},
      {"working_dir", m_text},
  });
}

void Table::build_top_level_parts() {
  m_include = either({m_text, record({{"path", m_string_or_list},
                                      {"env_file", m_string_or_list},
                                      {"project_directory", m_text}},
                                     false)});
  const Shape* external_name = record({{"name", m_text}});
  const Shape* external = either({m_boolean, external_name});
  // secrets and configs: the specification leaves `external: {}` open to any key.
  const Shape* open_external =
      either({m_boolean, add({.mapping = true, .fields = {{"name", m_text}}, .open = true})});
  const Shape* ipam_config = record({{"subnet", m_text},
                                     {"ip_range", m_text},
                                     {"gateway", m_text},
                                     {"aux_addresses", named(m_text)}});
  const Shape* ipam =
      record({{"driver", m_text}, {"config", list(ipam_config)}, {"options", named(m_text)}});
  m_network = either({add({.null_ok = true}), record({{"name", m_text},
                                                      {"driver", m_text},
                                                      {"driver_opts", m_options},
                                                      {"ipam", ipam},
                                                      {"external", external},
                                                      {"internal", m_boolean},
                                                      {"enable_ipv4", m_boolean},
                                                      {"enable_ipv6", m_boolean},
                                                      {"attachable", m_boolean},
                                                      {"labels", m_list_or_dict}})});
  m_volume = either({add({.null_ok = true}), record({{"name", m_text},
                                                     {"driver", m_text},
                                                     {"driver_opts", m_options},
                                                     {"external", external},
                                                     {"labels", m_list_or_dict}})});
  m_secret = record({{"name", m_text},
                     {"environment", m_text},
                     {"file", m_text},
                     {"external", open_external},
                     {"labels", m_list_or_dict},
                     {"driver", m_text},
                     {"driver_opts", m_options},
                     {"template_driver", m_text}});
  m_config = record({{"name", m_text},
                     {"content", m_text},
                     {"environment", m_text},
                     {"file", m_text},
                     {"external", open_external},
                     {"labels", m_list_or_dict},
                     {"template_driver", m_text}});
  m_model = record({{"name", m_text},
                    {"model", m_text},
                    {"context_size", scalar(Scalar::Integer, true)},
                    {"runtime_flags", m_strings}},
                   true, {"model"});
}

const Table& table() {
  static const Table k_table;
  return k_table;
}

// ---- scalar syntax -------------------------------------------------------------------------

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Decimal integer with an optional sign, as Go's strconv.Atoi takes it.
bool parses_as_integer(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    s.remove_prefix(1);
  }
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

std::size_t skip_digits(std::string_view s, std::size_t i) {
  while (i < s.size() && is_digit(s[i])) {
    ++i;
  }
  return i;
}

// Decimal number: [-+]? (digits [. digits?] | . digits) ([eE] [-+]? digits)?
bool parses_as_number(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    ++i;
  }
  const std::size_t int_end = skip_digits(s, i);
  bool digits = int_end > i;
  i = int_end;
  if (i < s.size() && s[i] == '.') {
    const std::size_t frac_end = skip_digits(s, i + 1);
    digits = digits || frac_end > i + 1;
    i = frac_end;
  }
  if (!digits) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
      ++i;
    }
    const std::size_t exp_end = skip_digits(s, i);
    if (exp_end == i) {
      return false;
    }
    i = exp_end;
  }
  return i == s.size();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// compose-go's cast for boolean slots: YAML 1.2 forms plus the YAML 1.1 ones it still takes.
bool parses_as_boolean(std::string_view s) {
  static const std::vector<std::string_view> k_forms = {"true", "false", "y",  "yes",
                                                        "on",   "n",     "no", "off"};
  return std::find(k_forms.begin(), k_forms.end(), lower(s)) != k_forms.end();
}

bool is_core_boolean(std::string_view s) {
  return s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE";
}

// A scalar YAML resolves by its text (not quoted, not explicitly tagged !!str).
bool is_plain(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  return tag != "!" && tag != "tag:yaml.org,2002:str";
}

// The JSON type a scalar would have after compose-go's YAML decoder, for uniqueness.
char json_type(const YAML::Node& node) {
  if (is_null(node)) {
    return 'z';
  }
  if (!is_plain(node)) {
    return 's';
  }
  const std::string& s = node.Scalar();
  if (is_core_boolean(s)) {
    return 'b';
  }
  return parses_as_number(s) ? 'n' : 's';
}

// ---- messages ------------------------------------------------------------------------------

std::string quoted(std::string_view text) {
  if (text.size() > k_max_quoted) {
    return fmt::format("{:?}...", std::string(text.substr(0, k_max_quoted)));
  }
  return fmt::format("{:?}", std::string(text));
}

std::string describe_value(const YAML::Node& node) {
  if (is_null(node)) {
    return "null";
  }
  if (node.IsScalar()) {
    return quoted(node.Scalar());
  }
  return "a " + kind_name(node);
}

std::string describe_choices(const std::vector<std::string_view>& choices) {
  std::vector<std::string> parts;
  for (std::string_view c : choices) {
    parts.push_back(quoted(c));
  }
  if (parts.size() == 1) {
    return parts[0];
  }
  return fmt::format("one of {}", fmt::join(parts, ", "));
}

std::string describe_scalar(const Shape& shape) {
  if (!shape.choices.empty()) {
    return describe_choices(shape.choices);
  }
  switch (shape.scalar) {
    case Scalar::Text: return "a string";
    case Scalar::Integer: return "an integer";
    case Scalar::Number: return "a number";
    case Scalar::Boolean: return "a boolean";
    case Scalar::None: break;
  }
  return "";
}

// "a string", "a string or a sequence", "a string, a sequence or a mapping".
std::string describe_shape(const Shape& shape) {
  std::vector<std::string> parts;
  if (shape.scalar != Scalar::None) {
    parts.push_back(describe_scalar(shape));
  }
  if (shape.items != nullptr) {
    parts.emplace_back("a sequence");
  }
  if (shape.mapping) {
    parts.emplace_back("a mapping");
  }
  if (parts.empty()) {
    return "null";
  }
  std::string out = parts[0];
  for (std::size_t i = 1; i < parts.size(); ++i) {
    out += (i + 1 == parts.size() ? " or " : ", ") + parts[i];
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The known key closest to a misspelt one, when it is close enough to be a likely typo.
std::optional<std::string_view> suggestion(const Shape& shape, std::string_view key) {
  constexpr std::size_t k_max_typo = 2;
  if (key.size() > 64) {
    return std::nullopt;
  }
  std::optional<std::string_view> best;
  std::size_t best_distance = k_max_typo + 1;
  for (const auto& [name, field] : shape.fields) {
    const std::size_t d = edit_distance(key, name);
    if (d < best_distance && d < name.size()) {
      best = name;
      best_distance = d;
    }
  }
  return best;
}

// ---- the check -----------------------------------------------------------------------------

class Checker {
 public:
  explicit Checker(std::string_view file) : m_file(file) {}

  // `at` is the node whose position names the value in messages: the value itself, or its
  // key when the value is an empty null (yaml-cpp places those at the next token).
  void check(const YAML::Node& node, const Shape& shape, const std::string& path,
             const YAML::Node& at, int depth) const;

 private:
  [[noreturn]] void fail(const YAML::Node& at, const std::string& path,
                         const std::string& problem) const {
    const std::string location = where(m_file, at);
    if (path.empty()) {
      throw Error(fmt::format("{}: {}", location, problem));
    }
    throw Error(fmt::format("{}: {}: {}", location, path, problem));
  }
  [[noreturn]] void wrong_kind(const YAML::Node& node, const Shape& shape, const std::string& path,
                               const YAML::Node& at) const {
    fail(at, path, fmt::format("must be {}, not {}", describe_shape(shape), describe_value(node)));
  }
  void check_scalar(const YAML::Node& node, const Shape& shape, const std::string& path) const;
  void check_range(const YAML::Node& node, const Shape& shape, const std::string& path) const;
  void check_sequence(const YAML::Node& node, const Shape& shape, const std::string& path,
                      int depth) const;
  void check_mapping(const YAML::Node& node, const Shape& shape, const std::string& path,
                     int depth) const;
  void check_key(const YAML::Node& key, const YAML::Node& value, const Shape& shape,
                 const std::string& path, int depth) const;
  void check_unique(const YAML::Node& node, const std::string& path) const;
  bool same(const YAML::Node& a, const YAML::Node& b, int depth, std::size_t& budget) const;

  std::string_view m_file;
};

void Checker::check(const YAML::Node& node, const Shape& shape, const std::string& path,
                    const YAML::Node& at, int depth) const {
  if (depth > k_max_depth) {
    fail(at, path, fmt::format("nested more than {} levels deep", k_max_depth));
  }
  if (node.Tag() == "!reset") {
    return;
  }
  if (is_null(node)) {
    if (!shape.null_ok) {
      wrong_kind(node, shape, path, at);
    }
  } else if (node.IsScalar()) {
    if (shape.scalar == Scalar::None) {
      wrong_kind(node, shape, path, at);
    }
    check_scalar(node, shape, path);
  } else if (node.IsSequence()) {
    if (shape.items == nullptr) {
      wrong_kind(node, shape, path, at);
    }
    check_sequence(node, shape, path, depth);
  } else if (node.IsMap()) {
    if (!shape.mapping) {
      wrong_kind(node, shape, path, at);
    }
    check_mapping(node, shape, path, depth);
  }
}

void Checker::check_scalar(const YAML::Node& node, const Shape& shape,
                           const std::string& path) const {
  const std::string& text = node.Scalar();
  bool ok = true;
  switch (shape.scalar) {
    case Scalar::Text:
      ok = shape.choices.empty() ||
           std::find(shape.choices.begin(), shape.choices.end(), text) != shape.choices.end();
      break;
    case Scalar::Integer: ok = parses_as_integer(text); break;
    case Scalar::Number: ok = parses_as_number(text); break;
    case Scalar::Boolean:
      ok = shape.strict ? is_core_boolean(text) : parses_as_boolean(text);
      break;
    case Scalar::None: ok = false; break;
  }
  if (ok && shape.strict && !is_plain(node)) {
    fail(node, path,
         fmt::format("must be {}, not the string {}", describe_scalar(shape), quoted(text)));
  }
  if (!ok) {
    fail(node, path,
         fmt::format("must be {}, not {}", describe_shape(shape), describe_value(node)));
  }
  check_range(node, shape, path);
}

void Checker::check_range(const YAML::Node& node, const Shape& shape,
                          const std::string& path) const {
  if (!shape.min && !shape.max) {
    return;
  }
  std::string_view text = node.Scalar();
  const bool negative = !text.empty() && text[0] == '-';
  // A value too long for a long long is out of any range we check.
  std::optional<long long> value;
  try {
    value = std::stoll(std::string(text));
  } catch (const std::exception&) {
  }
  const bool too_low = shape.min && (value ? *value < *shape.min : negative);
  const bool too_high = shape.max && (value ? *value > *shape.max : !negative);
  if (!too_low && !too_high) {
    return;
  }
  if (shape.min && shape.max) {
    fail(node, path,
         fmt::format("must be between {} and {}, not {}", *shape.min, *shape.max, text));
  }
  if (shape.min) {
    fail(node, path, fmt::format("must be at least {}, not {}", *shape.min, text));
  }
  fail(node, path, fmt::format("must be at most {}, not {}", *shape.max, text));
}

void Checker::check_sequence(const YAML::Node& node, const Shape& shape, const std::string& path,
                             int depth) const {
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    check(item, *shape.items, index_path(path, i), item.IsNull() ? node : item, depth + 1);
  }
  if (shape.unique) {
    check_unique(node, path);
  }
}

// A cheap summary that equal values share, so only likely duplicates are compared in full.
std::string fingerprint(const YAML::Node& node) {
  if (is_null(node)) {
    return "z";
  }
  if (node.IsScalar()) {
    return json_type(node) + node.Scalar();
  }
  std::vector<std::string> parts;
  for (const auto& entry : node) {
    const YAML::Node value = node.IsMap() ? entry.second : YAML::Node(entry);
    std::string part = value.IsScalar() || is_null(value) ? fingerprint(value) : kind_name(value);
    if (node.IsMap()) {
      part = (entry.first.IsScalar() ? entry.first.Scalar() : "?") + '=' + part;
    }
    parts.push_back(std::move(part));
  }
  if (node.IsMap()) {
    std::sort(parts.begin(), parts.end());
  }
  return fmt::format("{}{}", kind_name(node), fmt::join(parts, std::string_view("\0", 1)));
}

void Checker::check_unique(const YAML::Node& node, const std::string& path) const {
  std::unordered_map<std::string, std::vector<std::size_t>> seen;
  std::size_t budget = k_compare_budget;
  for (std::size_t i = 0; i < node.size(); ++i) {
    std::vector<std::size_t>& candidates = seen[fingerprint(node[i])];
    for (std::size_t j : candidates) {
      if (same(node[i], node[j], 0, budget)) {
        fail(node[i], index_path(path, i), fmt::format("duplicate of item [{}]", j));
      }
    }
    candidates.push_back(i);
  }
}

void Checker::check_mapping(const YAML::Node& node, const Shape& shape, const std::string& path,
                            int depth) const {
  for (const auto& entry : node) {
    check_key(entry.first, entry.second, shape, path, depth);
  }
  for (std::string_view key : shape.required) {
    if (!node[std::string(key)]) {
      fail(node, path, fmt::format("missing required key {}", quoted(key)));
    }
  }
  if (shape.required_any.empty()) {
    return;
  }
  const bool any = std::any_of(shape.required_any.begin(), shape.required_any.end(),
                               [&](std::string_view key) { return bool(node[std::string(key)]); });
  if (!any) {
    std::vector<std::string> names;
    for (std::string_view key : shape.required_any) {
      names.push_back(quoted(key));
    }
    fail(node, path, fmt::format("needs one of the keys {}", fmt::join(names, ", ")));
  }
}

bool matches(Keys keys, std::string_view name) {
  if (name.empty()) {
    return false;
  }
  switch (keys) {
    case Keys::NonEmpty: return true;
    case Keys::Lower:
      return std::all_of(name.begin(), name.end(), [](char c) { return c >= 'a' && c <= 'z'; });
    case Keys::Name:
      return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
               c == '_' || c == '-';
      });
  }
  return false;
}

void Checker::check_key(const YAML::Node& key, const YAML::Node& value, const Shape& shape,
                        const std::string& path, int depth) const {
  if (!key.IsScalar()) {
    fail(key, path, fmt::format("keys must be strings, not {}", describe_value(key)));
  }
  const std::string& name = key.Scalar();
  const std::string child = join_path(path, name);
  const YAML::Node& at = value.IsNull() ? key : value;
  for (const auto& [field, field_shape] : shape.fields) {
    if (field == name) {
      check(value, *field_shape, child, at, depth + 1);
      return;
    }
  }
  const bool extension = name.starts_with("x-");
  if (extension && shape.extensions) {
    return;
  }
  if (shape.values != nullptr && matches(shape.keys, name)) {
    check(value, *shape.values, child, at, depth + 1);
    return;
  }
  if (shape.open) {
    return;
  }
  if (shape.values != nullptr && shape.keys == Keys::Name) {
    fail(key, child, "invalid name: only letters, digits, \".\", \"_\" and \"-\" are allowed");
  }
  if (shape.values != nullptr) {
    fail(key, path, "keys must not be empty");
  }
  if (extension) {
    fail(key, child, "unknown key (extension keys x-* are not allowed here)");
  }
  if (const auto near = suggestion(shape, name)) {
    fail(key, child, fmt::format("unknown key, did you mean {}?", quoted(*near)));
  }
  fail(key, child, "unknown key");
}

// JSON-schema equality of two values (uniqueItems).
bool Checker::same(const YAML::Node& a, const YAML::Node& b, int depth, std::size_t& budget) const {
  if (depth > k_max_depth) {
    fail(a, "", fmt::format("nested more than {} levels deep", k_max_depth));
  }
  if (budget == 0) {
    fail(a, "", "value too large to compare with the other items of its sequence");
  }
  --budget;
  if (a.is(b)) {
    return true;  // one node reached twice through an alias
  }
  if (is_null(a) || is_null(b)) {
    return is_null(a) && is_null(b);
  }
  if (a.Type() != b.Type()) {
    return false;
  }
  if (a.IsScalar()) {
    return a.Scalar() == b.Scalar() && json_type(a) == json_type(b);
  }
  if (a.size() != b.size()) {
    return false;
  }
  if (a.IsSequence()) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!same(a[i], b[i], depth + 1, budget)) {
        return false;
      }
    }
    return true;
  }
  for (const auto& entry : a) {
    if (!entry.first.IsScalar()) {
      return false;
    }
    const YAML::Node other = b[entry.first.Scalar()];
    if (!other || !same(entry.second, other, depth + 1, budget)) {
      return false;
    }
  }
  return true;
}

// ---- canonical output kinds ----------------------------------------------------------------

bool is_index(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

// The shape one path step below `shape`, or nullptr when the path leaves the specification.
const Shape* step(const Shape& shape, const std::string& part) {
  if (shape.mapping) {
    for (const auto& [name, field] : shape.fields) {
      if (name == part) {
        return field;
      }
    }
    if (shape.values != nullptr && matches(shape.keys, part) &&
        !(part.starts_with("x-") && shape.extensions)) {
      return shape.values;
    }
  }
  if (shape.items != nullptr && is_index(part)) {
    return shape.items;
  }
  return nullptr;
}

ScalarKind output_kind(const Shape& shape) {
  switch (shape.scalar) {
    case Scalar::Text: return ScalarKind::String;
    case Scalar::Integer: return ScalarKind::Integer;
    case Scalar::Number: return ScalarKind::Number;
    case Scalar::Boolean: return ScalarKind::Boolean;
    case Scalar::None: break;
  }
  return shape.null_ok ? ScalarKind::Null : ScalarKind::Any;
}

}  // namespace

void validate_document(const YAML::Node& document, std::string_view file) {
  const Checker checker(file);
  checker.check(document, *table().root(), "", document, 0);
}

ScalarKind canonical_scalar_kind(std::span<const std::string> path) {
  const Shape* shape = table().root();
  for (const std::string& part : path) {
    shape = step(*shape, part);
    if (shape == nullptr) {
      return ScalarKind::Any;
    }
  }
  return output_kind(*shape);
}

}  // namespace berth::compose::schema
