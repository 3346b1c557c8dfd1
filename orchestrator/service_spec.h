// One container of a compose service as berth's container layer takes it: the service's
// canonical definition (docs/compose-model.md) turned into a ContainerSpec with Compose's
// name and labels, its networks named as the project's, its storage from service_mounts.
// Pure: nothing on the host is read or touched but the files secrets and configs name.
#pragma once

#include <string>
#include <vector>

#include "orchestrator/compose/project.h"
#include "runtime/container_spec.h"

namespace berth::orchestrator {

/// Compose's container labels (com.docker.compose.*).
inline constexpr const char* k_service_label = "com.docker.compose.service";
inline constexpr const char* k_number_label = "com.docker.compose.container-number";
inline constexpr const char* k_oneoff_label = "com.docker.compose.oneoff";
inline constexpr const char* k_config_hash_label = "com.docker.compose.config-hash";
inline constexpr const char* k_working_dir_label = "com.docker.compose.project.working_dir";
inline constexpr const char* k_config_files_label = "com.docker.compose.project.config_files";
inline constexpr const char* k_depends_on_label = "com.docker.compose.depends_on";
inline constexpr const char* k_slug_label = "com.docker.compose.slug";

struct ServiceContainer {
  runtime::ContainerSpec spec;
  /// Secrets' and configs' content to write at create (CreateOptions::files).
  std::vector<runtime::InjectedFile> files;
};

/// The name of container `number` (from 1) of `service`: its container_name, else Compose
/// v2's `<project>-<service>-<number>`.
std::string container_name(const compose::Project& project, const std::string& service, int number);

/// Container `number` of `service`. berth::Error naming the service and key for a value
/// berth cannot honour (an unknown restart policy, an unset secret's source, ...).
ServiceContainer service_container(const compose::Project& project, const std::string& service,
                                   int number);

/// A one-off `run` container of `service`, as Compose makes one: named
/// `<project>-<service>-run-<first 12 of slug>`, labelled oneoff=True with its slug and no
/// container number, with no restart policy, no static IP, no published ports unless
/// `service_ports`, and the service's name as a network alias only with `use_aliases`.
ServiceContainer oneoff_container(const compose::Project& project, const std::string& service,
                                  const std::string& slug, bool service_ports, bool use_aliases);

}  // namespace berth::orchestrator
