// `down`: the project's containers stopped and removed, dependents first, then its networks
// and, with -v, its volumes; from the labels, whether or not the compose file still says so.
#include <algorithm>

#include <fmt/format.h>

#include "network/network_store.h"
#include "orchestrator/containers/lifecycle.h"
#include "orchestrator/containers/networking.h"
#include "orchestrator/containers/project_containers.h"
#include "orchestrator/containers/project_lifecycle.h"
#include "orchestrator/containers/project_support.h"
#include "orchestrator/containers/volumes.h"
#include "orchestrator/service_mounts.h"
#include "util/error.h"

namespace berth::containers {

void down_project(const ContainerStore& store, const std::string& project,
                  const DownOptions& options) {
  const auto progress = serialised(options.progress);
  const auto lock = lock_project(store, project, progress);
  // Orphans stay unless asked for, as with Compose.
  std::vector<ContainerRecord> containers;
  std::vector<std::string> orphans;
  for (auto& record : project_containers(store, project, {.services = {}, .oneoff = true})) {
    const std::string service = service_of(record);
    if (options.declared_services && !options.remove_orphans &&
        std::find(options.declared_services->begin(), options.declared_services->end(), service) ==
            options.declared_services->end()) {
      orphans.push_back(record.name);
      continue;
    }
    containers.push_back(std::move(record));
  }
  if (!orphans.empty()) progress(orphan_warning(orphans));
  // Dependents stop first where the file says who depends on whom, the rest all at once;
  // then everything goes side by side.
  stop_in_order(store, options.graph, containers, options.timeout, progress);
  for_each_at_once(containers, [&](const ContainerRecord& record) {
    progress(fmt::format("Container {}  Removing", record.name));
    remove_container(store, store.find(record.id), true, options.volumes);
    progress(fmt::format("Container {}  Removed", record.name));
  });
  network::NetworkStore networks(network_options(store, ""));
  for (const auto& network : networks.list()) {
    const auto label = network.labels.find(orchestrator::k_project_label);
    if (label == network.labels.end() || label->second != project) continue;
    progress(fmt::format("Network {}  Removing", network.name));
    try {
      networks.remove(network);
      progress(fmt::format("Network {}  Removed", network.name));
    } catch (const Error& e) {
      // Another project's container still on it: it stays, as with Compose.
      progress(fmt::format("warning: network {} stays: {}", network.name, e.what()));
    }
  }
  if (options.volumes) {
    const auto kept = remove_project_volumes(store, project);
    for (const auto& name : kept) {
      progress(fmt::format("warning: volume {} stays: a container uses it", name));
    }
  }
}

}  // namespace berth::containers
