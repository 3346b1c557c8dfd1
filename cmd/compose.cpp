// `berth up` and `berth down`: a compose project brought up and taken down.
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cmd/global_options.h"
#include "image/store.h"
#include "orchestrator/compose/loader.h"
#include "orchestrator/compose/validate.h"
#include "orchestrator/containers/project_lifecycle.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

struct UpFlags {
  bool detach = false;
  std::string runtime = "crun";
  std::size_t parallel = 0;
};

struct DownFlags {
  bool volumes = false;
  int timeout = -1;
};

/// Compose's plain progress: one line per step on standard error.
void print_progress(const std::string& line) {
  std::cerr << " " << line << "\n";
}

}  // namespace

void add_compose_commands(CLI::App& app, const GlobalOptions& global) {
  auto up_flags = std::make_shared<UpFlags>();
  CLI::App* up = app.add_subcommand("up", "Create and start the project's containers");
  up->add_flag("-d,--detach", up_flags->detach, "Run in the background");
  up->add_option("--parallel", up_flags->parallel, "Services handled at once (0: no limit)");
  up->add_option("--runtime", up_flags->runtime, "OCI runtime: crun or runc")
      ->envname("BERTH_RUNTIME");
  up->callback([&global, up_flags] {
    global.prepare();
    if (!up_flags->detach) {
      throw Error(
          "up without -d (attached, with the services' logs) is not supported yet: "
          "use up -d, then berth container logs");
    }
    const compose::Project project = compose::load_project(global.load_options());
    containers::UpOptions options;
    options.runtime = up_flags->runtime;
    options.parallel = up_flags->parallel;
    options.berth_executable = self_executable();
    options.progress = print_progress;
    containers::up_project(containers::ContainerStore(global.root, global.runroot),
                           image::ImageStore(global.root), project, options);
  });

  auto down_flags = std::make_shared<DownFlags>();
  CLI::App* down = app.add_subcommand("down", "Stop and remove the project's containers");
  down->add_flag("-v,--volumes", down_flags->volumes,
                 "Remove named volumes of the project and anonymous volumes of its containers");
  down->add_option("-t,--timeout", down_flags->timeout, "Seconds to wait before SIGKILL");
  down->callback([&global, down_flags] {
    global.prepare();
    // `-p NAME down` works without the compose file, from the labels alone.
    std::string name = global.project_name;
    orchestrator::ServiceGraph graph;
    try {
      const compose::Project project = compose::load_project(global.load_options());
      name = project.name;
      graph = compose::service_graph(project.model);
    } catch (const Error&) {
      if (name.empty()) throw;
    }
    containers::DownOptions options;
    options.volumes = down_flags->volumes;
    if (down_flags->timeout >= 0) options.timeout = std::chrono::seconds(down_flags->timeout);
    options.progress = print_progress;
    containers::down_project(containers::ContainerStore(global.root, global.runroot), name, graph,
                             options);
  });
}

}  // namespace berth::cmd
