// The compose commands that act on a project's existing containers.
#include "cmd/compose_project.h"
#include "cmd/global_options.h"

namespace berth::cmd {

void add_compose_control_commands(CLI::App& app, const GlobalOptions& global) {
  (void)app;
  (void)global;
}

}  // namespace berth::cmd
