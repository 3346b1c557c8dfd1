// `up --wait`: every selected service's containers watched side by side until they are
// ready (running, healthy, or done for one-shots that others wait on).
#include <atomic>
#include <set>

#include <fmt/format.h>

#include "orchestrator/compose/validate.h"
#include "orchestrator/containers/project_containers.h"
#include "orchestrator/containers/project_lifecycle.h"
#include "orchestrator/containers/project_support.h"
#include "orchestrator/containers/state_watch.h"
#include "orchestrator/model_values.h"
#include "util/error.h"

namespace berth::containers {

namespace {

/// The services some other service waits on with service_completed_successfully: one-shots,
/// whose success is to have exited 0.
std::set<std::string> one_shots(const YAML::Node& model) {
  std::set<std::string> found;
  const YAML::Node services = orchestrator::child(model, "services");
  if (!services.IsMap()) return found;
  for (const auto& entry : services) {
    const YAML::Node depends_on = orchestrator::child(entry.second, "depends_on");
    if (!depends_on.IsMap()) continue;
    for (const auto& dependency : depends_on) {
      if (orchestrator::scalar(orchestrator::child(dependency.second, "condition")) ==
          "service_completed_successfully") {
        found.insert(dependency.first.Scalar());
      }
    }
  }
  return found;
}

}  // namespace

void wait_project(const ContainerStore& store, const compose::Project& project,
                  const WaitOptions& options) {
  std::vector<std::string> services = options.services;
  if (!services.empty() && !options.no_deps) {
    const auto closure = compose::service_graph(project.model).with_dependencies(services);
    services.assign(closure.begin(), closure.end());
  }
  const auto progress = serialised(options.progress);
  const auto shots = one_shots(project.model);
  const auto deadline = options.timeout.count() > 0
                            ? std::chrono::steady_clock::now() + options.timeout
                            : std::chrono::steady_clock::time_point::max();
  std::atomic<bool> failed{false};  // one failure ends every other wait
  for_each_at_once(
      project_containers(store, project.name, {services, false}),
      [&](const ContainerRecord& record) {
        const bool one_shot = shots.contains(service_of(record));
        progress(fmt::format("Container {}  Waiting", record.name));
        std::string failure;
        std::string reached;
        const bool ready = watch_state(
            store, record.id,
            [&](const ContainerStore::LiveState& live) {
              if (failed) return true;
              const auto& state = live.state;
              const bool ended = !is_active(state.status) || live.monitor_lost;
              if (one_shot) {
                if (ended && state.exit_code != 0) {
                  failure = fmt::format("container {} exited ({})", record.name, state.exit_code);
                }
                reached = "Exited";
                return ended;
              }
              if (ended) {
                failure = fmt::format("container {} exited ({})", record.name, state.exit_code);
                return true;
              }
              if (state.health == "unhealthy") {
                failure = fmt::format("container {} is unhealthy", record.name);
                return true;
              }
              reached = state.health.empty() ? "Running" : "Healthy";
              return state.status == "running" &&
                     (state.health.empty() || state.health == "healthy");
            },
            deadline);
        if (!failure.empty()) {
          failed = true;
          throw Error(failure);
        }
        if (failed) return;
        if (!ready) {
          failed = true;
          throw Error(fmt::format("timeout waiting for container {} to be ready", record.name));
        }
        progress(fmt::format("Container {}  {}", record.name, reached));
      });
}

}  // namespace berth::containers
