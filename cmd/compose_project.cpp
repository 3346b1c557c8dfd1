#include "cmd/compose_project.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "orchestrator/containers/project_containers.h"
#include "orchestrator/model_values.h"
#include "util/error.h"

namespace berth::cmd {

ProjectTarget resolve_project(const GlobalOptions& global) {
  try {
    compose::Project project = compose::load_project(global.load_options());
    std::string name = project.name;
    return ProjectTarget{std::move(name), std::move(project)};
  } catch (const Error&) {
    if (global.project_name.empty()) throw;
    return ProjectTarget{global.project_name, std::nullopt};
  }
}

containers::ContainerStore container_store(const GlobalOptions& global) {
  return containers::ContainerStore(global.root, global.runroot);
}

std::vector<containers::ContainerRecord> service_containers(
    const GlobalOptions& global, const ProjectTarget& target,
    const std::vector<std::string>& services, bool oneoff) {
  auto found = containers::project_containers(container_store(global), target.name,
                                              {.services = services, .oneoff = oneoff});
  for (const auto& service : services) {
    const bool declared =
        target.project &&
        orchestrator::child(orchestrator::child(target.project->model, "services"), service);
    const bool labelled =
        std::any_of(found.begin(), found.end(), [&](const containers::ContainerRecord& record) {
          return containers::service_of(record) == service;
        });
    if (!declared && !labelled) throw Error("no such service: " + service);
  }
  return found;
}

namespace {

/// A variable of the project's environment (its .env files, the shell's over them), as
/// Compose resolves `-e KEY`; the shell's alone without a file.
std::optional<std::string> project_variable(const ProjectTarget& target, const std::string& key) {
  if (target.project) {
    const auto found = target.project->environment.find(key);
    if (found != target.project->environment.end()) return found->second;
  }
  if (const char* value = std::getenv(key.c_str())) return std::string(value);
  return std::nullopt;
}

}  // namespace

std::vector<std::string> resolved_env(const ProjectTarget& target,
                                      const std::vector<std::string>& entries) {
  std::vector<std::string> env;
  for (const auto& entry : entries) {
    if (entry.find('=') != std::string::npos) {
      env.push_back(entry);
    } else if (const auto value = project_variable(target, entry)) {
      env.push_back(entry + "=" + *value);
    }
  }
  return env;
}

}  // namespace berth::cmd
