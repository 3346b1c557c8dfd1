// A compose project's containers as the host has them, found through Compose's labels alone
// (com.docker.compose.project, .service, .container-number, .oneoff): every project command
// works from these, whether or not the compose file still says the same.
#pragma once

#include <string>
#include <vector>

#include "orchestrator/containers/container_store.h"

namespace berth::containers {

/// The value of label `key` on the container, empty when it has none.
std::string label_of(const ContainerRecord& record, const char* key);

/// The container's service (com.docker.compose.service) and number (container-number; 0
/// for a one-off `run` container, which has none).
std::string service_of(const ContainerRecord& record);
int number_of(const ContainerRecord& record);
bool is_oneoff(const ContainerRecord& record);

/// True for the states in which a container counts as up: running, restarting, paused.
bool is_active(const std::string& status);

struct ProjectContainerFilter {
  std::vector<std::string> services;  // empty: every service
  bool oneoff = false;                // also one-off `run` containers
};

/// The containers labelled with `project`, sorted by service, then number (one-off
/// containers last within their service, by name).
std::vector<ContainerRecord> project_containers(const ContainerStore& store,
                                                const std::string& project,
                                                const ProjectContainerFilter& filter = {});

}  // namespace berth::containers
