#include "orchestrator/project_networks.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "orchestrator/model_values.h"
#include "orchestrator/service_mounts.h"
#include "util/error.h"

namespace berth::orchestrator {

namespace {

/// The network keys the services join (network_mode services join none).
std::set<std::string> used_networks(const compose::Project& project) {
  std::set<std::string> used;
  const YAML::Node services = project.model["services"];
  if (!services) return used;
  for (const auto& service : services) {
    const YAML::Node networks = service.second["networks"];
    if (!networks || !networks.IsMap() || service.second["network_mode"]) continue;
    for (const auto& entry : networks) used.insert(entry.first.Scalar());
  }
  return used;
}

}  // namespace

std::vector<ProjectNetwork> project_networks(const compose::Project& project) {
  std::vector<ProjectNetwork> networks;
  const YAML::Node top = project.model["networks"];
  if (!top || !top.IsMap()) return networks;
  const std::set<std::string> used = used_networks(project);
  for (const auto& entry : top) {
    const std::string key = entry.first.Scalar();
    if (!used.contains(key)) continue;
    const YAML::Node definition = entry.second;
    ProjectNetwork out;
    out.key = key;
    out.external = scalar(definition["external"]) == "true";
    out.spec.name = scalar(definition["name"], project.name + "_" + key);
    const std::string driver = scalar(definition["driver"], "bridge");
    if (!out.external && driver != "bridge") {
      throw Error(
          fmt::format("network \"{}\": driver \"{}\" is not supported (bridge is)", key, driver));
    }
    out.spec.internal = scalar(definition["internal"]) == "true";
    if (const YAML::Node labels = definition["labels"]; labels && labels.IsMap()) {
      for (const auto& label : labels) out.spec.labels[label.first.Scalar()] = scalar(label.second);
    }
    if (const YAML::Node ipam = definition["ipam"]; ipam && ipam["config"]) {
      const YAML::Node configs = ipam["config"];
      std::size_t v4 = 0;
      for (const auto& config : configs) {
        const std::string subnet = scalar(config["subnet"]);
        if (subnet.find(':') != std::string::npos) continue;  // IPv6: not yet
        if (++v4 > 1) {
          throw Error(fmt::format("network \"{}\": more than one IPv4 subnet in ipam.config", key));
        }
        out.spec.subnet = subnet;
        out.spec.gateway = scalar(config["gateway"]);
        out.spec.ip_range = scalar(config["ip_range"]);
      }
    }
    if (!out.external) {
      out.spec.labels[k_project_label] = project.name;
      out.spec.labels[k_network_label] = key;
    }
    networks.push_back(std::move(out));
  }
  std::sort(networks.begin(), networks.end(),
            [](const ProjectNetwork& a, const ProjectNetwork& b) { return a.key < b.key; });
  return networks;
}

}  // namespace berth::orchestrator
