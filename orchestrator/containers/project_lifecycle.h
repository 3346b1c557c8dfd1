// `up -d` and `down` of a compose project, the first, sequential cut: networks and volumes
// made, each service's containers created and started in dependency order (waiting for
// service_healthy and service_completed_successfully), a container left alone when its
// config hash is unchanged and recreated when it changed; `down` removes what carries the
// project's label, whether or not the compose file still says so.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "image/store.h"
#include "orchestrator/compose/project.h"
#include "orchestrator/containers/container_store.h"

namespace berth::containers {

struct UpOptions {
  std::string runtime = "crun";
  std::string berth_executable;  // berth-monitor and berth-dns are found next to it
  /// A progress line per step ("Container shop-web-1  Started"), as Compose prints them.
  std::function<void(const std::string&)> progress = [](const std::string&) {};
  /// How long a dependency may take to become healthy or complete.
  std::chrono::seconds dependency_timeout{300};
};

/// Brings the project up, detached. berth::Error naming the service when a dependency
/// fails (exits, turns unhealthy, does not start) or an image is missing and cannot be
/// pulled; what started before stays up, as with Compose.
void up_project(const ContainerStore& store, const image::ImageStore& images,
                const compose::Project& project, const UpOptions& options);

struct DownOptions {
  bool volumes = false;  // -v: the project's named volumes and its containers' anonymous ones
  std::optional<std::chrono::seconds> timeout;  // -t: overrides each container's grace period
  std::function<void(const std::string&)> progress = [](const std::string&) {};
};

/// Stops and removes the project's containers (dependents first when the services are
/// known: `stop_order` from the loaded project, else any order), then its networks, and
/// with `volumes` its volumes.
void down_project(const ContainerStore& store, const std::string& project,
                  const std::vector<std::string>& stop_order, const DownOptions& options);

}  // namespace berth::containers
