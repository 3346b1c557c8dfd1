#include "orchestrator/containers/project_lifecycle.h"

#include <algorithm>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "network/network_store.h"
#include "orchestrator/compose/validate.h"
#include "orchestrator/containers/lifecycle.h"
#include "orchestrator/containers/networking.h"
#include "orchestrator/containers/volumes.h"
#include "orchestrator/project_networks.h"
#include "orchestrator/scheduler.h"
#include "orchestrator/service_mounts.h"
#include "orchestrator/service_spec.h"
#include "util/error.h"
#include "util/file_lock.h"
#include "util/fs.h"

namespace berth::containers {

namespace {

std::string label_of(const ContainerRecord& record, const char* key) {
  const auto found = record.spec.labels.find(key);
  return found == record.spec.labels.end() ? "" : found->second;
}

bool is_active(const std::string& status) {
  return status == "running" || status == "restarting" || status == "paused";
}

/// Serialises `up` and `down` of one project (Compose's rule); other projects run at once.
FileLock project_lock(const ContainerStore& store, const std::string& project) {
  const std::string dir = store.root() + "/projects";
  std::filesystem::create_directories(dir);
  return FileLock(dir + "/" + project + ".lock");
}

/// The project's containers by name.
std::map<std::string, ContainerRecord> project_containers(const ContainerStore& store,
                                                          const std::string& project) {
  std::map<std::string, ContainerRecord> found;
  for (auto& record : store.list()) {
    if (label_of(record, orchestrator::k_project_label) == project) {
      found.emplace(record.name, std::move(record));
    }
  }
  return found;
}

void ensure_networks(const ContainerStore& store, const compose::Project& project,
                     const UpOptions& options) {
  const auto wanted = orchestrator::project_networks(project);
  network::NetworkStore networks(network_options(store, options.berth_executable));
  for (const auto& network : wanted) {
    if (network.external && !networks.find_if_exists(network.spec.name)) {
      throw Error(fmt::format("network {} declared as external, but could not be found",
                              network.spec.name));  // Compose's words
    }
  }
  for (const auto& network : wanted) {
    if (network.external || networks.find_if_exists(network.spec.name)) continue;
    options.progress(fmt::format("Network {}  Creating", network.spec.name));
    networks.create(network.spec);
    options.progress(fmt::format("Network {}  Created", network.spec.name));
  }
}

/// Waits for `dependency`'s containers to meet `condition`; berth::Error naming both when
/// they cannot.
void wait_for(const ContainerStore& store, const compose::Project& project,
              const std::string& service, const std::string& dependency,
              const std::string& condition, const UpOptions& options) {
  if (condition != "service_healthy" && condition != "service_completed_successfully") return;
  const long replicas = compose::service_replicas(project.model, dependency);
  const auto deadline = std::chrono::steady_clock::now() + options.dependency_timeout;
  for (long n = 1; n <= replicas; ++n) {
    const std::string name = orchestrator::container_name(project, dependency, int(n));
    const ContainerRecord record = store.find(name);
    options.progress(fmt::format("Container {}  Waiting", name));
    for (;;) {
      const auto live = store.live_state(record.id);
      const auto& state = live.state;
      if (condition == "service_healthy") {
        if (state.health == "healthy") break;
        if (state.health == "unhealthy") {
          throw Error(fmt::format("dependency failed to start: container {} is unhealthy", name));
        }
        if (!is_active(state.status) || live.monitor_lost) {
          throw Error(fmt::format("dependency failed to start: container {} exited ({})", name,
                                  state.exit_code));
        }
        if (state.health.empty()) {
          throw Error(fmt::format(
              "dependency failed to start: container {} has no healthcheck, which service \"{}\" "
              "waits for (service_healthy)",
              name, service));
        }
      } else if (!is_active(state.status)) {
        if (state.exit_code == 0) break;
        throw Error(fmt::format("service \"{}\" didn't complete successfully: exit {}", dependency,
                                state.exit_code));
      }
      if (std::chrono::steady_clock::now() > deadline) {
        throw Error(fmt::format("timed out waiting for {} ({}), which service \"{}\" needs", name,
                                condition, service));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    options.progress(fmt::format("Container {}  {}", name,
                                 condition == "service_healthy" ? "Healthy" : "Exited"));
  }
}

/// A recreated container keeps its predecessor's anonymous volumes, as with Compose: a
/// database in an image's VOLUME must not start empty because an environment variable
/// changed. Each one goes to the mount at the same target that would get a new anonymous
/// volume, or is added for an image VOLUME (which create then leaves alone).
void keep_anonymous_volumes(const ContainerRecord& old, runtime::ContainerSpec& spec) {
  for (const auto& kept : old.spec.mounts) {
    if (kept.type != runtime::MountSpec::Type::volume || !kept.anonymous) continue;
    bool placed = false;
    bool taken = false;
    for (auto& mount : spec.mounts) {
      if (mount.target != kept.target) continue;
      taken = true;
      if (mount.type == runtime::MountSpec::Type::volume && mount.source.empty()) {
        mount.source = kept.source;
        mount.anonymous = true;
        placed = true;
      }
    }
    if (!placed && !taken) spec.mounts.push_back(kept);
  }
}

void up_service(const ContainerStore& store, const image::ImageStore& images,
                const compose::Project& project, const std::string& service,
                std::map<std::string, ContainerRecord>& existing, const UpOptions& options) {
  const YAML::Node definition = project.model["services"][service];
  if (const YAML::Node depends_on = definition["depends_on"]; depends_on && depends_on.IsMap()) {
    for (const auto& entry : depends_on) {
      const YAML::Node condition = entry.second["condition"];
      wait_for(store, project, service, entry.first.Scalar(),
               condition ? condition.Scalar() : "service_started", options);
    }
  }
  if (definition["build"] && !images.find(project.image_of(service))) {
    throw Error(fmt::format("service \"{}\" needs a build, which berth cannot do yet", service));
  }
  const long replicas = compose::service_replicas(project.model, service);
  for (long n = 1; n <= replicas; ++n) {
    auto wanted = orchestrator::service_container(project, service, int(n));
    const std::string name = wanted.spec.name;
    if (const auto found = existing.find(name); found != existing.end()) {
      const ContainerRecord& record = found->second;
      const bool same = label_of(record, orchestrator::k_config_hash_label) ==
                        wanted.spec.labels[orchestrator::k_config_hash_label];
      if (same) {
        if (is_active(store.live_state(record.id).state.status)) {
          options.progress(fmt::format("Container {}  Running", name));
        } else {
          options.progress(fmt::format("Container {}  Starting", name));
          start_container(store, record, options.berth_executable);
          options.progress(fmt::format("Container {}  Started", name));
        }
        continue;
      }
      options.progress(fmt::format("Container {}  Recreate", name));
      keep_anonymous_volumes(record, wanted.spec);
      stop_container(store, record);
      remove_container(store, store.find(record.id), true);
      existing.erase(found);
    }
    options.progress(fmt::format("Container {}  Creating", name));
    CreateOptions create;
    create.runtime = options.runtime;
    create.files = std::move(wanted.files);
    const ContainerRecord record = create_container(images, store, wanted.spec, create);
    options.progress(fmt::format("Container {}  Created", name));
    options.progress(fmt::format("Container {}  Starting", name));
    start_container(store, record, options.berth_executable);
    options.progress(fmt::format("Container {}  Started", name));
  }
  // Fewer replicas than before: the highest numbers go.
  for (auto it = existing.begin(); it != existing.end();) {
    const ContainerRecord& record = it->second;
    const std::string number = label_of(record, orchestrator::k_number_label);
    if (label_of(record, orchestrator::k_service_label) == service && !number.empty() &&
        std::stol(number) > replicas) {
      options.progress(fmt::format("Container {}  Removing", record.name));
      remove_container(store, record, true);
      options.progress(fmt::format("Container {}  Removed", record.name));
      it = existing.erase(it);
    } else {
      ++it;
    }
  }
}

/// `action` on every record, each on a thread of its own; the first error is rethrown once
/// all have ended.
void for_each_at_once(const std::vector<ContainerRecord>& records,
                      const std::function<void(const ContainerRecord&)>& action) {
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        action(records[i]);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

/// The caller's progress, callable from several threads at once.
std::function<void(const std::string&)> serialised(
    const std::function<void(const std::string&)>& progress) {
  auto mutex = std::make_shared<std::mutex>();
  return [mutex, progress](const std::string& line) {
    const std::lock_guard lock(*mutex);
    progress(line);
  };
}

/// The failures of a run, each on the progress, the first (with a count of the rest) thrown.
void report(const std::vector<orchestrator::TaskFailure>& failures,
            const std::function<void(const std::string&)>& progress) {
  if (failures.empty()) return;
  for (const auto& failure : failures) {
    progress(fmt::format("Service {}  Error: {}", failure.service, failure.message));
  }
  const auto& first = failures.front();
  throw Error(fmt::format("service \"{}\": {}{}", first.service, first.message,
                          failures.size() > 1
                              ? fmt::format(" (and {} more failures, above)", failures.size() - 1)
                              : ""));
}

}  // namespace

void up_project(const ContainerStore& store, const image::ImageStore& images,
                const compose::Project& project, const UpOptions& options) {
  const FileLock lock = project_lock(store, project.name);
  // Every service's container is computed first: a mistake in any of them is reported
  // before anything is made.
  for (const auto& service : project.start_order) {
    for (long n = 1; n <= compose::service_replicas(project.model, service); ++n) {
      orchestrator::service_container(project, service, int(n));
    }
  }
  // Volumes' external ones checked before the networks are made, and the other way round.
  const auto volumes = orchestrator::project_volumes(project);
  for (const auto& volume : volumes) {
    if (volume.external && !volume_store(store).find(volume.spec.name)) {
      throw Error(fmt::format("external volume \"{}\" not found", volume.spec.name));
    }
  }
  ensure_networks(store, project, options);
  for (const auto& warning : ensure_project_volumes(store, volumes)) {
    options.progress("warning: " + warning);
  }
  // Each service's task sees only its own containers, so the tasks share nothing.
  std::map<std::string, std::map<std::string, ContainerRecord>> existing;
  for (const auto& service : project.start_order) existing[service];  // no insertion later
  for (auto& [name, record] : project_containers(store, project.name)) {
    existing[label_of(record, orchestrator::k_service_label)].emplace(name, std::move(record));
  }
  UpOptions shared = options;
  shared.progress = serialised(options.progress);
  orchestrator::ScheduleOptions schedule;
  schedule.parallel = options.parallel;
  const auto failures = orchestrator::run_graph(
      compose::service_graph(project.model),
      [&](const std::string& service) {
        up_service(store, images, project, service, existing.at(service), shared);
      },
      schedule);
  report(failures, shared.progress);
}

void down_project(const ContainerStore& store, const std::string& project,
                  const orchestrator::ServiceGraph& graph, const DownOptions& options) {
  const FileLock lock = project_lock(store, project);
  const auto progress = serialised(options.progress);
  // The services the labels name, the file's or not: dependents stop first where the file
  // says who depends on whom, the rest all at once.
  orchestrator::ServiceGraph services = graph;
  std::map<std::string, std::vector<ContainerRecord>> by_service;
  for (auto& [name, record] : project_containers(store, project)) {
    const std::string service = label_of(record, orchestrator::k_service_label);
    services.add_service(service);
    by_service[service].push_back(std::move(record));
  }
  orchestrator::ScheduleOptions schedule;
  schedule.reverse = true;
  const auto failures = orchestrator::run_graph(
      services,
      [&](const std::string& service) {
        const auto found = by_service.find(service);
        if (found == by_service.end()) return;
        // A service's replicas stop side by side: each may take its whole grace period.
        for_each_at_once(found->second, [&](const ContainerRecord& record) {
          if (is_active(store.live_state(record.id).state.status)) {
            progress(fmt::format("Container {}  Stopping", record.name));
            stop_container(store, record, options.timeout);
            progress(fmt::format("Container {}  Stopped", record.name));
          }
          progress(fmt::format("Container {}  Removing", record.name));
          remove_container(store, store.find(record.id), true, options.volumes);
          progress(fmt::format("Container {}  Removed", record.name));
        });
      },
      schedule);
  report(failures, progress);
  network::NetworkStore networks(network_options(store, ""));
  for (const auto& network : networks.list()) {
    const auto label = network.labels.find(orchestrator::k_project_label);
    if (label == network.labels.end() || label->second != project) continue;
    progress(fmt::format("Network {}  Removing", network.name));
    try {
      networks.remove(network);
      progress(fmt::format("Network {}  Removed", network.name));
    } catch (const Error& e) {
      // Another project's container still on it: it stays, as with Compose.
      progress(fmt::format("warning: network {} stays: {}", network.name, e.what()));
    }
  }
  if (options.volumes) {
    const auto kept = remove_project_volumes(store, project);
    for (const auto& name : kept) {
      progress(fmt::format("warning: volume {} stays: a container uses it", name));
    }
  }
}

}  // namespace berth::containers
