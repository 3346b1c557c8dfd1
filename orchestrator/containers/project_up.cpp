// `up`: the project's networks and volumes made, then every selected service converged
// (orchestrator/plan) as soon as its dependencies meet their conditions (orchestrator/
// scheduler), each service's task touching only its own containers.
#include <algorithm>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "network/container_network.h"
#include "network/network_store.h"
#include "orchestrator/compose/validate.h"
#include "orchestrator/containers/dependency_wait.h"
#include "orchestrator/containers/lifecycle.h"
#include "orchestrator/containers/networking.h"
#include "orchestrator/containers/project_containers.h"
#include "orchestrator/containers/project_images.h"
#include "orchestrator/containers/project_lifecycle.h"
#include "orchestrator/containers/project_support.h"
#include "orchestrator/containers/volumes.h"
#include "orchestrator/model_values.h"
#include "orchestrator/project_networks.h"
#include "orchestrator/service_mounts.h"
#include "orchestrator/service_spec.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/failpoint.h"

namespace berth::containers {

namespace {

using orchestrator::child;
using orchestrator::scalar;

void ensure_networks(const ContainerStore& store, const compose::Project& project,
                     const UpOptions& options) {
  network::NetworkStore networks(network_options(store, options.berth_executable));
  for (const auto& network : orchestrator::project_networks(project)) {
    if (network.external || networks.find_if_exists(network.spec.name)) continue;
    options.progress(fmt::format("Network {}  Creating", network.spec.name));
    networks.create(network.spec);
    options.progress(fmt::format("Network {}  Created", network.spec.name));
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

/// The services `service` shares a namespace with (network_mode, ipc, pid: `service:x`).
std::vector<std::string> joined_services(const YAML::Node& definition) {
  std::vector<std::string> joined;
  for (const char* key : {"network_mode", "ipc", "pid"}) {
    const std::string mode = scalar(child(definition, key));
    if (mode.starts_with("service:")) joined.push_back(mode.substr(8));
  }
  return joined;
}

/// One `up`: what every service's task reads, and the little they share.
class ProjectUp {
 public:
  ProjectUp(const ContainerStore& store, const image::ImageStore& images,
            const compose::Project& project, const UpOptions& options)
      : m_store(store), m_images(images), m_project(project), m_options(options) {}

  /// The selected services and the containers each should have, computed before anything
  /// is made, so that a mistake in any of them is reported first.
  void prepare() {
    const auto graph = compose::service_graph(m_project.model);
    for (const auto& service : m_options.services) {
      if (!graph.contains(service)) throw Error("no such service: " + service);
    }
    for (const auto& [service, replicas] : m_options.scale) {
      if (!graph.contains(service)) throw Error("no such service: " + service);
    }
    std::set<std::string> selected;
    if (m_options.services.empty()) {
      selected.insert(m_project.start_order.begin(), m_project.start_order.end());
    } else if (m_options.no_deps) {
      selected.insert(m_options.services.begin(), m_options.services.end());
    } else {
      selected = graph.with_dependencies(m_options.services);
    }
    if (m_options.only_dependencies) {
      for (const auto& service : m_options.services) selected.erase(service);
    }
    for (const auto& service : m_project.start_order) {
      if (!selected.contains(service)) continue;
      m_graph.add_service(service);
      for (const auto& dependency : graph.dependencies(service)) {
        if (selected.contains(dependency)) m_graph.add_dependency(service, dependency);
      }
      const long replicas = wanted_replicas(m_project, m_options, service);
      auto& wanted = m_wanted[service];
      for (long n = 1; n <= replicas; ++n) {
        wanted.push_back(orchestrator::service_container(m_project, service, int(n)));
      }
    }
    for (auto& record : project_containers(m_store, m_project.name)) {
      m_existing[service_of(record)].push_back(std::move(record));
    }
    for (const auto& service : m_project.start_order) m_existing[service];  // no insertion later
  }

  /// Every problem that can be known before anything is made, reported at once: images
  /// that cannot be had (pull_policy never, or a build), external networks and volumes
  /// that are missing, fixed host ports that are taken. Then the images to pull are pulled,
  /// side by side, and their failures reported together.
  void check_and_pull() {
    std::vector<std::string> problems = plan_images();
    check_externals(problems);
    if (m_options.start) check_ports(problems);
    fail_with(problems);
    // Builds first: nothing has been made yet when one fails.
    if (!m_to_build.empty()) m_options.build(m_project, m_to_build);
    fail_with(pull_service_images(m_images, m_to_pull, m_options.progress));
    // Each image's id, read once: the service tasks compare it with their containers'.
    for (const auto& [service, wanted] : m_wanted) {
      const std::string image = m_project.image_of(service);
      if (m_image_ids.contains(image)) continue;
      const auto found = m_images.find(image);
      m_image_ids[image] = found ? m_images.manifest(*found).config.digest.str() : "";
    }
  }

  /// The containers of services the files no longer declare: removed, or named in a warning.
  void handle_orphans() {
    std::vector<std::string> services;
    for (const auto& [service, records] : m_existing) {
      if (!records.empty()) services.push_back(service);
    }
    const auto orphans = orchestrator::orphan_services(services, m_project.declared_services);
    std::vector<ContainerRecord> containers;
    for (const auto& service : orphans) {
      for (const auto& record : m_existing.at(service)) containers.push_back(record);
    }
    if (containers.empty()) return;
    if (!m_options.remove_orphans) {
      std::vector<std::string> names;
      for (const auto& record : containers) names.push_back(record.name);
      m_options.progress(orphan_warning(names));
      return;
    }
    for_each_at_once(containers, [&](const ContainerRecord& record) {
      m_options.progress(fmt::format("Container {}  Removing", record.name));
      stop_container(m_store, record);
      remove_container(m_store, m_store.find(record.id), true);
      m_options.progress(fmt::format("Container {}  Removed", record.name));
    });
  }

  std::vector<orchestrator::TaskFailure> run() {
    orchestrator::ScheduleOptions schedule;
    schedule.parallel = m_options.parallel;
    schedule.optional_edge = [this](const std::string& service, const std::string& dependency) {
      return !required(service, dependency);
    };
    return orchestrator::run_graph(
        m_graph, [&](const std::string& service) { up_service(service); }, schedule);
  }

 private:
  /// Every selected service's image, as its pull policy says: to be pulled (always), pulled
  /// when missing (missing, if_not_present, and for now daily/weekly/every_*), or required
  /// to be there (never). A service with `build:` is built when its image is missing, with
  /// pull_policy: build, or with --build. Fills m_to_pull and m_to_build; returns the
  /// problems.
  std::vector<std::string> plan_images() {
    using BuildPolicy = UpOptions::BuildPolicy;
    std::vector<std::string> problems;
    for (const auto& [service, wanted] : m_wanted) {
      const YAML::Node definition = child(child(m_project.model, "services"), service);
      const std::string image = m_project.image_of(service);
      const bool present = m_images.find(image).has_value();
      const bool buildable = static_cast<bool>(child(definition, "build"));
      const std::string policy = m_options.pull.empty()
                                     ? scalar(child(definition, "pull_policy"), "missing")
                                     : m_options.pull;
      if (buildable && m_options.build_policy == BuildPolicy::never) {
        if (!present) {
          problems.push_back(fmt::format(
              "service \"{}\": No such image: {} (and --no-build was given)", service, image));
        }
      } else if (buildable &&
                 (m_options.build_policy == BuildPolicy::always || policy == "build" || !present)) {
        if (!m_options.build) {
          problems.push_back(fmt::format("service \"{}\" needs a build", service));
        } else {
          m_to_build.push_back(service);
        }
      } else if (policy == "always") {
        m_to_pull[image].push_back(service);
      } else if (policy == "never") {
        if (!present) {
          problems.push_back(fmt::format("service \"{}\": No such image: {} (pull_policy is never)",
                                         service, image));
        }
      } else if (!present) {
        m_to_pull[image].push_back(service);
      }
    }
    return problems;
  }

  void check_externals(std::vector<std::string>& problems) const {
    network::NetworkStore networks(network_options(m_store, m_options.berth_executable));
    for (const auto& network : orchestrator::project_networks(m_project)) {
      if (network.external && !networks.find_if_exists(network.spec.name)) {
        problems.push_back(fmt::format("network {} declared as external, but could not be found",
                                       network.spec.name));  // Compose's words
      }
    }
    for (const auto& volume : orchestrator::project_volumes(m_project)) {
      if (volume.external && !volume_store(m_store).find(volume.spec.name)) {
        problems.push_back(fmt::format("external volume \"{}\" not found", volume.spec.name));
      }
    }
  }

  /// The fixed host ports of the containers to be run: free on the host, and published by
  /// no other container. The selected services' own containers do not count: each is kept
  /// (holding its own ports) or replaced (freeing them first).
  void check_ports(std::vector<std::string>& problems) const {
    std::vector<network::PortClaim> claims;
    for (const auto& [service, wanted] : m_wanted) {
      for (const auto& container : wanted) {
        network::PortClaim claim{container.spec.name, {}};
        for (const auto& entry : container.spec.publish) {
          for (auto& port : network::parse_ports(entry)) claim.ports.push_back(std::move(port));
        }
        if (!claim.ports.empty()) claims.push_back(std::move(claim));
      }
    }
    if (claims.empty()) return;
    std::set<std::string> replaced;
    for (const auto& [service, wanted] : m_wanted) {
      for (const auto& record : m_existing.at(service)) replaced.insert(record.id);
    }
    for (auto& problem :
         network::host_port_problems(claims, m_store.runroot() + "/containers", replaced)) {
      problems.push_back(std::move(problem));
    }
  }

  /// Throws every problem at once (each also on the progress output), naming the first.
  void fail_with(const std::vector<std::string>& problems) const {
    if (problems.empty()) return;
    for (const auto& problem : problems) m_options.progress("Error: " + problem);
    throw Error(problems.size() == 1 ? problems.front()
                                     : fmt::format("{} (and {} more problems, above)",
                                                   problems.front(), problems.size() - 1));
  }

  void up_service(const std::string& service) {
    const YAML::Node definition = child(child(m_project.model, "services"), service);
    for (const auto& dependency : m_conditions.at(service)) {
      const std::string& name = dependency.dependency;
      if (!m_graph.contains(name) || !m_options.start) continue;  // --no-deps, --no-start
      try {
        wait_for_dependency(m_store, service, dependency, containers_of(name),
                            m_options.dependency_timeout, m_options.progress);
      } catch (const Error& e) {
        if (dependency.required) throw;
        // required: false: Compose warns and starts the service anyway.
        m_options.progress(
            fmt::format("warning: service \"{}\": optional dependency: {}", service, e.what()));
      }
      if (!dependency.required && !started(name)) {
        m_options.progress(fmt::format(
            "warning: service \"{}\": optional dependency \"{}\" did not start", service, name));
      }
    }
    const auto policy = policy_for(service, definition);
    auto& existing = m_existing.at(service);
    std::vector<orchestrator::DesiredContainer> desired;
    for (const auto& wanted : m_wanted.at(service)) {
      const auto& labels = wanted.spec.labels;
      desired.push_back({wanted.spec.name, std::stoi(labels.at(orchestrator::k_number_label)),
                         labels.at(orchestrator::k_config_hash_label),
                         m_image_ids.at(wanted.spec.image)});
    }
    std::vector<orchestrator::ObservedContainer> observed;
    for (const auto& record : existing) {
      observed.push_back({record.name, number_of(record),
                          label_of(record, orchestrator::k_config_hash_label), record.image_id,
                          is_active(m_store.live_state(record.id).state.status)});
    }
    std::vector<ContainerRecord> result;
    for (const auto& step : orchestrator::plan_service(desired, observed, policy)) {
      auto record_named = [&](const std::string& name) {
        return *std::find_if(existing.begin(), existing.end(),
                             [&](const ContainerRecord& r) { return r.name == name; });
      };
      auto wanted = [&] { return m_wanted.at(service).at(std::size_t(step.number) - 1); };
      switch (step.step) {
        case orchestrator::Step::keep:
          m_options.progress(fmt::format("Container {}  Running", step.name));
          result.push_back(record_named(step.name));
          announce(result.back(), m_began);
          break;
        case orchestrator::Step::start:
          result.push_back(record_named(step.name));
          start(result.back(), now_rfc3339());
          break;
        case orchestrator::Step::create:
          result.push_back(create(wanted()));
          start(result.back());
          break;
        case orchestrator::Step::recreate: {
          const ContainerRecord old = record_named(step.replaced);
          m_options.progress(fmt::format("Container {}  Recreate", old.name));
          auto replacement = wanted();
          if (!m_options.renew_anonymous_volumes) keep_anonymous_volumes(old, replacement.spec);
          stop_container(m_store, old);
          remove_container(m_store, m_store.find(old.id), true, m_options.renew_anonymous_volumes);
          mark_recreated(service);
          m_options.progress(fmt::format("Container {}  Recreated", step.name));
          result.push_back(create(std::move(replacement), false));
          start(result.back());
          break;
        }
        case orchestrator::Step::remove: {
          const ContainerRecord old = record_named(step.name);
          m_options.progress(fmt::format("Container {}  Stopping", old.name));
          stop_container(m_store, old);
          m_options.progress(fmt::format("Container {}  Removing", old.name));
          remove_container(m_store, m_store.find(old.id), true);
          m_options.progress(fmt::format("Container {}  Removed", old.name));
          break;
        }
      }
    }
    const std::lock_guard lock(m_mutex);
    m_result[service] = std::move(result);
  }

  /// The command line's policy, forced for a service joined to a recreated one (what it
  /// joined is gone) and, with --always-recreate-deps, for the dependencies pulled in.
  orchestrator::RecreatePolicy policy_for(const std::string& service,
                                          const YAML::Node& definition) {
    if (m_options.recreate == orchestrator::RecreatePolicy::never) return m_options.recreate;
    const std::lock_guard lock(m_mutex);
    for (const auto& joined : joined_services(definition)) {
      if (m_recreated.contains(joined)) return orchestrator::RecreatePolicy::force;
    }
    const bool named = m_options.services.empty() ||
                       std::find(m_options.services.begin(), m_options.services.end(), service) !=
                           m_options.services.end();
    if (m_options.always_recreate_deps && !named) return orchestrator::RecreatePolicy::force;
    return m_options.recreate;
  }

  void mark_recreated(const std::string& service) {
    const std::lock_guard lock(m_mutex);
    m_recreated.insert(service);
  }

  /// False for a depends_on entry with `required: false`.
  bool required(const std::string& service, const std::string& dependency) const {
    const auto& entries = m_conditions.at(service);
    const auto entry = std::find_if(entries.begin(), entries.end(),
                                    [&](const auto& e) { return e.dependency == dependency; });
    return entry == entries.end() || entry->required;
  }

  /// True when the dependency's task succeeded.
  bool started(const std::string& service) {
    const std::lock_guard lock(m_mutex);
    return m_result.contains(service);
  }

  /// The containers a finished dependency's task left (run_graph runs a service only after
  /// its dependencies' tasks have returned).
  std::vector<ContainerRecord> containers_of(const std::string& service) {
    const std::lock_guard lock(m_mutex);
    const auto found = m_result.find(service);
    return found == m_result.end() ? std::vector<ContainerRecord>{} : found->second;
  }

  ContainerRecord create(orchestrator::ServiceContainer wanted, bool announce_creating = true) {
    const std::string name = wanted.spec.name;
    if (announce_creating) m_options.progress(fmt::format("Container {}  Creating", name));
    CreateOptions create;
    create.runtime = m_options.runtime;
    create.pull_missing = false;  // ensure_images did what the pull policy asks
    create.files = std::move(wanted.files);
    ContainerRecord record = create_container(m_images, m_store, std::move(wanted.spec), create);
    m_options.progress(fmt::format("Container {}  Created", name));
    return record;
  }

  /// Starts the container; its output from `since` on is new (empty: all of it).
  void start(const ContainerRecord& record, const std::string& since = "") {
    if (!m_options.start) return;
    m_options.progress(fmt::format("Container {}  Starting", record.name));
    start_container(m_store, record, m_options.berth_executable);
    failpoint("compose-up-started");
    m_options.progress(fmt::format("Container {}  Started", record.name));
    announce(record, since);
  }

  void announce(const ContainerRecord& record, const std::string& since) {
    if (m_options.on_running) m_options.on_running(record, since);
  }

  const ContainerStore& m_store;
  const image::ImageStore& m_images;
  const compose::Project& m_project;
  const UpOptions& m_options;
  const std::string m_began = now_rfc3339();
  // Every service's depends_on, read once; written before the tasks run.
  std::map<std::string, std::vector<DependencyCondition>> m_conditions =
      dependency_conditions(m_project.model);
  orchestrator::ServiceGraph m_graph;  // the selected services
  std::map<std::string, std::vector<orchestrator::ServiceContainer>> m_wanted;
  ServiceImages m_to_pull;
  std::vector<std::string> m_to_build;
  std::map<std::string, std::string> m_image_ids;  // by reference; written before the tasks run
  std::map<std::string, std::vector<ContainerRecord>> m_existing;  // each task its own entry
  std::mutex m_mutex;                                              // guards what follows
  std::set<std::string> m_recreated;
  std::map<std::string, std::vector<ContainerRecord>> m_result;
};

}  // namespace

long wanted_replicas(const compose::Project& project, const UpOptions& options,
                     const std::string& service) {
  const auto scaled = options.scale.find(service);
  return scaled != options.scale.end() ? scaled->second
                                       : compose::service_replicas(project.model, service);
}

void up_project(const ContainerStore& store, const image::ImageStore& images,
                const compose::Project& project, const UpOptions& options) {
  UpOptions shared = options;
  shared.progress = serialised(options.progress);
  const auto lock = lock_project(store, project.name, shared.progress);
  ProjectUp up(store, images, project, shared);
  up.prepare();
  up.check_and_pull();
  ensure_networks(store, project, shared);
  for (const auto& warning :
       ensure_project_volumes(store, orchestrator::project_volumes(project))) {
    shared.progress("warning: " + warning);
  }
  up.handle_orphans();
  report(up.run(), shared.progress);
}

}  // namespace berth::containers
