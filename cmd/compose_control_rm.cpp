// `berth rm`: Compose's removal of a project's stopped containers, with its confirmation.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>
#include <sstream>

#include "cmd/compose_control.h"
#include "cmd/progress_display.h"
#include "orchestrator/containers/project_containers.h"

namespace berth::cmd {

namespace {

using containers::ContainerRecord;

/// The answer typed on `line`: its first word, in lower case.
std::string answer_of(const std::string& line) {
  std::string word;
  std::istringstream(line) >> word;
  for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return word;
}

/// Compose's confirmation. On a terminal: `MESSAGE [y/N]: ` until the answer is y, yes, n,
/// no or empty (no). From a pipe, which nobody may be typing into, Compose neither waits for
/// a terminal nor asks twice: it prints the message, reads one line and takes it as a Go
/// boolean (true, t or 1 is yes; anything else, an empty input included, is no).
bool confirm(const std::string& message) {
  std::string line;
  if (::isatty(STDIN_FILENO) == 0) {
    std::cout << message << "\n" << std::flush;
    std::getline(std::cin, line);
    const std::string word = answer_of(line);
    return word == "true" || word == "t" || word == "1";
  }
  while (true) {
    std::cout << message << " [y/N]: " << std::flush;
    if (!std::getline(std::cin, line)) return false;
    const std::string word = answer_of(line);
    if (word == "y" || word == "yes") return true;
    if (word.empty() || word == "n" || word == "no") return false;
  }
}

struct RmFlags {
  std::vector<std::string> services;
  bool force = false;
  bool stop = false;
  bool volumes = false;
  bool all = false;  // Compose's deprecated -a: accepted, no effect
};

void run_rm(const GlobalOptions& global, const RmFlags& flags) {
  global.prepare();
  const ProjectTarget target = resolve_project(global);
  const auto store = container_store(global);
  // One-off `run` containers and orphans are not rm's (Compose leaves them to down).
  auto found = declared_only(target, service_containers(global, target, flags.services));
  const auto lock = containers::lock_project(store, target.name, [](const std::string& line) {
    std::cerr << " " << line << "\n";  // before any display: a plain line
  });
  if (flags.stop) {
    // Its own display: it must be done drawing before the question is asked.
    ProgressDisplay display(progress_mode(global.progress));
    containers::stop_containers(store, found, control_options(target, display.callback()));
  }
  std::erase_if(found, [&](const ContainerRecord& record) {
    return containers::is_active(store.live_state(record.id).state.status);
  });
  if (found.empty()) {
    std::cerr << "No stopped containers\n";  // Compose's words; not an error
    return;
  }
  std::string names;
  for (const auto& record : found) names += (names.empty() ? "" : ", ") + record.name;
  const std::string message = "Going to remove " + names;
  if (flags.force) {
    std::cout << message << "\n" << std::flush;
  } else if (!confirm(message)) {
    return;
  }
  ProgressDisplay display(progress_mode(global.progress));
  containers::remove_containers(store, found, flags.force, flags.volumes, display.callback());
}

}  // namespace

void add_compose_rm_command(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<RmFlags>();
  CLI::App* rm = app.add_subcommand("rm", "Removes stopped service containers");
  rm->footer(
      "By default, anonymous volumes attached to containers will not be removed. You can "
      "override this with -v. To list all volumes, use \"berth volume ls\".\n\n"
      "Any data which is not in a volume will be lost.");
  rm->add_option("service", flags->services, "Services (default: all)");
  rm->add_flag("-f,--force", flags->force, "Don't ask to confirm removal");
  rm->add_flag("-s,--stop", flags->stop, "Stop the containers, if required, before removing");
  rm->add_flag("-v,--volumes", flags->volumes,
               "Remove any anonymous volumes attached to containers");
  rm->add_flag("-a,--all", flags->all, "Deprecated - no effect")->group("");
  rm->callback([&global, flags] { run_rm(global, *flags); });
}

}  // namespace berth::cmd
