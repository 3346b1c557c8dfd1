#include "cmd/compose_project.h"

#include <algorithm>

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

}  // namespace berth::cmd
