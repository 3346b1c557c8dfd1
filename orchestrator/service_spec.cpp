#include "orchestrator/service_spec.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "orchestrator/compose/config_hash.h"
#include "orchestrator/compose/units.h"
#include "orchestrator/model_values.h"
#include "orchestrator/service_mounts.h"
#include "runtime/restart_policy.h"
#include "util/error.h"

namespace berth::orchestrator {

namespace {

using runtime::ContainerSpec;

std::vector<std::string> strings(const YAML::Node& node) {
  std::vector<std::string> out;
  if (node && node.IsSequence()) {
    for (const auto& item : node) out.push_back(scalar(item));
  }
  return out;
}

/// Reads one service's keys, naming the key in every error.
class ServiceReader {
 public:
  ServiceReader(const compose::Project& project, std::string service)
      : m_service(std::move(service)),
        m_definition(project.model["services"] ? project.model["services"][m_service]
                                               : YAML::Node()) {
    if (!m_definition) throw Error(fmt::format("no such service: {}", m_service));
  }

  const YAML::Node& definition() const { return m_definition; }

  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    throw Error(fmt::format("service \"{}\": {}: {}", m_service, key, why));
  }

  std::int64_t bytes(const std::string& key, const YAML::Node& node) const {
    const auto value = compose::parse_bytes(scalar(node));
    if (!value) fail(key, fmt::format("\"{}\" is not a size", scalar(node)));
    return *value;
  }

  std::chrono::nanoseconds duration(const std::string& key, const YAML::Node& node) const {
    const auto value = compose::parse_duration(scalar(node));
    if (!value) fail(key, fmt::format("\"{}\" is not a duration", scalar(node)));
    return std::chrono::nanoseconds(*value);
  }

  std::int64_t integer(const std::string& key, const YAML::Node& node) const {
    const std::string text = scalar(node);
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size()) {
      fail(key, fmt::format("\"{}\" is not a whole number", text));
    }
    return value;
  }

  double number(const std::string& key, const YAML::Node& node) const {
    try {
      std::size_t used = 0;
      const double value = std::stod(scalar(node), &used);
      if (used == scalar(node).size()) return value;
    } catch (const std::exception&) {
    }
    fail(key, fmt::format("\"{}\" is not a number", scalar(node)));
  }

 private:
  std::string m_service;
  YAML::Node m_definition;
};

/// environment: a null value takes the project's variable of that name, or is left out.
std::vector<std::string> environment_of(const compose::Project& project, const YAML::Node& node) {
  std::vector<std::string> env;
  if (!node || !node.IsMap()) return env;
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    if (entry.second && !entry.second.IsNull()) {
      env.push_back(key + "=" + scalar(entry.second));
    } else if (const auto value = project.environment.find(key);
               value != project.environment.end()) {
      env.push_back(key + "=" + value->second);
    }
  }
  return env;
}

/// `-p` text for a canonical port: "[host_ip:][published:]target/protocol".
std::string publish_of(const YAML::Node& port) {
  std::string text;
  const std::string host_ip = scalar(port["host_ip"]);
  const std::string published = scalar(port["published"]);
  if (!host_ip.empty()) {
    text += (host_ip.find(':') != std::string::npos ? "[" + host_ip + "]" : host_ip) + ":";
    text += published + ":";
  } else if (!published.empty()) {
    text += published + ":";
  }
  return text + scalar(port["target"]) + "/" + scalar(port["protocol"], "tcp");
}

