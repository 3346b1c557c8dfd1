// Semantic checks of the merged model: what the schema cannot see.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "orchestrator/graph.h"

namespace berth::compose {

/// Throws berth::Error naming the service and the key: a service with neither image nor
/// build; undefined networks, volumes, secrets, configs or services; `network_mode` with
/// `networks`; `container_name` with more than one replica; `scale` and `deploy.replicas`
/// that disagree.
void validate_model(const YAML::Node& model);

/// How many containers the service runs: `scale`, else `deploy.replicas`, else 1 (the model
/// is validated: the two agree when both are given).
long service_replicas(const YAML::Node& model, const std::string& service);

/// The services and every reference between them (depends_on, links, volumes_from,
/// network_mode/ipc/pid service:), as a graph.
orchestrator::ServiceGraph service_graph(const YAML::Node& model);

/// Services in start order (dependencies first, names sorted among equals); a cycle is an
/// error "dependency cycle: a -> b -> a".
std::vector<std::string> start_order(const YAML::Node& model);

}  // namespace berth::compose
