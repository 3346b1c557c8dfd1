// The compose commands that look at a project: ps, ls, images, top, port, version.
#include "cmd/compose_project.h"
#include "cmd/global_options.h"

namespace berth::cmd {

void add_compose_observe_commands(CLI::App& app, const GlobalOptions& global) {
  (void)app;
  (void)global;
}

}  // namespace berth::cmd
