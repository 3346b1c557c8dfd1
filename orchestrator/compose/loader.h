// Loads a compose project: files, .env, interpolation, merge, extends, include, profiles,
// validation, the dependency order. The phases are listed in docs/ARCHITECTURE.md.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/compose/environment.h"
#include "orchestrator/compose/project.h"

namespace berth::compose {

struct LoadOptions {
  /// `-f` files in order; "-" reads standard input. Empty: COMPOSE_FILE, then discovery.
  std::vector<std::string> files;
  /// `-p`; empty: COMPOSE_PROJECT_NAME, then top-level `name:`, then the directory name.
  std::string project_name;
  /// `--project-directory`; empty: the directory of the first file.
  std::string project_directory;
  /// `--env-file` files in order (they replace the project directory's .env).
  std::vector<std::string> env_files;
  /// `--profile`; empty: COMPOSE_PROFILES.
  std::vector<std::string> profiles;
  /// False for `config --no-interpolate`.
  bool interpolate = true;
  /// Where relative -f paths and discovery start; empty: the current directory.
  std::string working_dir;
  /// The shell environment; nullopt: this process's.
  std::optional<std::map<std::string, std::string>> environment;
  /// Reads standard input for `-f -` (tests inject it).
  std::function<std::string()> read_stdin;
};

/// Loads and fully resolves a project. Throws berth::Error naming the file, line, service or
/// key at fault; nothing on the host is touched.
Project load_project(const LoadOptions& options);

}  // namespace berth::compose
