// berth: the command table and the one place errors become a message and an exit code.
#include <iostream>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cmd/global_options.h"
#include "util/error.h"
#include "util/heap.h"

int main(int argc, char** argv) {
  berth::util::prepare_heap_for_burst();
  CLI::App app{"berth: a daemonless, Compose-compatible container orchestrator", "berth"};
  app.set_version_flag("-v,--version", std::string("berth version ") + BERTH_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the command name

  berth::cmd::GlobalOptions global;
  global.add_to(app);
  berth::cmd::add_config_command(app, global);
  berth::cmd::add_image_command(app, global);
  berth::cmd::add_container_command(app, global);
  berth::cmd::add_network_command(app, global);
  berth::cmd::add_volume_command(app, global);
  berth::cmd::add_compose_commands(app, global);
  berth::cmd::add_compose_observe_commands(app, global);
  berth::cmd::add_compose_control_commands(app, global);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "berth: error: " << e.what() << "\n";
    return 2;
  } catch (const berth::cmd::ExitCode& e) {
    return e.code;
  } catch (const berth::Error& e) {
    std::cerr << "berth: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "berth: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
