// What a compose project's storage becomes for berth's volume and container layers: its
// top-level volumes as volume specs (Compose's names and labels), and each service's
// `volumes`, `volumes_from`, `secrets` and `configs` as mounts, as Docker Compose makes them
// without a swarm.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "orchestrator/compose/project.h"
#include "runtime/container_spec.h"
#include "volume/volume_store.h"

namespace berth::orchestrator {

/// Compose's labels on what it makes for a project.
inline constexpr const char* k_project_label = "com.docker.compose.project";
inline constexpr const char* k_volume_label = "com.docker.compose.volume";

/// One entry of the top-level `volumes:`.
struct ProjectVolume {
  std::string key;          // the name in the file ("data")
  volume::VolumeSpec spec;  // name "<project>_data" (or `name:`), driver, driver_opts, labels
  bool external = false;    // used as it is, never made nor removed by berth
};

/// The project's volumes, sorted by key. Labels: the user's, then Compose's project and
/// volume labels (not for external ones).
std::vector<ProjectVolume> project_volumes(const compose::Project& project);

struct ServiceMounts {
  /// volumes (a named volume by its full name, `<project>_<key>`), binds, tmpfs, and the
  /// secrets and configs whose files are bound as they are.
  std::vector<runtime::MountSpec> mounts;
  /// Secrets and configs whose content berth writes: `environment` and `content` sources,
  /// and files given a uid, gid or mode (copied, so the user's file keeps its own).
  std::vector<runtime::InjectedFile> files;
  /// `volumes_from` as containers: a service's first container ("<project>-<svc>-1" or its
  /// container_name), `container:x` as x; the ":ro"/":rw" suffix kept.
  std::vector<std::string> volumes_from;
};

/// The storage of service `service`. berth::Error naming the service and the secret or
/// config for an `external` one (there is no swarm to hold it), a file source that cannot be
/// read when its content must be copied, or an `environment` source that is not set.
ServiceMounts service_mounts(const compose::Project& project, const std::string& service);

}  // namespace berth::orchestrator
