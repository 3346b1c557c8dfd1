#include "cmd/global_options.h"

#include <unistd.h>

#include "util/error.h"
#include "util/log.h"

namespace berth::cmd {

void GlobalOptions::add_to(CLI::App& app) {
  app.add_option("-f,--file", files, "Compose configuration file(s); - reads standard input")
      ->type_name("FILE");
  app.add_option("-p,--project-name", project_name, "Project name");
  app.add_option("--project-directory", project_directory,
                 "Working directory (default: the directory of the first compose file)");
  app.add_option("--env-file", env_files, "Environment file(s) to read instead of .env")
      ->type_name("FILE");
  app.add_option("--profile", profiles, "Profile(s) to enable");
  app.add_option("--root", root, "Persistent state directory")
      ->envname("BERTH_ROOT")
      ->capture_default_str();
  app.add_option("--runroot", runroot, "Ephemeral state directory")
      ->envname("BERTH_RUNROOT")
      ->capture_default_str();
  app.add_option("--progress", progress, "Set type of progress output (auto, tty, plain, quiet)")
      ->envname("COMPOSE_PROGRESS")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warning, error or off")
      ->capture_default_str();
}

void GlobalOptions::prepare() const {
  log::setup(log_level);
}

compose::LoadOptions GlobalOptions::load_options() const {
  compose::LoadOptions options;
  options.files = files;
  options.project_name = project_name;
  options.project_directory = project_directory;
  options.env_files = env_files;
  options.profiles = profiles;
  return options;
}

std::string self_executable() {
  char path[4096];
  const ssize_t length = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (length <= 0) throw Error("cannot find berth's own executable (/proc/self/exe)");
  return std::string(path, static_cast<std::size_t>(length));
}

}  // namespace berth::cmd