void add_healthcheck(const ServiceReader& reader, const YAML::Node& node, ContainerSpec& spec) {
  if (!node) return;
  runtime::Healthcheck check;
  if (truthy(node["disable"])) {
    check.test = {"NONE"};
    spec.healthcheck = check;
    return;
  }
  check.test = strings(node["test"]);
  if (node["interval"]) check.interval = reader.duration("healthcheck.interval", node["interval"]);
  if (node["timeout"]) check.timeout = reader.duration("healthcheck.timeout", node["timeout"]);
  if (node["start_period"]) {
    check.start_period = reader.duration("healthcheck.start_period", node["start_period"]);
  }
  if (node["start_interval"]) {
    check.start_interval = reader.duration("healthcheck.start_interval", node["start_interval"]);
  }
  if (node["retries"]) {
    check.retries = static_cast<int>(reader.integer("healthcheck.retries", node["retries"]));
  }
  // Only timing given: the image's test with these timings, as Docker merges them.
  if (check.test.empty()) return;
  spec.healthcheck = check;
}

/// network_mode and networks: the project's networks by their full names, the service's
/// name as an alias on each (Compose's DNS names).
void add_networks(const compose::Project& project, const std::string& service,
                  const YAML::Node& definition, ContainerSpec& spec) {
  const std::string mode = scalar(definition["network_mode"]);
  if (mode == "none" || mode == "host") {
    spec.network = mode;
    return;
  }
  if (mode.starts_with("service:")) {
    spec.network = "container:" + container_name(project, mode.substr(8), 1);
    return;
  }
  if (mode.starts_with("container:")) {
    spec.network = mode;
    return;
  }
  spec.network = "bridge";
  const YAML::Node networks = definition["networks"];
  if (!networks || !networks.IsMap()) return;
  // Compose's order: by priority, highest first, then by name; the first one has the
  // default route.
  // (Keys and priorities are sorted, never YAML::Nodes: assigning one writes through to the
  // model.)
  std::vector<std::pair<long, std::string>> ordered;
  for (const auto& entry : networks) {
    const YAML::Node& value = entry.second;
    const long priority = value && value.IsMap() ? std::stol(scalar(value["priority"], "0")) : 0L;
    ordered.emplace_back(-priority, entry.first.Scalar());
  }
  std::sort(ordered.begin(), ordered.end());
  for (const auto& [ignored, key] : ordered) {
    const YAML::Node value = networks[key];
    runtime::NetworkAttachment attachment;
    std::string name = project.name + "_" + key;
    if (const YAML::Node top = project.model["networks"]) {
      if (const YAML::Node network = top[key]) name = scalar(network["name"], name);
    }
    attachment.network = name;
    attachment.aliases.push_back(service);
    if (value && value.IsMap()) {
      for (const auto& alias : strings(value["aliases"])) {
        if (alias != service) attachment.aliases.push_back(alias);
      }
      attachment.ipv4_address = scalar(value["ipv4_address"]);
    }
    spec.networks.push_back(std::move(attachment));
  }
}

/// `tmpfs: [/run:size=64m,mode=1777]`.
runtime::MountSpec tmpfs_of(const ServiceReader& reader, const std::string& text) {
  runtime::MountSpec mount;
  mount.type = runtime::MountSpec::Type::tmpfs;
  const auto colon = text.find(':');
  mount.target = text.substr(0, colon);
  if (colon == std::string::npos) return mount;
  std::string rest = text.substr(colon + 1);
  for (std::size_t start = 0; start <= rest.size();) {
    const auto comma = rest.find(',', start);
    const std::string option = rest.substr(start, comma - start);
    start = comma == std::string::npos ? rest.size() + 1 : comma + 1;
    if (option.empty()) continue;
    if (option.starts_with("size=")) {
      mount.tmpfs_size = reader.bytes("tmpfs", YAML::Node(option.substr(5)));
    } else if (option.starts_with("mode=")) {
      mount.tmpfs_mode = static_cast<std::uint32_t>(std::stoul(option.substr(5), nullptr, 8));
    } else if (option == "ro") {
      mount.read_only = true;
    } else {
      mount.options.push_back(option);
    }
  }
  return mount;
}

}  // namespace

