#include "cmd/container_start.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>

#include <fmt/format.h>

#include "cmd/global_options.h"
#include "orchestrator/containers/attach.h"
#include "orchestrator/containers/lifecycle.h"
#include "orchestrator/containers/project_containers.h"
#include "orchestrator/containers/state_watch.h"
#include "util/error.h"
#include "util/terminal.h"

namespace berth::cmd {

using containers::ContainerRecord;
using containers::ContainerStore;

namespace {

/// A socket pair for the attach channel: ours, and the monitor's (-1 when detached).
struct AttachSockets {
  int ours = -1;
  int theirs = -1;
  AttachSockets() = default;
  explicit AttachSockets(bool wanted) {
    if (!wanted) return;
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
      throw Error(std::string("socketpair: ") + std::strerror(errno));
    ours = pair[0];
    theirs = pair[1];
  }
  ~AttachSockets() {
    close_theirs();
    if (ours >= 0) ::close(ours);
  }
  AttachSockets(const AttachSockets&) = delete;
  AttachSockets& operator=(const AttachSockets&) = delete;
  void close_theirs() {
    if (theirs >= 0) ::close(theirs);
    theirs = -1;
  }
};

/// The container's state once it has ended, or once its monitor is found gone.
ContainerStore::LiveState settled_state(const ContainerStore& store,
                                        const ContainerRecord& record) {
  ContainerStore::LiveState last;
  containers::watch_state(
      store, record.id,
      [&last](const ContainerStore::LiveState& live) {
        last = live;
        return !containers::is_active(live.state.status) || live.monitor_lost;
      },
      std::chrono::steady_clock::time_point::max());
  return last;
}

}  // namespace

int start_and_attach(const ContainerStore& store, const ContainerRecord& record, bool attach,
                     bool interactive) {
  AttachSockets sockets(attach);
  containers::StartOptions start;
  start.attach_fd = sockets.theirs;
  start.stdin_once = attach && interactive;
  if (record.spec.tty) start.console_size = util::terminal_size(STDIN_FILENO);
  containers::start_container(store, record, self_executable(), start);
  sockets.close_theirs();  // the monitor has its own; ours must see its end
  if (!attach) return 0;

  containers::AttachOptions options;
  options.forward_input = interactive;
  options.tty = record.spec.tty;
  options.forward_signal = [&store, &record](int signal) {
    try {
      containers::kill_container(store, record, signal);
    } catch (const Error&) {
      // It has just ended: the exit code is on its way.
    }
  };
  const containers::AttachResult result = containers::attach_session(sockets.ours, options);
  if (result.detached) return 0;
  if (!result.failure.empty()) std::cerr << "berth: error: " << result.failure << "\n";
  if (result.exit_code) return *result.exit_code;
  // The monitor went away without a word (killed): the state on disk tells the rest when it
  // recorded the end. Nothing else may stand in for the code: a state removed with the
  // container (--rm) reads as exit code 0, and one that outlived its monitor has no code.
  const ContainerStore::LiveState end = settled_state(store, record);
  if (end.state.status.empty()) {
    throw Error(
        fmt::format("container {} was removed before its exit code reached berth", record.name));
  }
  if (record.auto_remove) {
    try {
      containers::remove_container(store, store.find(record.id), true, true);
    } catch (const Error&) {
      // Already removed.
    }
  }
  if (containers::is_active(end.state.status)) {
    throw Error(
        fmt::format("the monitor of container {} is gone while the container runs: "
                    "its exit code cannot be known",
                    record.name));
  }
  return end.state.exit_code;
}

}  // namespace berth::cmd
