// `berth container pause|unpause|top|stats`: looking at running containers, and freezing them.
#pragma once

#include <CLI/CLI.hpp>

#include "cmd/global_options.h"

namespace berth::cmd {

/// Adds pause, unpause, top and stats under `container`; `global` outlives the parse.
void add_container_observe_commands(CLI::App& container, const GlobalOptions& global);

}  // namespace berth::cmd
