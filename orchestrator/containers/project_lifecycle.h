// `up -d` and `down` of a compose project: networks and volumes made, each service's
// containers created and started as soon as its dependencies allow (orchestrator/scheduler:
// services in parallel, each waiting for service_healthy and service_completed_successfully
// where asked), a container left alone when its config hash is unchanged and recreated when
// it changed; `down` removes what carries the project's label, dependents first, whether or
// not the compose file still says so.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "image/store.h"
#include "orchestrator/compose/project.h"
#include "orchestrator/containers/container_store.h"
#include "orchestrator/graph.h"

namespace berth::containers {

struct UpOptions {
  std::string runtime = "crun";
  std::string berth_executable;  // berth-monitor and berth-dns are found next to it
  /// A progress line per step ("Container shop-web-1  Started"), as Compose prints them.
  std::function<void(const std::string&)> progress = [](const std::string&) {};
  /// How long a dependency may take to become healthy or complete.
  std::chrono::seconds dependency_timeout{300};
  std::size_t parallel = 0;  // services handled at once; 0: no bound (Compose's default)
};

/// Brings the project up, detached. Every failed service is reported on the progress and
/// the first thrown as berth::Error naming it (a dependency that exits, turns unhealthy or
/// does not start fails its dependents, `not started: dependency "db" failed`); what
/// started stays up, as with Compose.
void up_project(const ContainerStore& store, const image::ImageStore& images,
                const compose::Project& project, const UpOptions& options);

struct DownOptions {
  bool volumes = false;  // -v: the project's named volumes and its containers' anonymous ones
  std::optional<std::chrono::seconds> timeout;  // -t: overrides each container's grace period
  std::function<void(const std::string&)> progress = [](const std::string&) {};
};

/// Stops and removes the project's containers in parallel, dependents first as `graph` (the
/// loaded project's; empty when the file is gone) says, then its networks, and with
/// `volumes` its volumes.
void down_project(const ContainerStore& store, const std::string& project,
                  const orchestrator::ServiceGraph& graph, const DownOptions& options);

}  // namespace berth::containers
