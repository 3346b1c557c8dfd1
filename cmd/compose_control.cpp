// The compose commands that act on a project's existing containers: start, stop, restart,
// kill, pause, unpause and wait here; rm and exec in compose_control_rm.cpp and
// compose_control_exec.cpp. Flags and output only: the order of the work is in
// orchestrator/containers/project_control.
#include "cmd/compose_control.h"

#include <algorithm>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cmd/progress_display.h"
#include "cmd/signal_names.h"
#include "orchestrator/compose/validate.h"
#include "orchestrator/containers/project_containers.h"
#include "orchestrator/containers/project_lifecycle.h"
#include "util/error.h"

namespace berth::cmd {

using containers::ContainerRecord;

containers::ControlOptions control_options(const ProjectTarget& target,
                                           containers::ProgressFn progress) {
  containers::ControlOptions options;
  if (target.project) {
    options.graph = compose::service_graph(target.project->model);
    options.conditions = containers::dependency_conditions(target.project->model);
  }
  options.berth_executable = self_executable();
  options.progress = std::move(progress);
  return options;
}

std::vector<ContainerRecord> declared_only(const ProjectTarget& target,
                                           std::vector<ContainerRecord> records) {
  if (!target.project) return records;
  const auto& declared = target.project->declared_services;
  std::erase_if(records, [&](const ContainerRecord& record) {
    return std::find(declared.begin(), declared.end(), containers::service_of(record)) ==
           declared.end();
  });
  return records;
}

namespace {

/// The records whose status `keep` accepts, as the store has it now.
std::vector<ContainerRecord> in_state(const containers::ContainerStore& store,
                                      std::vector<ContainerRecord> records,
                                      const std::function<bool(const std::string&)>& keep) {
  std::erase_if(records, [&](const ContainerRecord& record) {
    return !keep(store.live_state(record.id).state.status);
  });
  return records;
}

/// The records of `services` only.
std::vector<ContainerRecord> of_services(std::vector<ContainerRecord> records,
                                         const std::vector<std::string>& services) {
  std::erase_if(records, [&](const ContainerRecord& record) {
    return std::find(services.begin(), services.end(), containers::service_of(record)) ==
           services.end();
  });
  return records;
}

std::optional<std::chrono::seconds> timeout_flag(int seconds) {
  if (seconds < 0) return std::nullopt;
  return std::chrono::seconds(seconds);
}

/// What `start SERVICE...` reaches with a file: the named services (every one when none is
/// named) and what they depend on, as Compose selects them. A named service the file does
/// not declare (an orphan with containers) is kept as it is.
std::vector<std::string> start_selection(const ProjectTarget& target,
                                         const orchestrator::ServiceGraph& graph,
                                         const std::vector<std::string>& services) {
  if (services.empty()) return target.project->start_order;
  std::vector<std::string> known;
  std::vector<std::string> selection;
  for (const auto& service : services) {
    (graph.contains(service) ? known : selection).push_back(service);
  }
  for (const auto& service : graph.with_dependencies(known)) selection.push_back(service);
  return selection;
}

/// Compose's check, made before anything starts: `start` never creates a container, so a
/// selected service with none (and a scale above 0) is an error.
void check_startable(const ProjectTarget& target, const std::vector<std::string>& selection,
                     const std::vector<ContainerRecord>& found) {
  for (const auto& service : selection) {
    const bool has_container = std::any_of(
        found.begin(), found.end(),
        [&](const ContainerRecord& record) { return containers::service_of(record) == service; });
    if (!has_container && compose::service_replicas(target.project->model, service) > 0) {
      throw Error(fmt::format("service \"{}\" has no container to start", service));
    }
  }
}

void run_start(const GlobalOptions& global, const std::vector<std::string>& services) {
  global.prepare();
  const ProjectTarget target = resolve_project(global);
  const auto store = container_store(global);
  ProgressDisplay display(progress_mode(global.progress));
  auto options = control_options(target, display.callback());
  auto found = service_containers(global, target, services);  // `no such service: x`
  if (target.project) {
    const auto all = service_containers(global, target, {});
    if (all.empty()) {
      throw Error(fmt::format("no container found for project \"{}\"", target.name));
    }
    const auto selection = start_selection(target, options.graph, services);
    found = of_services(all, selection);
    check_startable(target, selection, found);
  } else if (found.empty()) {
    throw Error(fmt::format("no container found for project \"{}\"", target.name));
  }
  const auto lock = containers::lock_project(store, target.name, options.progress);
  containers::start_containers(store, found, options);
}

void run_stop(const GlobalOptions& global, const std::vector<std::string>& services, int timeout) {
  global.prepare();
  const ProjectTarget target = resolve_project(global);
  const auto store = container_store(global);
  ProgressDisplay display(progress_mode(global.progress));
  auto options = control_options(target, display.callback());
  options.timeout = timeout_flag(timeout);
  // One-off `run` containers of the services stop too, as with Compose.
  const auto found = service_containers(global, target, services, true);
  const auto lock = containers::lock_project(store, target.name, options.progress);
  containers::stop_containers(store, found, options);
}

struct RestartFlags {
  std::vector<std::string> services;
  int timeout = -1;
  bool no_deps = false;
};

void run_restart(const GlobalOptions& global, const RestartFlags& flags) {
  global.prepare();
  const ProjectTarget target = resolve_project(global);
  const auto store = container_store(global);
  ProgressDisplay display(progress_mode(global.progress));
  auto options = control_options(target, display.callback());
  options.timeout = timeout_flag(flags.timeout);
  auto found = service_containers(global, target, flags.services);
  if (target.project) {
    const auto selection =
        containers::services_to_restart(target.project->model, flags.services, flags.no_deps);
    found = of_services(service_containers(global, target, {}), selection);
  }
  const auto lock = containers::lock_project(store, target.name, options.progress);
  containers::restart_containers(store, found, options);
}

struct KillFlags {
  std::vector<std::string> services;
  std::string signal = "SIGKILL";
  bool remove_orphans = false;
};

void run_kill(const GlobalOptions& global, const KillFlags& flags) {
  global.prepare();
  const int signal = signal_number(flags.signal);
  const ProjectTarget target = resolve_project(global);
  const auto store = container_store(global);
  auto found = service_containers(global, target, flags.services, true);
  // --remove-orphans: the orphans get the signal too (Compose's meaning of it for kill).
  if (!flags.remove_orphans) found = declared_only(target, std::move(found));
  found = in_state(store, std::move(found), [](const std::string& status) {
    return status == "running" || status == "paused";
  });
  if (found.empty()) {
    std::cerr << "No container to kill\n";  // Compose's words; not an error
    return;
  }
  ProgressDisplay display(progress_mode(global.progress));
  containers::kill_containers(store, found, signal, display.callback());
}

/// pause and unpause: the services' containers in the state the command changes.
void run_pause(const GlobalOptions& global, const std::vector<std::string>& services, bool pause) {
  global.prepare();
  const ProjectTarget target = resolve_project(global);
  const auto store = container_store(global);
  auto found = declared_only(target, service_containers(global, target, services));
  found = in_state(store, std::move(found), [pause](const std::string& status) {
    return status == (pause ? "running" : "paused");
  });
  ProgressDisplay display(progress_mode(global.progress));
  if (pause) {
    containers::pause_containers(store, found, display.callback());
  } else {
    containers::unpause_containers(store, found, display.callback());
  }
}

int run_wait(const GlobalOptions& global, const std::vector<std::string>& services,
             bool down_project) {
  global.prepare();
  const ProjectTarget target = resolve_project(global);
  const auto store = container_store(global);
  const auto found =
      in_state(store, service_containers(global, target, services, true), containers::is_active);
  if (found.empty()) throw Error(fmt::format("no containers for project \"{}\"", target.name));
  const int code = containers::wait_for_containers(
      store, found, [](const ContainerRecord& record, int exit_code) {
        std::cout << fmt::format("container \"{}\" exited with status code {}\n", record.id,
                                 exit_code)
                  << std::flush;
      });
  if (down_project) {
    containers::DownOptions down;
    if (target.project) {
      down.graph = compose::service_graph(target.project->model);
      down.declared_services = target.project->declared_services;
    }
    down.remove_orphans = true;  // as Compose's wait does
    ProgressDisplay display(progress_mode(global.progress));
    down.progress = display.callback();
    containers::down_project(store, target.name, down);
  }
  return code;
}

void add_services_positional(CLI::App& command, std::vector<std::string>& services) {
  command.add_option("service", services, "Services (default: all)");
}

void add_timeout_option(CLI::App& command, int& timeout) {
  command.add_option("-t,--timeout", timeout, "Specify a shutdown timeout in seconds");
}

void add_start_stop_restart(CLI::App& app, const GlobalOptions& global) {
  auto start_services = std::make_shared<std::vector<std::string>>();
  CLI::App* start = app.add_subcommand("start", "Start services");
  add_services_positional(*start, *start_services);
  start->callback([&global, start_services] { run_start(global, *start_services); });

  auto stop_services = std::make_shared<std::vector<std::string>>();
  auto stop_timeout = std::make_shared<int>(-1);
  CLI::App* stop = app.add_subcommand("stop", "Stop services");
  add_services_positional(*stop, *stop_services);
  add_timeout_option(*stop, *stop_timeout);
  stop->callback(
      [&global, stop_services, stop_timeout] { run_stop(global, *stop_services, *stop_timeout); });

  auto restart_flags = std::make_shared<RestartFlags>();
  CLI::App* restart = app.add_subcommand("restart", "Restart service containers");
  add_services_positional(*restart, restart_flags->services);
  add_timeout_option(*restart, restart_flags->timeout);
  restart->add_flag("--no-deps", restart_flags->no_deps, "Don't restart dependent services");
  restart->callback([&global, restart_flags] { run_restart(global, *restart_flags); });
}

void add_kill_pause_wait(CLI::App& app, const GlobalOptions& global) {
  auto kill_flags = std::make_shared<KillFlags>();
  CLI::App* kill = app.add_subcommand("kill", "Force stop service containers");
  add_services_positional(*kill, kill_flags->services);
  kill->add_flag("--remove-orphans", kill_flags->remove_orphans,
                 "Remove containers for services not defined in the Compose file")
      ->envname("COMPOSE_REMOVE_ORPHANS");
  kill->add_option("-s,--signal", kill_flags->signal, "SIGNAL to send to the container")
      ->capture_default_str();
  kill->callback([&global, kill_flags] { run_kill(global, *kill_flags); });

  auto pause_services = std::make_shared<std::vector<std::string>>();
  CLI::App* pause = app.add_subcommand("pause", "Pause services");
  add_services_positional(*pause, *pause_services);
  pause->callback([&global, pause_services] { run_pause(global, *pause_services, true); });

  auto unpause_services = std::make_shared<std::vector<std::string>>();
  CLI::App* unpause = app.add_subcommand("unpause", "Unpause services");
  add_services_positional(*unpause, *unpause_services);
  unpause->callback([&global, unpause_services] { run_pause(global, *unpause_services, false); });

  auto wait_services = std::make_shared<std::vector<std::string>>();
  auto down_project = std::make_shared<bool>(false);
  CLI::App* wait =
      app.add_subcommand("wait", "Block until containers of all (or specified) services stop.");
  wait->add_option("service", *wait_services, "Services")->required();
  wait->add_flag("--down-project", *down_project, "Drops project when the first container stops");
  wait->callback([&global, wait_services, down_project] {
    // Compose's exit code: the status of the container that ended last.
    const int code = run_wait(global, *wait_services, *down_project);
    if (code != 0) throw ExitCode(code);
  });
}

}  // namespace

void add_compose_control_commands(CLI::App& app, const GlobalOptions& global) {
  add_start_stop_restart(app, global);
  add_kill_pause_wait(app, global);
  add_compose_rm_command(app, global);
  add_compose_exec_command(app, global);
}

}  // namespace berth::cmd
