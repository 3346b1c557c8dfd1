#include "orchestrator/containers/dependency_wait.h"

#include <fmt/format.h>

#include "orchestrator/containers/project_containers.h"
#include "orchestrator/containers/state_watch.h"
#include "orchestrator/model_values.h"
#include "util/error.h"

namespace berth::containers {

using orchestrator::child;
using orchestrator::scalar;

std::map<std::string, std::vector<DependencyCondition>> dependency_conditions(
    const YAML::Node& model) {
  std::map<std::string, std::vector<DependencyCondition>> conditions;
  const YAML::Node services = child(model, "services");
  if (!services.IsMap()) return conditions;
  for (const auto& service : services) {
    auto& entries = conditions[service.first.Scalar()];
    const YAML::Node depends_on = child(service.second, "depends_on");
    if (depends_on.IsSequence()) {
      for (const auto& name : depends_on) entries.push_back({name.Scalar()});
    } else if (depends_on.IsMap()) {
      for (const auto& entry : depends_on) {
        entries.push_back({entry.first.Scalar(),
                           scalar(child(entry.second, "condition"), "service_started"),
                           scalar(child(entry.second, "required"), "true") != "false"});
      }
    }
  }
  return conditions;
}

void wait_for_dependency(const ContainerStore& store, const std::string& service,
                         const DependencyCondition& dependency,
                         const std::vector<ContainerRecord>& containers,
                         std::chrono::seconds timeout, const ProgressFn& progress) {
  const std::string& condition = dependency.condition;
  if (condition != "service_healthy" && condition != "service_completed_successfully") return;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& record : containers) {
    const std::string& name = record.name;
    progress(fmt::format("Container {}  Waiting", name));
    std::string failure;
    const bool met = watch_state(
        store, record.id,
        [&](const ContainerStore::LiveState& live) {
          const auto& state = live.state;
          const bool ended = !is_active(state.status) || live.monitor_lost;
          if (condition == "service_completed_successfully") {
            if (ended && state.exit_code != 0) {
              failure = fmt::format("service \"{}\" didn't complete successfully: exit {}",
                                    dependency.dependency, state.exit_code);
            }
            return ended;
          }
          if (state.health == "healthy") return true;
          if (state.health == "unhealthy") {
            failure = fmt::format("dependency failed to start: container {} is unhealthy", name);
          } else if (ended) {
            failure = fmt::format("dependency failed to start: container {} exited ({})", name,
                                  state.exit_code);
          } else if (state.health.empty()) {
            failure = fmt::format(
                "dependency failed to start: container {} has no healthcheck, which service "
                "\"{}\" waits for (service_healthy)",
                name, service);
          }
          return !failure.empty();
        },
        deadline);
    if (!failure.empty()) throw Error(failure);
    if (!met) {
      throw Error(fmt::format("timed out waiting for {} ({}), which service \"{}\" needs", name,
                              condition, service));
    }
    progress(fmt::format("Container {}  {}", name,
                         condition == "service_healthy" ? "Healthy" : "Exited"));
  }
}

}  // namespace berth::containers
