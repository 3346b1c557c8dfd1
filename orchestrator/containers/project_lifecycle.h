// `up -d` and `down` of a compose project: networks and volumes made, each service's
// containers created and started as soon as its dependencies allow (orchestrator/scheduler:
// services in parallel, each waiting for service_healthy and service_completed_successfully
// where asked), a container left alone when its config hash is unchanged and recreated when
// it changed; `down` removes what carries the project's label, dependents first, whether or
// not the compose file still says so.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "image/store.h"
#include "orchestrator/compose/project.h"
#include "orchestrator/containers/container_store.h"
#include "orchestrator/graph.h"
#include "orchestrator/plan.h"

namespace berth::containers {

struct UpOptions {
  std::string runtime = "crun";
  std::string berth_executable;  // berth-monitor and berth-dns are found next to it
  /// A progress line per step ("Container shop-web-1  Started"), as Compose prints them.
  std::function<void(const std::string&)> progress = [](const std::string&) {};
  /// How long a dependency may take to become healthy or complete.
  std::chrono::seconds dependency_timeout{300};
  std::size_t parallel = 0;  // services handled at once; 0: no bound (Compose's default)
  /// `up SERVICE...`: these and, unless no_deps, what they depend on; empty: every service.
  std::vector<std::string> services;
  bool no_deps = false;
  /// Only what `services` depend on (`run`: the one-off's dependencies), and the project's
  /// networks and volumes; with no_deps, those alone.
  bool only_dependencies = false;
  /// --force-recreate / --no-recreate; --always-recreate-deps forces it for the services
  /// only pulled in as dependencies of the named ones.
  orchestrator::RecreatePolicy recreate = orchestrator::RecreatePolicy::diverged;
  bool always_recreate_deps = false;
  bool start = true;                     // --no-start: create only
  bool renew_anonymous_volumes = false;  // -V: a recreated container gets new anonymous volumes
  bool remove_orphans = false;        // else a warning names the containers of undeclared services
  std::map<std::string, long> scale;  // --scale SERVICE=N over the file's replicas
  /// --pull always|missing|never over every service's pull_policy; empty: each service's
  /// own (default missing). Images are pulled up front, side by side, before anything is
  /// made, so that a reference that cannot be resolved leaves the host untouched.
  std::string pull;
  /// Images of services with `build:`: built when missing (and with pull_policy: build),
  /// always (`--build`) or never (`--no-build`: a missing one is an error).
  enum class BuildPolicy { missing, always, never };
  BuildPolicy build_policy = BuildPolicy::missing;
  /// Builds the images of these services (the builder sits above this module, so the
  /// command hands it in); unset, a service that needs a build is an error.
  std::function<void(const compose::Project& project, const std::vector<std::string>& services)>
      build;
  /// Called for every container of the selected services that runs once `up` has dealt with
  /// it (attached `up` follows their output), with the time from which its output is new:
  /// empty for a container just created, the start time for one started again, this `up`'s
  /// beginning for one that was running.
  std::function<void(const ContainerRecord&, const std::string& since)> on_running;
};

/// How many containers `up` wants of `service`: --scale's count, else the file's.
long wanted_replicas(const compose::Project& project, const UpOptions& options,
                     const std::string& service);

/// Brings the project up, detached. Every failed service is reported on the progress and
/// the first thrown as berth::Error naming it (a dependency that exits, turns unhealthy or
/// does not start fails its dependents, `not started: dependency "db" failed`); what
/// started stays up, as with Compose. A service joined to a recreated one (network_mode,
/// ipc or pid `service:x`) is recreated too, since what it joined is gone.
void up_project(const ContainerStore& store, const image::ImageStore& images,
                const compose::Project& project, const UpOptions& options);

struct WaitOptions {
  std::vector<std::string> services;  // as UpOptions: these and their dependencies; empty: all
  bool no_deps = false;
  std::chrono::seconds timeout{0};  // 0: no limit
  std::function<void(const std::string&)> progress = [](const std::string&) {};
};

/// `up --wait`: returns once every container of the services runs, and is healthy where it
/// has a healthcheck; a service that another waits on with service_completed_successfully
/// must have exited 0 instead. berth::Error naming the first container that exited (or
/// failed), turned unhealthy, or was not ready in time.
void wait_project(const ContainerStore& store, const compose::Project& project,
                  const WaitOptions& options);

struct DownOptions {
  /// The loaded project's dependency graph (dependents stop first) and every service its
  /// files declare; both empty when the file is gone (`-p NAME down`): then every container
  /// labelled with the project goes, all at once.
  orchestrator::ServiceGraph graph;
  std::optional<std::vector<std::string>> declared_services;
  bool volumes = false;  // -v: the project's named volumes and its containers' anonymous ones
  bool remove_orphans = false;  // containers of services the files do not declare go too
  std::optional<std::chrono::seconds> timeout;  // -t: overrides each container's grace period
  /// --rmi: "local" removes the images of services without an `image:` name (the ones up
  /// builds), "all" every service's image; empty: none. Images another container uses stay.
  std::string rmi;
  /// Each service's image and whether the file names it with `image:`; without a compose
  /// file, empty: the removed containers' images count then, `<project>-<service>` as local.
  std::vector<std::pair<std::string, bool>> service_images;
  std::function<void(const std::string&)> progress = [](const std::string&) {};
};

/// Stops and removes the project's containers in parallel, dependents first, one-off `run`
/// containers included; orphans only with `remove_orphans` (else a warning names them); then
/// its networks (one another project's container still uses stays, with a warning), and
/// with `volumes` its volumes, and with `rmi` its images.
void down_project(const ContainerStore& store, const std::string& project,
                  const DownOptions& options);

}  // namespace berth::containers
