// The compose commands' registration, and `berth down`.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cmd/compose_cp.h"
#include "cmd/compose_project.h"
#include "cmd/global_options.h"
#include "cmd/progress_display.h"
#include "orchestrator/compose/validate.h"
#include "orchestrator/containers/project_lifecycle.h"
#include "orchestrator/model_values.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

struct DownFlags {
  bool volumes = false;
  bool remove_orphans = false;
  int timeout = -1;
  std::string rmi;
};

void add_down_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<DownFlags>();
  CLI::App* down = app.add_subcommand("down", "Stop and remove containers, networks");
  down->add_flag("-v,--volumes", flags->volumes,
                 "Remove named volumes declared in the \"volumes\" section of the Compose file "
                 "and anonymous volumes attached to containers");
  down->add_flag("--remove-orphans", flags->remove_orphans,
                 "Remove containers for services not defined in the Compose file")
      ->envname("COMPOSE_REMOVE_ORPHANS");
  down->add_option("-t,--timeout", flags->timeout, "Specify a shutdown timeout in seconds");
  down->add_option("--rmi", flags->rmi,
                   "Remove images used by services. \"local\" remove only images that don't "
                   "have a custom tag (\"local\"|\"all\")")
      ->check(CLI::IsMember({"local", "all"}));
  down->callback([&global, flags] {
    global.prepare();
    // `-p NAME down` works without the compose file, from the labels alone.
    const ProjectTarget target = resolve_project(global);
    containers::DownOptions options;
    if (target.project) {
      options.graph = compose::service_graph(target.project->model);
      options.declared_services = target.project->declared_services;
      for (const auto& service : target.project->declared_services) {
        const bool named = static_cast<bool>(orchestrator::child(
            orchestrator::child(orchestrator::child(target.project->model, "services"), service),
            "image"));
        options.service_images.emplace_back(target.project->image_of(service), named);
      }
    }
    options.rmi = flags->rmi;
    options.volumes = flags->volumes;
    options.remove_orphans = flags->remove_orphans;
    if (flags->timeout >= 0) options.timeout = std::chrono::seconds(flags->timeout);
    ProgressDisplay display(progress_mode(global.progress));
    options.progress = display.callback();
    containers::down_project(container_store(global), target.name, options);
  });
}

}  // namespace

void add_compose_commands(CLI::App& app, const GlobalOptions& global) {
  add_up_command(app, global);
  add_down_command(app, global);
  add_logs_command(app, global);
  add_transfer_commands(app, global);
  add_build_command(app, global);
  add_run_command(app, global);
  add_compose_cp_command(app, global);
  add_events_command(app, global);
}

}  // namespace berth::cmd
