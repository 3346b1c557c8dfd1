// `down`: the project's containers stopped and removed, dependents first, then its networks
// and, with -v, its volumes; from the labels, whether or not the compose file still says so.
#include <algorithm>

#include <fmt/format.h>

#include "image/remove.h"
#include "image/store.h"
#include "network/network_store.h"
#include "orchestrator/containers/image_users.h"
#include "orchestrator/containers/lifecycle.h"
#include "orchestrator/containers/networking.h"
#include "orchestrator/containers/project_containers.h"
#include "orchestrator/containers/project_lifecycle.h"
#include "orchestrator/containers/project_support.h"
#include "orchestrator/containers/volumes.h"
#include "orchestrator/service_mounts.h"
#include "util/error.h"

namespace berth::containers {

namespace {

/// The images --rmi asks to remove, each once.
std::vector<std::string> images_to_remove(const std::string& project,
                                          const std::vector<ContainerRecord>& removed,
                                          const DownOptions& options) {
  std::vector<std::string> images;
  auto add = [&](const std::string& image, bool named) {
    if (options.rmi == "local" && named) return;
    if (std::find(images.begin(), images.end(), image) == images.end()) images.push_back(image);
  };
  for (const auto& [image, named] : options.service_images) add(image, named);
  if (options.declared_services) return images;
  for (const auto& record : removed) {
    add(record.image, record.image != project + "-" + service_of(record));
  }
  return images;
}

/// Compose's events for each image: removed, still in use (stays), or not there.
void remove_project_images(const ContainerStore& store, const std::vector<std::string>& images,
                           const std::function<void(const std::string&)>& progress) {
  const image::ImageStore image_store(store.root());
  const auto users = image_users(store);
  for (const auto& image : images) {
    progress(fmt::format("Image {}  Removing", image));
    if (!image_store.find(image)) {
      progress(fmt::format("Image {}  Warning: No resource found to remove", image));
      continue;
    }
    try {
      image::remove_images(image_store, {image}, false, users);
      progress(fmt::format("Image {}  Removed", image));
    } catch (const Error& e) {
      progress(fmt::format("warning: image {} stays: {}", image, e.what()));
    }
  }
}

}  // namespace

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
  if (!options.rmi.empty()) {
    remove_project_images(store, images_to_remove(project, containers, options), progress);
  }
}

}  // namespace berth::containers
