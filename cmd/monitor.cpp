// `berth _monitor DIR`: the per-container monitor, started by `container start/run` with a
// pipe on fd 3 for its verdict. Hidden: users never type it.
#include "runtime/monitor.h"
#include "cmd/global_options.h"

namespace berth::cmd {

void add_monitor_command(CLI::App& app) {
  auto run_dir = std::make_shared<std::string>();
  CLI::App* monitor = app.add_subcommand("_monitor", "Supervise one container (internal)");
  monitor->group("");  // hidden from --help
  monitor->add_option("dir", *run_dir, "The container's run directory")->required();
  monitor->callback([run_dir] {
    const int code = runtime::run_monitor(*run_dir, 3);
    if (code != 0) throw ExitCode(code);
  });
}

}  // namespace berth::cmd
