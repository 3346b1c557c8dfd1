// The ways one service can name another: depends_on, links, volumes_from and
// network_mode/ipc/pid "service:x". Profiles, validation and the dependency graph share them.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace berth::compose {

struct ServiceReference {
  std::string service;  // the service named
  std::string kind;     // "depends_on", "links", "volumes_from", "network_mode", "ipc", "pid"
};

/// The services a (canonical) service definition refers to, in a stable order.
std::vector<ServiceReference> service_references(const YAML::Node& service);

}  // namespace berth::compose
