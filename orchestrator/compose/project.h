// A loaded compose project: the resolved, canonical model every command works from.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace berth::compose {

struct Project {
  /// Normalised project name: lowercase [a-z0-9_-], starting with a letter or digit.
  std::string name;
  /// Absolute project directory; relative paths in the files were resolved against it.
  std::string working_dir;
  /// The compose files in load order (absolute paths; "-" for standard input).
  std::vector<std::string> config_files;
  /// The env files that were read (absolute paths).
  std::vector<std::string> env_files;
  /// Profiles switched on, and every profile named by any service (for `config --profiles`).
  std::vector<std::string> active_profiles;
  std::vector<std::string> declared_profiles;
  /// Every service the files declare, of active profiles or not: a container of any of them
  /// is the project's own, never an orphan.
  std::vector<std::string> declared_services;
  /// The merged model in canonical form (docs/compose-model.md), with defaults filled and
  /// services of inactive profiles removed. Top-level keys: name, services, networks,
  /// volumes, secrets, configs, and x- extensions.
  YAML::Node model;
  /// The variables the project was interpolated with (env files, the shell's over them):
  /// what `environment:` sources of secrets and configs read.
  std::map<std::string, std::string> environment;
  /// Services in start order (dependencies first); names sorted among equals.
  std::vector<std::string> start_order;

  /// Service names, sorted.
  std::vector<std::string> service_names() const;
  /// The image a service runs: its `image`, or `<project>-<service>` for a build.
  std::string image_of(const std::string& service) const;
};

}  // namespace berth::compose
