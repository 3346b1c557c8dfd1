// What the files of the compose commands on existing containers (compose_control*.cpp:
// start, stop, restart, kill, rm, pause, unpause, wait, exec) share.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cmd/compose_project.h"
#include "cmd/global_options.h"
#include "orchestrator/containers/project_control.h"

namespace berth::cmd {

/// The loaded file's dependency graph (none for `-p NAME` alone), berth's executable for
/// starts, and `progress` (a ProgressDisplay's, which must outlive the work).
containers::ControlOptions control_options(const ProjectTarget& target,
                                           containers::ProgressFn progress);

/// Without the containers of services the loaded file does not declare (orphans), as
/// Compose leaves them out; all of them when there is no file.
std::vector<containers::ContainerRecord> declared_only(
    const ProjectTarget& target, std::vector<containers::ContainerRecord> records);

void add_compose_rm_command(CLI::App& app, const GlobalOptions& global);
void add_compose_exec_command(CLI::App& app, const GlobalOptions& global);

}  // namespace berth::cmd
