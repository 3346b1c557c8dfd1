// `berth pull` and `berth push`: the project's service images to and from registries (each
// image once, all at once).
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cmd/compose_project.h"
#include "cmd/progress_display.h"
#include "orchestrator/compose/loader.h"
#include "orchestrator/compose/validate.h"
#include "orchestrator/containers/project_images.h"
#include "orchestrator/model_values.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

using orchestrator::child;
using orchestrator::scalar;

struct TransferFlags {
  std::vector<std::string> services;
  bool ignore_failures = false;
  bool include_deps = false;
  bool quiet = false;
  std::string policy = "always";
};

/// The services named (all when none), checked against the file.
std::vector<std::string> chosen_services(const compose::Project& project,
                                         const TransferFlags& flags) {
  if (flags.services.empty()) return project.service_names();
  for (const auto& service : flags.services) {
    if (!child(child(project.model, "services"), service)) {
      throw Error("no such service: " + service);
    }
  }
  if (!flags.include_deps) return flags.services;
  const auto closure = compose::service_graph(project.model).with_dependencies(flags.services);
  return {closure.begin(), closure.end()};
}

/// Failures as one error (or warnings with --ignore-*-failures).
void finish(const std::vector<std::string>& failures, bool ignore,
            const std::function<void(const std::string&)>& progress) {
  if (failures.empty()) return;
  for (const auto& failure : failures) {
    progress((ignore ? "warning: " : "Error: ") + failure);
  }
  if (ignore) return;
  throw Error(failures.size() == 1 ? failures.front()
                                   : fmt::format("{} (and {} more failures, above)",
                                                 failures.front(), failures.size() - 1));
}

void add_pull_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<TransferFlags>();
  CLI::App* pull = app.add_subcommand("pull", "Pull service images");
  pull->add_option("service", flags->services, "Services (default: all)");
  pull->add_flag("--ignore-pull-failures", flags->ignore_failures,
                 "Pull what it can and ignores images with pull failures");
  pull->add_flag("--include-deps", flags->include_deps,
                 "Also pull services declared as dependencies");
  pull->add_option("--policy", flags->policy, "Apply pull policy (\"missing\"|\"always\")")
      ->check(CLI::IsMember({"missing", "always"}));
  pull->add_flag("-q,--quiet", flags->quiet, "Pull without printing progress information");
  pull->callback([&global, flags] {
    global.prepare();
    const auto project = compose::load_project(global.load_options());
    const image::ImageStore images(global.root);
    containers::ServiceImages wanted;
    for (const auto& service : chosen_services(project, *flags)) {
      const auto definition = child(child(project.model, "services"), service);
      // A service built from source has nothing to pull (Compose's --ignore-buildable is
      // the rule here, since berth builds nothing from a registry).
      if (!child(definition, "image")) continue;
      const std::string image = scalar(child(definition, "image"));
      if (flags->policy == "missing" && images.find(image)) continue;
      wanted[image].push_back(service);
    }
    ProgressDisplay display(flags->quiet ? ProgressMode::quiet : progress_mode(global.progress));
    finish(containers::pull_service_images(images, wanted, display.callback()),
           flags->ignore_failures, display.callback());
  });
}

void add_push_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<TransferFlags>();
  CLI::App* push = app.add_subcommand("push", "Push service images");
  push->add_option("service", flags->services, "Services (default: all)");
  push->add_flag("--ignore-push-failures", flags->ignore_failures,
                 "Push what it can and ignores images with push failures");
  push->add_flag("--include-deps", flags->include_deps,
                 "Also push images of services declared as dependencies");
  push->add_flag("-q,--quiet", flags->quiet, "Push without printing progress information");
  push->callback([&global, flags] {
    global.prepare();
    const auto project = compose::load_project(global.load_options());
    containers::ServiceImages wanted;
    for (const auto& service : chosen_services(project, *flags)) {
      const auto definition = child(child(project.model, "services"), service);
      // Compose pushes the services that build their image and name it.
      if (!child(definition, "build") || !child(definition, "image")) continue;
      wanted[scalar(child(definition, "image"))].push_back(service);
    }
    ProgressDisplay display(flags->quiet ? ProgressMode::quiet : progress_mode(global.progress));
    finish(
        containers::push_service_images(image::ImageStore(global.root), wanted, display.callback()),
        flags->ignore_failures, display.callback());
  });
}

}  // namespace

void add_transfer_commands(CLI::App& app, const GlobalOptions& global) {
  add_pull_command(app, global);
  add_push_command(app, global);
}

}  // namespace berth::cmd
