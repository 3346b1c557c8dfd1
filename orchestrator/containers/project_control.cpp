#include "orchestrator/containers/project_control.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "orchestrator/containers/events.h"
#include "orchestrator/containers/lifecycle.h"
#include "orchestrator/containers/observe.h"
#include "orchestrator/containers/project_containers.h"
#include "orchestrator/model_values.h"
#include "orchestrator/scheduler.h"
#include "orchestrator/service_mounts.h"
#include "util/error.h"

namespace berth::containers {

namespace {

/// `action` on every container at once, between two progress lines (`Killing`, `Killed`).
void at_once_with_progress(const std::vector<ContainerRecord>& containers, const char* doing,
                           const char* done, const ProgressFn& progress,
                           const ContainerAction& action) {
  for_each_at_once(containers, [&](const ContainerRecord& record) {
    if (doing != nullptr) progress(fmt::format("Container {}  {}", record.name, doing));
    action(record);
    progress(fmt::format("Container {}  {}", record.name, done));
  });
}

}  // namespace

std::vector<std::string> services_to_restart(const YAML::Node& model,
                                             const std::vector<std::string>& services,
                                             bool no_deps) {
  const YAML::Node declared = orchestrator::child(model, "services");
  if (services.empty()) {
    std::vector<std::string> all;
    if (declared.IsMap()) {
      for (const auto& entry : declared) all.push_back(entry.first.as<std::string>());
    }
    return all;
  }
  if (no_deps) return services;
  // Who asked to be restarted along with whom: dependency -> its dependents with restart.
  std::map<std::string, std::vector<std::string>> restarted_with;
  if (declared.IsMap()) {
    for (const auto& entry : declared) {
      const YAML::Node depends_on = orchestrator::child(entry.second, "depends_on");
      if (!depends_on.IsMap()) continue;
      for (const auto& dependency : depends_on) {
        if (orchestrator::truthy(orchestrator::child(dependency.second, "restart"))) {
          restarted_with[dependency.first.as<std::string>()].push_back(
              entry.first.as<std::string>());
        }
      }
    }
  }
  std::vector<std::string> selected = services;
  std::set<std::string> seen(services.begin(), services.end());
  for (std::size_t next = 0; next < selected.size(); ++next) {
    const std::string service = selected[next];  // a copy: push_back may move the vector
    for (const auto& dependent : restarted_with[service]) {
      if (seen.insert(dependent).second) selected.push_back(dependent);
    }
  }
  return selected;
}

void start_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                      const ControlOptions& options) {
  const auto progress = serialised(options.progress);
  const std::string project =
      containers.empty() ? "" : label_of(containers.front(), orchestrator::k_project_label);
  // The project's containers, listed once and only when a condition needs waiting for
  // (service_started needs nothing: the graph order already saw to it).
  std::once_flag listed;
  std::vector<ContainerRecord> project_records;
  const auto containers_of = [&](const std::string& service) {
    std::call_once(listed, [&] { project_records = project_containers(store, project); });
    std::vector<ContainerRecord> records;
    for (const auto& record : project_records) {
      if (service_of(record) == service) records.push_back(record);
    }
    return records;
  };
  // As with `up`: a service starts once its dependencies, running or started just before,
  // meet their conditions.
  const auto wait_for_dependencies = [&](const std::string& service) {
    const auto found = options.conditions.find(service);
    if (found == options.conditions.end()) return;
    const bool starts_any =
        std::any_of(containers.begin(), containers.end(), [&](const ContainerRecord& record) {
          return service_of(record) == service &&
                 !is_active(store.live_state(record.id).state.status);
        });
    if (!starts_any) return;
    for (const auto& dependency : found->second) {
      if (dependency.condition == "service_started") continue;
      try {
        wait_for_dependency(store, service, dependency, containers_of(dependency.dependency),
                            options.dependency_timeout, progress);
      } catch (const Error& e) {
        if (dependency.required) throw;
        progress(
            fmt::format("warning: service \"{}\": optional dependency: {}", service, e.what()));
      }
    }
  };
  in_service_order(
      options.graph, containers, false,
      [&](const ContainerRecord& record) {
        if (is_active(store.live_state(record.id).state.status)) return;
        progress(fmt::format("Container {}  Starting", record.name));
        start_container(store, store.find(record.id), options.berth_executable);
        progress(fmt::format("Container {}  Started", record.name));
      },
      progress, wait_for_dependencies);
}

void stop_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                     const ControlOptions& options) {
  stop_in_order(store, options.graph, containers, options.timeout, options.progress);
}

void restart_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                        const ControlOptions& options) {
  const auto progress = serialised(options.progress);
  in_service_order(
      options.graph, containers, false,
      [&](const ContainerRecord& record) {
        progress(fmt::format("Container {}  Restarting", record.name));
        stop_container(store, record, options.timeout);
        start_container(store, store.find(record.id), options.berth_executable);
        record_event(store, record, "restart");
        progress(fmt::format("Container {}  Started", record.name));
      },
      progress);
}

void kill_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                     int signal, const ProgressFn& progress) {
  at_once_with_progress(
      containers, "Killing", "Killed", serialised(progress),
      [&](const ContainerRecord& record) { kill_container(store, record, signal); });
}

void remove_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                       bool force, bool volumes, const ProgressFn& progress) {
  at_once_with_progress(containers, "Removing", "Removed", serialised(progress),
                        [&](const ContainerRecord& record) {
                          remove_container(store, store.find(record.id), force, volumes);
                        });
}

void pause_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                      const ProgressFn& progress) {
  // Compose prints only the outcome of a pause: there is nothing to wait for.
  at_once_with_progress(containers, nullptr, "Paused", serialised(progress),
                        [&](const ContainerRecord& record) { pause_container(store, record); });
}

void unpause_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                        const ProgressFn& progress) {
  at_once_with_progress(containers, nullptr, "Unpaused", serialised(progress),
                        [&](const ContainerRecord& record) { unpause_container(store, record); });
}

int wait_for_containers(const ContainerStore& store, const std::vector<ContainerRecord>& containers,
                        const std::function<void(const ContainerRecord&, int)>& on_exit) {
  std::mutex mutex;
  int last = 0;
  for_each_at_once(containers, [&](const ContainerRecord& record) {
    const int code = wait_container(store, record);
    const std::lock_guard lock(mutex);
    last = code;
    on_exit(record, code);
  });
  return last;
}

}  // namespace berth::containers
