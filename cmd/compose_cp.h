// `berth cp` (Compose's `docker compose cp`) and `berth container cp` (Docker's `docker cp`).
#pragma once

#include <CLI/CLI.hpp>

#include "cmd/global_options.h"

namespace berth::cmd {

/// `cp` on the compose project: registered by add_compose_commands.
void add_compose_cp_command(CLI::App& app, const GlobalOptions& global);
/// `cp` under `berth container`: registered by add_container_command.
void add_container_cp_command(CLI::App& container, const GlobalOptions& global);

}  // namespace berth::cmd
