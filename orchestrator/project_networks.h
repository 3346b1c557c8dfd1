// A compose project's top-level networks as berth's network layer takes them: Compose's
// names (`<project>_<key>` or `name:`) and labels, the IPAM config, internal, external.
#pragma once

#include <string>
#include <vector>

#include "network/network_store.h"
#include "orchestrator/compose/project.h"

namespace berth::orchestrator {

inline constexpr const char* k_network_label = "com.docker.compose.network";

struct ProjectNetwork {
  std::string key;  // the name in the file ("default", "front")
  network::NetworkSpec spec;
  bool external = false;  // used as it is, never made nor removed by berth
};

/// The networks some service of the project joins, sorted by key. berth::Error naming the
/// network for a driver other than bridge, or IPAM with more than one IPv4 config.
std::vector<ProjectNetwork> project_networks(const compose::Project& project);

}  // namespace berth::orchestrator
