// depends_on conditions, as `up` and `start` wait for them: a service starts once each of its
// dependencies' containers is running (service_started), healthy (service_healthy) or has
// exited 0 (service_completed_successfully).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "orchestrator/containers/container_store.h"
#include "orchestrator/containers/project_support.h"

namespace berth::containers {

/// One depends_on entry of a service (the long form's fields; the short form's defaults).
struct DependencyCondition {
  std::string dependency;
  std::string condition = "service_started";
  bool required = true;  // false: a failure only warns
};

/// Every service's depends_on entries, from the loaded model.
std::map<std::string, std::vector<DependencyCondition>> dependency_conditions(
    const YAML::Node& model);

/// Waits until `dependency`'s `containers` meet its condition (watching their state files),
/// reporting `Waiting`, then `Healthy` or `Exited`; service_started is met at once.
/// berth::Error naming the dependency when it cannot be met: exited, unhealthy, no
/// healthcheck, not 0, or `timeout` passed.
void wait_for_dependency(const ContainerStore& store, const std::string& service,
                         const DependencyCondition& dependency,
                         const std::vector<ContainerRecord>& containers,
                         std::chrono::seconds timeout, const ProgressFn& progress);

}  // namespace berth::containers
