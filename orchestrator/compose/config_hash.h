// The per-service configuration hash `up` compares to decide whether to recreate a container.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

namespace berth::compose {

/// SHA-256 (hex) of the service's canonical JSON with the keys that do not change a running
/// container left out (build, pull_policy, scale, deploy.replicas, depends_on, profiles),
/// as Docker Compose does. Stable across runs, key order and formatting of the files.
std::string service_config_hash(const YAML::Node& model, const std::string& service);

}  // namespace berth::compose
