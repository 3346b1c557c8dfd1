// Compose's commands on a project's existing containers (start, stop, restart, kill, rm,
// pause, unpause, wait): which services a command reaches, and the order its containers are
// acted on in. Services follow the dependency graph (dependencies first to start, dependents
// first to stop); a service's replicas are handled side by side; each step is a progress line
// as `down` prints them (`Container shop-web-1  Stopping`).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "orchestrator/containers/container_store.h"
#include "orchestrator/containers/dependency_wait.h"
#include "orchestrator/containers/project_support.h"
#include "orchestrator/graph.h"

namespace berth::containers {

struct ControlOptions {
  /// Who depends on whom (compose::service_graph of the loaded file). Empty when the file is
  /// gone (`-p NAME`): then every service is handled at once.
  orchestrator::ServiceGraph graph;
  /// -t: overrides each container's stop_grace_period.
  std::optional<std::chrono::seconds> timeout;
  std::string berth_executable;  // starts need berth-monitor, found next to it
  /// Every service's depends_on (dependency_conditions of the loaded file): `start` waits
  /// for them as `up` does. Empty without a file.
  std::map<std::string, std::vector<DependencyCondition>> conditions;
  std::chrono::seconds dependency_timeout{300};
  ProgressFn progress = [](const std::string&) {};
};

/// `restart SERVICE...`: the named services and, unless `no_deps`, every service that
/// depends on one of them with `restart: true` in its depends_on (Compose's rule), however
/// far down; every service of `model` when `services` is empty.
std::vector<std::string> services_to_restart(const YAML::Node& model,
                                             const std::vector<std::string>& services,
                                             bool no_deps);

/// Starts the containers that are not running, dependencies first (`Starting`, `Started`),
/// a service once its dependencies meet their depends_on conditions (`Waiting`, `Healthy`);
/// running, paused and restarting ones are left alone.
void start_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                      const ControlOptions& options);

/// Stops the running containers, dependents first, each within its grace period or the
/// timeout (`Stopping`, `Stopped`).
void stop_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                     const ControlOptions& options);

/// Stops (within the grace period or the timeout) and starts again every container, stopped
/// ones included, dependencies first (`Restarting`, `Started`), as Compose's restart does.
void restart_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                        const ControlOptions& options);

/// Sends `signal` to every running or paused container at once (`Killing`, `Killed`).
void kill_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                     int signal, const ProgressFn& progress);

/// Removes the containers at once (`Removing`, `Removed`); `force` kills one that has been
/// started since it was chosen, `volumes` takes its anonymous volumes too.
void remove_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                       bool force, bool volumes, const ProgressFn& progress);

/// Freezes (`Paused`) or thaws (`Unpaused`) the containers at once.
void pause_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                      const ProgressFn& progress);
void unpause_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                        const ProgressFn& progress);

/// Waits for every container to stop, all at once; `on_exit` hears of each as it ends (from
/// several threads, one at a time). Returns the exit code of the container that ended last.
int wait_for_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                        const std::function<void(const ContainerRecord&, int)>& on_exit);

}  // namespace berth::containers
