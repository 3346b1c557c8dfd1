// `berth up`: flags as Compose v2 has them, checked as Compose checks them, then the project
// brought up detached (-d, --wait) or attached (cmd/compose_attach).
#include <unistd.h>

#include <map>
#include <memory>
#include <set>
#include <string>

#include <fmt/format.h>

#include "cmd/compose_attach.h"
#include "cmd/compose_project.h"
#include "cmd/progress_display.h"
#include "orchestrator/compose/loader.h"
#include "orchestrator/compose/validate.h"
#include "orchestrator/containers/project_lifecycle.h"
#include "orchestrator/model_values.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

struct UpFlags {
  std::vector<std::string> services;
  bool detach = false;
  std::string runtime = "crun";
  std::size_t parallel = 0;
  bool force_recreate = false;
  bool no_recreate = false;
  bool always_recreate_deps = false;
  bool no_deps = false;
  bool no_start = false;
  bool remove_orphans = false;
  bool renew_anon_volumes = false;
  std::vector<std::string> scale;
  bool wait = false;
  int wait_timeout = 0;
  bool abort_on_exit = false;
  bool abort_on_failure = false;
  std::string exit_code_from;
  std::vector<std::string> attach;
  std::vector<std::string> no_attach;
  bool attach_dependencies = false;
  bool no_color = false;
  bool no_log_prefix = false;
  bool timestamps = false;
  int timeout = -1;
  std::string pull = "policy";
  bool build = false;
  bool no_build = false;
};

/// Compose's checks of the flags, in its words.
void check(UpFlags& flags) {
  if (!flags.exit_code_from.empty() && !flags.abort_on_failure) flags.abort_on_exit = true;
  if (flags.abort_on_exit && flags.abort_on_failure) {
    throw Error("--abort-on-container-failure cannot be combined with --abort-on-container-exit");
  }
  if (flags.wait) {
    if (flags.attach_dependencies || flags.abort_on_exit || !flags.attach.empty()) {
      throw Error(
          "--wait cannot be combined with --abort-on-container-exit, --attach or "
          "--attach-dependencies");
    }
    flags.detach = true;
  }
  if (flags.detach && (flags.attach_dependencies || flags.abort_on_exit || flags.abort_on_failure ||
                       !flags.attach.empty())) {
    throw Error(
        "--detach cannot be combined with --abort-on-container-exit, "
        "--abort-on-container-failure, --attach or --attach-dependencies");
  }
  if (flags.renew_anon_volumes && flags.no_recreate) {
    throw Error("--no-recreate and --renew-anon-volumes are incompatible");
  }
  if (flags.force_recreate && flags.no_recreate) {
    throw Error("--force-recreate and --no-recreate are incompatible");
  }
  if (flags.always_recreate_deps && flags.no_recreate) {
    throw Error("--always-recreate-deps and --no-recreate are incompatible");
  }
  if (flags.pull != "policy" && flags.pull != "always" && flags.pull != "missing" &&
      flags.pull != "never") {
    throw Error("invalid --pull option \"" + flags.pull + "\": expected always, missing or never");
  }
  if (!flags.attach.empty() && flags.attach_dependencies) {
    throw Error("cannot combine --attach and --attach-dependencies");
  }
}

/// --scale SERVICE=NUM, each.
std::map<std::string, long> parse_scale(const std::vector<std::string>& entries) {
  std::map<std::string, long> scale;
  for (const auto& entry : entries) {
    const auto equals = entry.find('=');
    long replicas = -1;
    if (equals != std::string::npos) {
      try {
        std::size_t used = 0;
        replicas = std::stol(entry.substr(equals + 1), &used);
        if (used != entry.size() - equals - 1) replicas = -1;
      } catch (const std::exception&) {
        replicas = -1;
      }
    }
    if (equals == std::string::npos || equals == 0 || replicas < 0) {
      throw Error(fmt::format("--scale {}: expected SERVICE=NUM", entry));
    }
    scale[entry.substr(0, equals)] = replicas;
  }
  return scale;
}

