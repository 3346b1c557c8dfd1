// `berth build [SERVICE...]`: the images of the services with `build:`, and the builder that
// `up`, `create` and `run` use for the images they miss.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cmd/compose_project.h"
#include "cmd/image_output.h"
#include "orchestrator/builder/service_build.h"
#include "orchestrator/compose/loader.h"
#include "orchestrator/model_values.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

using orchestrator::child;

struct BuildFlags {
  std::vector<std::string> services;
  std::vector<std::string> build_args;
  bool no_cache = false;
  bool pull = false;
  bool quiet = false;
  std::string runtime = "crun";
};

}  // namespace

std::function<void(const compose::Project&, const std::vector<std::string>&)> service_builder(
    const GlobalOptions& global, const std::string& runtime) {
  return [&global, runtime](const compose::Project& project,
                            const std::vector<std::string>& services) {
    builder::ServiceBuildOptions common;
    common.progress = build_progress_mode(global.progress);
    common.runtime = runtime;
    common.berth_executable = self_executable();
    builder::build_services(image::ImageStore(global.root), container_store(global), project,
                            services, common, stderr);
  };
}

void add_build_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<BuildFlags>();
  CLI::App* build = app.add_subcommand("build", "Build or rebuild services");
  build->add_option("service", flags->services, "Services (default: all)");
  build->add_option("--build-arg", flags->build_args, "Set build-time variables for services");
  build->add_flag("--no-cache", flags->no_cache, "Do not use cache when building the image");
  build->add_flag("--pull", flags->pull, "Always attempt to pull a newer version of the image");
  build->add_flag("-q,--quiet", flags->quiet, "Don't print anything to STDOUT");
  build->add_option("--runtime", flags->runtime, "OCI runtime of RUN steps: crun or runc")
      ->envname("BERTH_RUNTIME");
  build->callback([&global, flags] {
    global.prepare();
    const auto project = compose::load_project(global.load_options());
    std::vector<std::string> services = flags->services;
    if (services.empty()) services = project.service_names();
    for (const auto& service : services) {
      if (!child(child(project.model, "services"), service)) {
        throw Error("no such service: " + service);
      }
    }
    builder::ServiceBuildOptions common;
    common.no_cache = flags->no_cache;
    common.pull = flags->pull;
    common.progress =
        flags->quiet ? builder::ProgressMode::quiet : build_progress_mode(global.progress);
    common.runtime = flags->runtime;
    common.berth_executable = self_executable();
    for (const auto& entry : flags->build_args) {
      const auto equals = entry.find('=');
      if (equals != std::string::npos) {
        common.build_args[entry.substr(0, equals)] = entry.substr(equals + 1);
      } else if (const char* value = std::getenv(entry.c_str())) {
        common.build_args[entry] = value;
      }
    }
    // Nothing to build is no error, as with Compose: no service has a build section.
    builder::build_services(image::ImageStore(global.root), container_store(global), project,
                            services, common, stderr);
  });
}

}  // namespace berth::cmd
