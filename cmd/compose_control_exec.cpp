// `berth exec`: Compose's exec, a command in one running container of a service, with the
// process's exit code as berth's.
#include <unistd.h>

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "cmd/compose_control.h"
#include "orchestrator/containers/lifecycle.h"
#include "orchestrator/containers/project_containers.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

using containers::ContainerRecord;

struct ExecFlags {
  std::string service;
  std::vector<std::string> command;
  std::vector<std::string> env;
  std::string user;
  std::string workdir;
  int index = 0;  // 0: the lowest-numbered running container
  bool detach = false;
  bool no_tty = false;
  bool privileged = false;
  bool legacy_interactive = false;  // Compose's hidden -i and -t: accepted, always on
  bool legacy_tty = false;
};

/// The running container number `index` of the service (the lowest-numbered one for 0, a
/// one-off `run` container last), with Compose's errors when there is none.
ContainerRecord exec_target(const GlobalOptions& global, const ProjectTarget& target,
                            const std::string& service, int index) {
  auto found = service_containers(global, target, {service}, true);  // `no such service: x`
  const auto store = container_store(global);
  std::erase_if(found, [&](const ContainerRecord& record) {
    return !containers::is_active(store.live_state(record.id).state.status) ||
           (index > 0 && (containers::is_oneoff(record) || containers::number_of(record) != index));
  });
  if (found.empty()) {
    if (index > 0) {
      throw Error(fmt::format("service \"{}\" is not running container #{}", service, index));
    }
    throw Error(fmt::format("service \"{}\" is not running", service));
  }
  return found.front();  // project_containers sorts by number, one-off containers last
}

int run_exec(const GlobalOptions& global, const ExecFlags& flags) {
  global.prepare();
  if (flags.privileged) throw Error("exec --privileged is not supported by berth yet");
  const ProjectTarget target = resolve_project(global);
  const ContainerRecord record = exec_target(global, target, flags.service, flags.index);
  containers::ExecOptions options;
  options.args = flags.command;
  options.env = resolved_env(target, flags.env);
  options.user = flags.user;
  options.working_dir = flags.workdir;
  // Compose passes standard input through and, unless -T, gives the process a terminal;
  // berth does so only when there is a terminal to relay (a pipe into a tty would fail).
  options.detach = flags.detach;
  options.interactive = !flags.detach;
  options.tty =
      !flags.no_tty && !flags.detach && ::isatty(STDIN_FILENO) != 0 && ::isatty(STDOUT_FILENO) != 0;
  return containers::exec_in_container(container_store(global), record, options);
}

}  // namespace

void add_compose_exec_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<ExecFlags>();
  CLI::App* exec = app.add_subcommand("exec", "Execute a command in a running container");
  exec->footer("Arguments: SERVICE COMMAND [ARGS...]");
  exec->add_flag("-d,--detach", flags->detach, "Detached mode: Run command in the background");
  exec->add_option("-e,--env", flags->env, "Set environment variables")->allow_extra_args(false);
  exec->add_option("--index", flags->index,
                   "Index of the container if service has multiple replicas");
  exec->add_flag("--privileged", flags->privileged, "Give extended privileges to the process");
  exec->add_option("-u,--user", flags->user, "Run the command as this user");
  exec->add_flag("-T,--no-tty", flags->no_tty,
                 "Disable pseudo-TTY allocation. By default 'berth exec' allocates a TTY.");
  exec->add_option("-w,--workdir", flags->workdir, "Path to workdir directory for this command");
  exec->add_flag("-i,--interactive", flags->legacy_interactive,
                 "Keep STDIN open even if not attached")
      ->group("");
  exec->add_flag("-t,--tty", flags->legacy_tty, "Allocate a pseudo-TTY")->group("");
  // SERVICE COMMAND [ARGS...]: options end at the service name (the command's own options
  // are its own), so they are read from what the parser leaves.
  exec->fallthrough(false);
  exec->prefix_command();
  exec->callback([&global, exec, flags] {
    const std::vector<std::string> rest = exec->remaining();
    if (rest.size() < 2) throw Error("exec requires a service and a command");
    flags->service = rest.front();
    flags->command.assign(rest.begin() + 1, rest.end());
    const int code = run_exec(global, *flags);
    if (code != 0) throw ExitCode(code);
  });
}

}  // namespace berth::cmd