std::string container_name(const compose::Project& project, const std::string& service,
                           int number) {
  const YAML::Node services = project.model["services"];
  const YAML::Node definition = services ? services[service] : YAML::Node();
  if (definition && definition["container_name"]) return scalar(definition["container_name"]);
  return fmt::format("{}-{}-{}", project.name, service, number);
}

ServiceContainer service_container(const compose::Project& project, const std::string& service,
                                   int number) {
  const ServiceReader reader(project, service);
  const YAML::Node& d = reader.definition();
  ServiceContainer out;
  ContainerSpec& spec = out.spec;
  spec.name = container_name(project, service, number);
  spec.image = project.image_of(service);
  if (d["command"] && !d["command"].IsNull()) spec.command = strings(d["command"]);
  if (d["entrypoint"] && !d["entrypoint"].IsNull()) spec.entrypoint = strings(d["entrypoint"]);
  spec.env = environment_of(project, d["environment"]);
  spec.working_dir = scalar(d["working_dir"]);
  spec.user = scalar(d["user"]);
  spec.group_add = strings(d["group_add"]);
  spec.hostname = scalar(d["hostname"]);
  spec.domainname = scalar(d["domainname"]);
  spec.tty = truthy(d["tty"]);
  spec.interactive = truthy(d["stdin_open"]);
  spec.read_only = truthy(d["read_only"]);
  spec.privileged = truthy(d["privileged"]);
  spec.init = truthy(d["init"]);
  spec.cap_add = strings(d["cap_add"]);
  spec.cap_drop = strings(d["cap_drop"]);
  spec.security_opt = strings(d["security_opt"]);
  for (const auto& option : spec.security_opt) {
    if (option == "no-new-privileges" || option == "no-new-privileges:true") {
      spec.no_new_privileges = true;
    }
  }
  if (const YAML::Node labels = d["labels"]; labels && labels.IsMap()) {
    for (const auto& entry : labels) spec.labels[entry.first.Scalar()] = scalar(entry.second);
  }
  if (const YAML::Node sysctls = d["sysctls"]; sysctls && sysctls.IsMap()) {
    for (const auto& entry : sysctls) spec.sysctls[entry.first.Scalar()] = scalar(entry.second);
  }
  if (const YAML::Node ulimits = d["ulimits"]; ulimits && ulimits.IsMap()) {
    for (const auto& entry : ulimits) {
      const std::string key = "ulimits." + entry.first.Scalar();
      spec.ulimits.push_back({entry.first.Scalar(), reader.integer(key, entry.second["soft"]),
                              reader.integer(key, entry.second["hard"])});
    }
  }
  if (const YAML::Node devices = d["devices"]; devices && devices.IsSequence()) {
    for (const auto& device : devices) {
      spec.devices.push_back({scalar(device["source"]), scalar(device["target"]),
                              scalar(device["permissions"], "rwm")});
    }
  }

  // Resources: the service's keys, else deploy.resources.limits as Compose reads them.
  YAML::Node limits;
  if (const YAML::Node deploy = d["deploy"]) {
    if (const YAML::Node resources = deploy["resources"]) limits = resources["limits"];
  }
  if (d["mem_limit"]) {
    spec.memory = reader.bytes("mem_limit", d["mem_limit"]);
  } else if (limits && limits["memory"]) {
    spec.memory = reader.bytes("deploy.resources.limits.memory", limits["memory"]);
  }
  if (d["memswap_limit"]) {
    spec.memory_swap =
        scalar(d["memswap_limit"]) == "-1" ? -1 : reader.bytes("memswap_limit", d["memswap_limit"]);
  }
  if (d["cpus"]) {
    spec.cpus = reader.number("cpus", d["cpus"]);
  } else if (limits && limits["cpus"]) {
    spec.cpus = reader.number("deploy.resources.limits.cpus", limits["cpus"]);
  }
  if (d["cpu_shares"]) spec.cpu_shares = reader.integer("cpu_shares", d["cpu_shares"]);
  if (d["pids_limit"]) {
    spec.pids_limit = reader.integer("pids_limit", d["pids_limit"]);
  } else if (limits && limits["pids"]) {
    spec.pids_limit = reader.integer("deploy.resources.limits.pids", limits["pids"]);
  }
  if (d["shm_size"]) spec.shm_size = reader.bytes("shm_size", d["shm_size"]);

  spec.stop_signal = scalar(d["stop_signal"]);
  if (d["stop_grace_period"]) {
    spec.stop_timeout = std::chrono::duration_cast<std::chrono::seconds>(
        reader.duration("stop_grace_period", d["stop_grace_period"]));
  }
  if (d["restart"]) {
    try {
      spec.restart = runtime::restart_policy_of(scalar(d["restart"]));
    } catch (const Error& e) {
      reader.fail("restart", e.what());
    }
  }
  add_healthcheck(reader, d["healthcheck"], spec);

  add_networks(project, service, d, spec);
  if (const YAML::Node ports = d["ports"]; ports && ports.IsSequence()) {
    for (const auto& port : ports) spec.publish.push_back(publish_of(port));
  }
  for (std::string port : strings(d["expose"])) {
    if (port.find('/') == std::string::npos) port += "/tcp";
    spec.expose.push_back(port);
  }
  spec.dns = strings(d["dns"]);
  spec.dns_search = strings(d["dns_search"]);
  spec.dns_options = strings(d["dns_opt"]);
  for (std::string host : strings(d["extra_hosts"])) {
    // canonical "name=ip"; the container layer takes --add-host's "name:ip"
    if (const auto equals = host.find('='); equals != std::string::npos) host[equals] = ':';
    spec.extra_hosts.push_back(host);
  }

  ServiceMounts storage = service_mounts(project, service);
  spec.mounts = std::move(storage.mounts);
  for (const auto& tmpfs : strings(d["tmpfs"])) spec.mounts.push_back(tmpfs_of(reader, tmpfs));
  spec.volumes_from = std::move(storage.volumes_from);
  out.files = std::move(storage.files);

  // Compose's labels, over the user's.
  std::string config_files;
  for (const auto& file : project.config_files) {
    config_files += (config_files.empty() ? "" : ",") + file;
  }
  std::string depends_on;
  if (const YAML::Node dependencies = d["depends_on"]; dependencies && dependencies.IsMap()) {
    for (const auto& entry : dependencies) {
      depends_on += fmt::format("{}{}:{}:{}", depends_on.empty() ? "" : ",", entry.first.Scalar(),
                                scalar(entry.second["condition"], "service_started"),
                                truthy(entry.second["restart"]) ? "true" : "false");
    }
  }
  spec.labels[k_project_label] = project.name;
  spec.labels[k_service_label] = service;
  spec.labels[k_number_label] = std::to_string(number);
  spec.labels[k_oneoff_label] = "False";
  spec.labels[k_config_hash_label] = compose::service_config_hash(project.model, service);
  spec.labels[k_working_dir_label] = project.working_dir;
  spec.labels[k_config_files_label] = config_files;
  spec.labels[k_depends_on_label] = depends_on;
  return out;
}

ServiceContainer oneoff_container(const compose::Project& project, const std::string& service,
                                  const std::string& slug, bool service_ports, bool use_aliases) {
  ServiceContainer out = service_container(project, service, 1);
  ContainerSpec& spec = out.spec;
  spec.name = fmt::format("{}-{}-run-{}", project.name, service, slug.substr(0, 12));
  spec.labels[k_oneoff_label] = "True";
  spec.labels[k_slug_label] = slug;
  spec.labels.erase(k_number_label);
  spec.restart = {};
  if (!service_ports) {
    spec.publish.clear();
    spec.publish_all = false;
  }
  for (auto& attachment : spec.networks) {
    attachment.ipv4_address.clear();  // the service's own container may hold it
    if (!use_aliases) attachment.aliases.clear();
  }
  return out;
}

}  // namespace berth::orchestrator