/// The services whose output attached `up` follows: the named ones (all when none), their
/// dependencies too with --attach-dependencies, or exactly --attach's; minus --no-attach and
/// services with `attach: false`.
std::set<std::string> attached_services(const compose::Project& project, const UpFlags& flags) {
  std::set<std::string> attach;
  const auto services = orchestrator::child(project.model, "services");
  if (!flags.attach.empty()) {
    for (const auto& service : flags.attach) {
      if (!orchestrator::child(services, service)) {
        throw Error("cannot attach to services not included in up: " + service);
      }
      attach.insert(service);
    }
  } else {
    std::set<std::string> chosen(flags.services.begin(), flags.services.end());
    if (flags.services.empty()) {
      chosen.insert(project.start_order.begin(), project.start_order.end());
    } else if (flags.attach_dependencies) {
      chosen = compose::service_graph(project.model).with_dependencies(flags.services);
    }
    for (const auto& service : chosen) {
      const auto opted = orchestrator::child(orchestrator::child(services, service), "attach");
      if (!opted || orchestrator::truthy(opted)) attach.insert(service);
    }
  }
  for (const auto& service : flags.no_attach) attach.erase(service);
  return attach;
}

/// The flags `up` and `create` share: what to recreate, scale and pull.
void add_convergence_flags(CLI::App* command, UpFlags& flags) {
  command->add_option("service", flags.services, "Services (default: all)");
  command->add_flag("--force-recreate", flags.force_recreate,
                    "Recreate containers even if their configuration and image haven't changed");
  command->add_flag("--no-recreate", flags.no_recreate,
                    "If containers already exist, don't recreate them. Incompatible with "
                    "--force-recreate.");
  command
      ->add_flag("--remove-orphans", flags.remove_orphans,
                 "Remove containers for services not defined in the Compose file")
      ->envname("COMPOSE_REMOVE_ORPHANS");
  command
      ->add_option("--scale", flags.scale,
                   "Scale SERVICE to NUM instances. Overrides the `scale` setting in the "
                   "Compose file if present.")
      ->type_name("SERVICE=NUM");
  command
      ->add_option("--pull", flags.pull,
                   "Pull image before running (\"always\"|\"missing\"|\"never\")")
      ->capture_default_str();
  command->add_flag("--build", flags.build, "Build images before starting containers");
  command->add_flag("--no-build", flags.no_build, "Don't build an image, even if it's missing");
  command->add_option("--runtime", flags.runtime, "OCI runtime: crun or runc")
      ->envname("BERTH_RUNTIME");
}

/// What the flags ask of the project's convergence.
containers::UpOptions up_options(const UpFlags& flags, const GlobalOptions& global) {
  if (flags.build && flags.no_build) throw Error("--build and --no-build are incompatible");
  containers::UpOptions options;
  options.build = service_builder(global, flags.runtime);
  options.build_policy = flags.build      ? containers::UpOptions::BuildPolicy::always
                         : flags.no_build ? containers::UpOptions::BuildPolicy::never
                                          : containers::UpOptions::BuildPolicy::missing;
  options.runtime = flags.runtime;
  options.parallel = flags.parallel;
  options.berth_executable = self_executable();
  options.services = flags.services;
  options.no_deps = flags.no_deps;
  options.recreate = flags.force_recreate ? orchestrator::RecreatePolicy::force
                     : flags.no_recreate  ? orchestrator::RecreatePolicy::never
                                          : orchestrator::RecreatePolicy::diverged;
  options.always_recreate_deps = flags.always_recreate_deps;
  options.start = !flags.no_start;
  options.renew_anonymous_volumes = flags.renew_anon_volumes;
  options.remove_orphans = flags.remove_orphans;
  options.scale = parse_scale(flags.scale);
  options.pull = flags.pull == "policy" ? "" : flags.pull;
  return options;
}

/// Converges the project detached, with progress as the global flags ask.
void converge_detached(const GlobalOptions& global, const compose::Project& project,
                       containers::UpOptions options) {
  ProgressDisplay display(progress_mode(global.progress));
  options.progress = display.callback();
  containers::up_project(container_store(global), image::ImageStore(global.root), project, options);
}

void add_create_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<UpFlags>();
  CLI::App* create = app.add_subcommand("create", "Creates containers for a service");
  add_convergence_flags(create, *flags);
  create->callback([&global, flags] {
    global.prepare();
    flags->no_start = true;
    check(*flags);
    converge_detached(global, compose::load_project(global.load_options()),
                      up_options(*flags, global));
  });
}

void add_scale_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<UpFlags>();
  CLI::App* scale = app.add_subcommand("scale", "Scale services");
  scale->add_option("service", flags->scale, "SERVICE=REPLICAS")->required();
  scale->add_flag("--no-deps", flags->no_deps, "Don't start linked services");
  scale->add_option("--runtime", flags->runtime, "OCI runtime: crun or runc")
      ->envname("BERTH_RUNTIME");
  scale->callback([&global, flags] {
    global.prepare();
    const auto project = compose::load_project(global.load_options());
    auto options = up_options(*flags, global);
    for (const auto& [service, replicas] : options.scale) options.services.push_back(service);
    converge_detached(global, project, options);
  });
}

}  // namespace

