// Flags every berth command shares (they come before or after the command name).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "orchestrator/compose/loader.h"

namespace berth::cmd {

struct GlobalOptions {
  std::vector<std::string> files;
  std::string project_name;
  std::string project_directory;
  std::vector<std::string> env_files;
  std::vector<std::string> profiles;
  std::string root = "/var/lib/berth";
  std::string runroot = "/run/berth";
  std::string log_level = "warning";
  std::string progress = "auto";  // compose commands' progress: auto, tty, plain or quiet

  /// Registers the flags on the top-level app.
  void add_to(CLI::App& app);

  /// Applies what every command needs before it runs (logging); commands call it first.
  void prepare() const;

  /// What the compose loader needs from them.
  compose::LoadOptions load_options() const;
};

/// Thrown by a command whose exit code is not berth's own success or failure (`container
/// run` exits with the container's code); main() turns it into the process's exit code.
struct ExitCode {
  int code;
};

/// The berth binary itself: berth-monitor and berth-dns are found next to it.
std::string self_executable();

/// Each command file adds its subcommand; `global` outlives the parse.
void add_config_command(CLI::App& app, const GlobalOptions& global);
void add_image_command(CLI::App& app, const GlobalOptions& global);
void add_container_command(CLI::App& app, const GlobalOptions& global);
void add_network_command(CLI::App& app, const GlobalOptions& global);
void add_volume_command(CLI::App& app, const GlobalOptions& global);
void add_compose_commands(CLI::App& app, const GlobalOptions& global);
void add_compose_observe_commands(CLI::App& app, const GlobalOptions& global);
void add_compose_control_commands(CLI::App& app, const GlobalOptions& global);

}  // namespace berth::cmd
