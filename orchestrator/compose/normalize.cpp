#include "orchestrator/compose/normalize.h"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "orchestrator/compose/dotenv.h"
#include "orchestrator/compose/references.h"
#include "orchestrator/compose/yaml_util.h"
#include "util/error.h"
#include "util/fs.h"

namespace berth::compose {

namespace {

std::vector<std::string> profiles_of(const YAML::Node& service) {
  std::vector<std::string> profiles;
  if (const YAML::Node list = service["profiles"]; list && list.IsSequence()) {
    for (const auto& p : list) profiles.push_back(p.Scalar());
  }
  return profiles;
}

bool is_active(const YAML::Node& service, const std::set<std::string>& active) {
  const auto profiles = profiles_of(service);
  if (profiles.empty() || active.contains("*")) return true;
  return std::any_of(profiles.begin(), profiles.end(),
                     [&](const std::string& p) { return active.contains(p); });
}

/// Gives each top-level resource its engine name.
void name_resources(YAML::Node& model, const char* kind, const std::string& project) {
  YAML::Node resources = model[kind];
  if (!resources || !resources.IsMap()) return;
  for (auto entry : resources) {
    YAML::Node resource = entry.second;
    if (!resource.IsMap()) {
      entry.second = new_node(YAML::NodeType::Map);
      resource = entry.second;
    }
    if (resource["name"]) continue;
    const std::string& key = entry.first.Scalar();
    const YAML::Node external = resource["external"];
    const bool is_external = external && external.IsScalar() && external.Scalar() == "true";
    resource["name"] = is_external ? key : fmt::format("{}_{}", project, key);
  }
}

/// env_file contents, then `environment` on top; `KEY` entries from the environment. The
/// mapping is rebuilt only when something changes (an env_file, or a `KEY` to look up).
void resolve_environment(const std::string& name, YAML::Node service, const Environment& env) {
  const YAML::Node& read = service;  // const lookups: yaml-cpp's non-const [] creates nodes
  const YAML::Node files = read["env_file"];
  const YAML::Node environment = read["environment"];
  bool needs_lookup = false;
  if (environment) {
    for (const auto& entry : environment) needs_lookup = needs_lookup || entry.second.IsNull();
  }
  if (!files && !needs_lookup) return;

  std::vector<std::pair<YAML::Node, YAML::Node>> resolved;  // in order, later wins in place
  std::unordered_map<std::string, std::size_t> slot;
  auto put = [&](const YAML::Node& key, const YAML::Node& value) {
    auto [it, inserted] = slot.try_emplace(key.Scalar(), resolved.size());
    if (inserted) {
      resolved.emplace_back(key, value);
    } else {
      resolved[it->second].second = value;
    }
  };
  if (files) {
    for (const auto& file : files) {
      const std::string path = file["path"].Scalar();
      const bool required = !file["required"] || file["required"].Scalar() == "true";
      if (!required && !fs::is_file(path)) continue;
      if (!fs::is_file(path)) {
        throw Error(fmt::format("services.{}.env_file: env file {} not found", name, path));
      }
      for (const auto& entry : read_dotenv_file(path, env.lookup())) {
        put(key_node(entry.key), YAML::Node(entry.value));
      }
    }
    service.remove("env_file");
  }
  if (environment) {
    for (const auto& entry : environment) {
      if (!entry.second.IsNull()) {
        put(entry.first, entry.second);
        continue;
      }
      // `KEY` alone: the value comes from the environment; unset stays unset, unless an
      // env_file gave it one.
      if (auto value = env.get(entry.first.Scalar())) {
        put(entry.first, YAML::Node(*value));
      } else if (!slot.contains(entry.first.Scalar())) {
        put(entry.first, new_node(YAML::NodeType::Null));
      }
    }
  }
  YAML::Node out = new_node(YAML::NodeType::Map);
  for (const auto& [key, value] : resolved) out.force_insert(key, value);
  if (out.size() > 0) service["environment"] = out;
}

}  // namespace

std::vector<std::string> declared_profiles(const YAML::Node& model) {
  std::set<std::string> all;
  if (const YAML::Node services = model["services"]) {
    for (const auto& entry : services) {
      for (auto& p : profiles_of(entry.second)) all.insert(std::move(p));
    }
  }
  return {all.begin(), all.end()};
}

void apply_profiles(YAML::Node& model, const std::vector<std::string>& active_list) {
  YAML::Node services = model["services"];
  if (!services || !services.IsMap()) return;
  const std::set<std::string> active(active_list.begin(), active_list.end());
  std::set<std::string> disabled;
  for (const auto& entry : services) {
    if (!is_active(entry.second, active)) disabled.insert(entry.first.Scalar());
  }
  for (const auto& name : disabled) services.remove(name);
  for (auto entry : services) {
    const std::string& name = entry.first.Scalar();
    YAML::Node service = entry.second;
    if (YAML::Node depends_on = service["depends_on"]) {
      std::vector<std::string> optional_gone;
      for (const auto& dep : depends_on) {
        const std::string& target = dep.first.Scalar();
        if (!disabled.contains(target)) continue;
        const YAML::Node required = dep.second["required"];
        if (required && required.Scalar() == "false") {
          optional_gone.push_back(target);
          continue;
        }
        throw Error(fmt::format(
            "service \"{}\" depends on service \"{}\", which is disabled by its profiles; "
            "enable one with --profile",
            name, target));
      }
      for (const auto& target : optional_gone) depends_on.remove(target);
    }
    for (const auto& ref : service_references(service)) {
      if (ref.kind == "depends_on") continue;
      if (disabled.contains(ref.service)) {
        throw Error(fmt::format(
            "service \"{}\" needs service \"{}\" ({}), which is disabled by its profiles; "
            "enable one with --profile",
            name, ref.service, ref.kind));
      }
    }
  }
}

void apply_defaults(YAML::Node& model, const std::string& project, const std::string& project_dir,
                    const Environment& env) {
  model["name"] = project;
  bool uses_default_network = false;
  if (YAML::Node services = model["services"]) {
    for (auto entry : services) {
      const std::string& name = entry.first.Scalar();
      YAML::Node service = entry.second;
      if (!service.IsMap()) {
        throw Error(fmt::format("services.{}: must be a mapping", name));
      }
      const YAML::Node& read = service;  // const lookups: yaml-cpp's non-const [] creates nodes
      if (!read["network_mode"]) {
        if (!read["networks"] || read["networks"].size() == 0) {
          YAML::Node networks = new_node(YAML::NodeType::Map);
          networks.force_insert(key_node("default"), new_node(YAML::NodeType::Null));
          service["networks"] = networks;
        }
        if (read["networks"]["default"]) uses_default_network = true;
      }
      if (YAML::Node build = read["build"]) {
        if (!build["context"]) build["context"] = project_dir;
        if (!build["dockerfile"] && !build["dockerfile_inline"]) build["dockerfile"] = "Dockerfile";
      }
      resolve_environment(name, service, env);
    }
  }
  if (uses_default_network) {
    if (!model["networks"] || !model["networks"].IsMap()) {
      model["networks"] = new_node(YAML::NodeType::Map);
    }
    if (!model["networks"]["default"]) {
      model["networks"]["default"] = new_node(YAML::NodeType::Map);
    }
  }
  for (const char* kind : {"networks", "volumes", "secrets", "configs"}) {
    name_resources(model, kind, project);
  }
}

}  // namespace berth::compose