void add_up_command(CLI::App& app, const GlobalOptions& global) {
  add_create_command(app, global);
  add_scale_command(app, global);
  auto flags = std::make_shared<UpFlags>();
  CLI::App* up = app.add_subcommand("up", "Create and start containers");
  add_convergence_flags(up, *flags);
  up->add_flag("-d,--detach", flags->detach, "Detached mode: Run containers in the background");
  up->add_option("--parallel", flags->parallel, "Services handled at once (0: no limit)");
  up->add_flag("--always-recreate-deps", flags->always_recreate_deps,
               "Recreate dependent containers. Incompatible with --no-recreate.");
  up->add_flag("--no-deps", flags->no_deps, "Don't start linked services");
  up->add_flag("--no-start", flags->no_start, "Don't start the services after creating them");
  up->add_flag("-V,--renew-anon-volumes", flags->renew_anon_volumes,
               "Recreate anonymous volumes instead of retrieving data from the previous "
               "containers");
  up->add_flag("--wait", flags->wait,
               "Wait for services to be running|healthy. Implies detached mode.");
  up->add_option("--wait-timeout", flags->wait_timeout,
                 "Maximum duration in seconds to wait for the project to be running|healthy");
  up->add_flag("--abort-on-container-exit", flags->abort_on_exit,
               "Stops all containers if any container was stopped. Incompatible with -d");
  up->add_flag("--abort-on-container-failure", flags->abort_on_failure,
               "Stops all containers if any container exited with failure. Incompatible with -d");
  up->add_option("--exit-code-from", flags->exit_code_from,
                 "Return the exit code of the selected service container. Implies "
                 "--abort-on-container-exit");
  up->add_option("--attach", flags->attach, "Restrict attaching to the specified services")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  up->add_option("--no-attach", flags->no_attach,
                 "Do not attach (stream logs) to the specified services")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  up->add_flag("--attach-dependencies", flags->attach_dependencies,
               "Automatically attach to log output of dependent services");
  up->add_flag("--no-color", flags->no_color, "Produce monochrome output");
  up->add_flag("--no-log-prefix", flags->no_log_prefix, "Don't print prefix in logs");
  up->add_flag("--timestamps", flags->timestamps, "Show timestamps");
  up->add_option("-t,--timeout", flags->timeout,
                 "Use this timeout in seconds for container shutdown when attached or when "
                 "containers are already running");
  up->callback([&global, flags] {
    global.prepare();
    check(*flags);
    const compose::Project project = compose::load_project(global.load_options());
    if (!flags->exit_code_from.empty() &&
        !orchestrator::child(orchestrator::child(project.model, "services"),
                             flags->exit_code_from)) {
      throw Error("no such service: " + flags->exit_code_from);
    }
    containers::UpOptions options = up_options(*flags, global);
    const auto store = container_store(global);
    const image::ImageStore images(global.root);
    ProgressMode mode = progress_mode(global.progress);
    if (flags->detach || flags->no_start) {
      ProgressDisplay display(mode);
      options.progress = display.callback();
      containers::up_project(store, images, project, options);
      if (flags->wait) {
        containers::WaitOptions wait;
        wait.services = flags->services;
        wait.no_deps = flags->no_deps;
        if (flags->wait_timeout > 0) wait.timeout = std::chrono::seconds(flags->wait_timeout);
        wait.progress = options.progress;
        containers::wait_project(store, project, wait);
      }
      return;
    }
    // Attached, the services' output shares the terminal: progress comes as plain lines.
    if (mode == ProgressMode::tty) mode = ProgressMode::plain;
    ProgressDisplay display(mode);
    options.progress = display.callback();
    AttachedUpOptions attached;
    attached.attach = attached_services(project, *flags);
    attached.printer.color = !flags->no_color && wants_color(STDOUT_FILENO);
    attached.printer.prefix = !flags->no_log_prefix;
    attached.printer.timestamps = flags->timestamps;
    attached.abort_on_exit = flags->abort_on_exit;
    attached.abort_on_failure = flags->abort_on_failure;
    attached.exit_code_from = flags->exit_code_from;
    if (flags->timeout >= 0) attached.timeout = std::chrono::seconds(flags->timeout);
    const int code = run_attached_up(store, images, project, options, attached);
    if (code != 0) throw ExitCode{code};
  });
}

}  // namespace berth::cmd
