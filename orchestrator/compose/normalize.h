// Phases after the merge: profiles, then the defaults Compose fills in.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "orchestrator/compose/environment.h"

namespace berth::compose {

/// Every profile named by any service, sorted and unique.
std::vector<std::string> declared_profiles(const YAML::Node& model);

/// Removes the services none of whose profiles is active (a service without profiles is
/// always active; "*" activates all). A remaining service that needs a removed one
/// (depends_on with required: true, links, volumes_from, network_mode/ipc/pid service:) is
/// an error naming both; an optional depends_on entry on it is dropped.
void apply_profiles(YAML::Node& model, const std::vector<std::string>& active);

/// Fills what Compose fills: `name`, the `default` network for services that name none,
/// resource names (`<project>_<key>`; external ones keep their key), build's default
/// Dockerfile and context, env_file contents merged into environment (then env_file
/// dropped), and `KEY` environment entries taken from the environment.
void apply_defaults(YAML::Node& model, const std::string& project, const std::string& project_dir,
                    const Environment& env);

}  // namespace berth::compose
