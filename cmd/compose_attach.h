// Attached `up`: the project brought up while the selected services' output is followed,
// multiplexed as Compose prints it, until every followed container has stopped. Ctrl-C stops
// the project's containers gracefully, a second Ctrl-C kills them; --abort-on-container-exit
// and friends stop them when one exits.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>

#include "cmd/log_printer.h"
#include "image/store.h"
#include "orchestrator/compose/project.h"
#include "orchestrator/containers/container_store.h"
#include "orchestrator/containers/project_lifecycle.h"

namespace berth::cmd {

struct AttachedUpOptions {
  std::set<std::string> attach;  // the services whose output is followed
  LogPrinterOptions printer;
  bool abort_on_exit = false;     // --abort-on-container-exit (and --exit-code-from)
  bool abort_on_failure = false;  // --abort-on-container-failure
  std::string exit_code_from;
  std::optional<std::chrono::seconds> timeout;  // -t: grace period when stopping
};

/// Runs `up` attached; returns the command's exit code by Compose's rules: 0, else the exit
/// code of the container whose exit aborted the run, or with --exit-code-from that service's.
int run_attached_up(const containers::ContainerStore& store, const image::ImageStore& images,
                    const compose::Project& project, containers::UpOptions up,
                    const AttachedUpOptions& options);

}  // namespace berth::cmd
