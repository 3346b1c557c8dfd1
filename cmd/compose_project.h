// What every compose command (up, down, ps, logs, stop, ...) starts from: the project it acts
// on and the containers of the services named on its command line.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cmd/global_options.h"
#include "orchestrator/compose/project.h"
#include "orchestrator/containers/container_store.h"

namespace berth::cmd {

struct ProjectTarget {
  std::string name;
  /// The loaded compose file; nullopt for `-p NAME` with no compose file to be found, when
  /// a command works from the containers' labels alone (as Compose's do).
  std::optional<compose::Project> project;
};

/// Loads the project; with -p and a compose file that cannot be found or loaded, the name
/// alone. Without -p, the loader's error.
ProjectTarget resolve_project(const GlobalOptions& global);

/// The store the global options name.
containers::ContainerStore container_store(const GlobalOptions& global);

/// The project's containers of `services` (all when empty), sorted by service and number;
/// one-off `run` containers too with `oneoff`. berth::Error `no such service: x` (Compose's
/// text) for a name that is neither a service of the file nor on any container's label.
std::vector<containers::ContainerRecord> service_containers(
    const GlobalOptions& global, const ProjectTarget& target,
    const std::vector<std::string>& services, bool oneoff = false);

/// -e KEY=VALUE entries as given; -e KEY with the project's value (its .env files, the
/// shell's over them; the shell's alone without a file), left out when it has none.
std::vector<std::string> resolved_env(const ProjectTarget& target,
                                      const std::vector<std::string>& entries);

/// The compose command files' registrations (add_compose_commands calls them).
void add_up_command(CLI::App& app, const GlobalOptions& global);
void add_logs_command(CLI::App& app, const GlobalOptions& global);
void add_transfer_commands(CLI::App& app, const GlobalOptions& global);
void add_build_command(CLI::App& app, const GlobalOptions& global);

/// What `up`, `create` and `run` hand to the project's convergence to build the services'
/// images (compose_build.cpp), its progress on standard error.
std::function<void(const compose::Project&, const std::vector<std::string>&)> service_builder(
    const GlobalOptions& global, const std::string& runtime);
void add_run_command(CLI::App& app, const GlobalOptions& global);
void add_events_command(CLI::App& app, const GlobalOptions& global);

}  // namespace berth::cmd
