// `berth run`: a one-off command in a new container of a service (Compose's run): the
// service's dependencies brought up first unless --no-deps, the container labelled as a
// one-off so that `down` removes it, attached to our terminal unless -d, and berth's exit
// code the command's.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cmd/compose_project.h"
#include "cmd/container_flags.h"
#include "cmd/container_start.h"
#include "cmd/progress_display.h"
#include "orchestrator/compose/loader.h"
#include "orchestrator/compose/validate.h"
#include "orchestrator/containers/lifecycle.h"
#include "orchestrator/containers/project_lifecycle.h"
#include "orchestrator/model_values.h"
#include "orchestrator/service_mounts.h"
#include "orchestrator/service_spec.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/random.h"

namespace berth::cmd {

namespace {

using orchestrator::child;

struct OneOffFlags {
  std::string service;
  std::vector<std::string> command;
  bool detach = false;
  bool remove = false;
  std::string name;
  std::string entrypoint;
  bool entrypoint_given = false;
  std::vector<std::string> env;
  std::vector<std::string> labels;
  std::vector<std::string> publish;
  bool service_ports = false;
  std::vector<std::string> volumes;
  std::string workdir;
  std::string user;
  bool no_deps = false;
  bool no_tty = false;
  bool interactive = true;
  bool use_aliases = false;
  bool remove_orphans = false;
  std::string pull = "policy";
  bool build = false;
  std::string runtime = "crun";
};

/// The one-off container the flags ask for.
orchestrator::ServiceContainer oneoff_for(const compose::Project& project, const OneOffFlags& flags,
                                          const ProjectTarget& target) {
  auto container = orchestrator::oneoff_container(project, flags.service, random_hex(64),
                                                  flags.service_ports, flags.use_aliases);
  auto& spec = container.spec;
  if (!flags.name.empty()) spec.name = flags.name;
  if (!flags.command.empty()) spec.command = flags.command;
  if (flags.entrypoint_given) {
    // Compose splits --entrypoint as a command line; an empty one clears it.
    spec.entrypoint = flags.entrypoint.empty() ? std::vector<std::string>{}
                                               : std::vector<std::string>{flags.entrypoint};
    if (flags.command.empty()) spec.command.reset();
  }
  for (auto& entry : resolved_env(target, flags.env)) spec.env.push_back(std::move(entry));
  for (const auto& label : flags.labels) {
    const auto equals = label.find('=');
    spec.labels[label.substr(0, equals)] =
        equals == std::string::npos ? "" : label.substr(equals + 1);
  }
  for (const auto& port : flags.publish) spec.publish.push_back(port);
  if (!flags.workdir.empty()) spec.working_dir = flags.workdir;
  if (!flags.user.empty()) spec.user = flags.user;
  const auto declared = child(project.model, "volumes");
  for (const auto& text : flags.volumes) {
    auto mount = volume_of(text, project.working_dir);
    // A name of the project's volumes means that volume, as in the compose file.
    if (mount.type == runtime::MountSpec::Type::volume && child(declared, mount.source)) {
      mount.source = orchestrator::scalar(child(child(declared, mount.source), "name"),
                                          project.name + "_" + mount.source);
    }
    spec.mounts.push_back(std::move(mount));
  }
  const bool terminal = ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1;
  spec.tty = !flags.no_tty && !flags.detach && terminal;
  spec.interactive = flags.interactive && !flags.detach;
  return container;
}

int run_oneoff(const GlobalOptions& global, const OneOffFlags& flags) {
  global.prepare();
  const compose::Project project = compose::load_project(global.load_options());
  const ProjectTarget target{project.name, project};
  if (!child(child(project.model, "services"), flags.service)) {
    throw Error("no such service: " + flags.service);
  }
  auto container = oneoff_for(project, flags, target);  // mistakes before anything is made
  const auto store = container_store(global);
  const image::ImageStore images(global.root);
  {
    // The service's dependencies up, as `up -d` would; its networks and volumes in any case.
    ProgressDisplay display(progress_mode(global.progress));
    containers::UpOptions up;
    up.runtime = flags.runtime;
    up.berth_executable = self_executable();
    up.progress = display.callback();
    up.remove_orphans = flags.remove_orphans;
    up.pull = flags.pull == "policy" ? "" : flags.pull;
    up.services = {flags.service};
    up.only_dependencies = true;
    up.no_deps = flags.no_deps;
    up.build = service_builder(global, flags.runtime);
    containers::up_project(store, images, project, up);
    // The one-off's own image, built when it is missing or --build asks (Compose's rule).
    if (child(child(child(project.model, "services"), flags.service), "build") &&
        (flags.build || !images.find(project.image_of(flags.service)))) {
      up.build(project, {flags.service});
    }
  }
  containers::CreateOptions create;
  create.runtime = flags.runtime;
  create.auto_remove = flags.remove;
  create.files = std::move(container.files);
  const auto record = containers::create_container(images, store, container.spec, create);
  const int code = start_and_attach(store, record, !flags.detach, container.spec.interactive);
  if (flags.detach) std::cout << record.name << "\n";
  return code;
}

}  // namespace

void add_run_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<OneOffFlags>();
  CLI::App* run = app.add_subcommand("run", "Run a one-off command on a service");
  run->footer("Arguments: SERVICE [COMMAND] [ARGS...]");
  run->add_flag("-d,--detach", flags->detach, "Run container in background and print its name");
  run->add_flag("--rm", flags->remove, "Automatically remove the container when it exits");
  run->add_option("--name", flags->name, "Assign a name to the container");
  run->add_option("--entrypoint", flags->entrypoint, "Override the entrypoint of the image")
      ->each([flags](const std::string&) { flags->entrypoint_given = true; });
  run->add_option("-e,--env", flags->env, "Set environment variables")->allow_extra_args(false);
  run->add_option("-l,--label", flags->labels, "Add or override a label")->allow_extra_args(false);
  run->add_option("-p,--publish", flags->publish, "Publish a container's port(s) to the host")
      ->allow_extra_args(false);
  run->add_flag("-P,--service-ports", flags->service_ports,
                "Run command with all service's ports enabled and mapped to the host");
  run->add_option("-v,--volume", flags->volumes, "Bind mount a volume")->allow_extra_args(false);
  run->add_option("-w,--workdir", flags->workdir, "Working directory inside the container");
  run->add_option("-u,--user", flags->user, "Run as specified username or uid");
  run->add_flag("--no-deps", flags->no_deps, "Don't start linked services");
  run->add_flag("-T,--no-TTY", flags->no_tty,
                "Disable pseudo-TTY allocation (default: auto-detected)");
  run->add_flag("-i,--interactive", flags->interactive, "Keep STDIN open even if not attached")
      ->default_str("true");
  run->add_flag("--use-aliases", flags->use_aliases,
                "Use the service's network aliases in the network(s) the container connects to");
  run->add_flag("--remove-orphans", flags->remove_orphans,
                "Remove containers for services not defined in the Compose file");
  run->add_option("--pull", flags->pull,
                  "Pull image before running (\"always\"|\"missing\"|\"never\")");
  run->add_flag("--build", flags->build, "Build image before starting container");
  run->add_option("--runtime", flags->runtime, "OCI runtime: crun or runc")
      ->envname("BERTH_RUNTIME");
  // SERVICE [COMMAND...]: options end at the service name; the command's are its own.
  run->fallthrough(false);
  run->prefix_command();
  run->callback([&global, run, flags] {
    const std::vector<std::string> rest = run->remaining();
    if (rest.empty()) throw Error("run requires a service");
    flags->service = rest.front();
    flags->command.assign(rest.begin() + 1, rest.end());
    const int code = run_oneoff(global, *flags);
    if (code != 0) throw ExitCode{code};
  });
}

}  // namespace berth::cmd
