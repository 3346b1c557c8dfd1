// The command's side of an attach channel (runtime/attach_protocol.h): the container's
// output to our stdout and stderr, our input to the container, the terminal's size, signals
// passed on, and Docker's detach keys.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace berth::containers {

struct AttachOptions {
  bool forward_input = false;  // -i: our standard input goes to the container
  bool tty = false;            // the container has a terminal: raw mode, size, detach keys
  /// Docker's sig-proxy: a signal the user sends us (SIGINT, SIGTERM, ...) goes to the
  /// container instead of ending the command.
  std::function<void(int signal)> forward_signal;
};

struct AttachResult {
  std::optional<int> exit_code;  // nullopt: detached, or the monitor went away first
  bool detached = false;         // the user typed the detach keys (Ctrl-P Ctrl-Q)
  std::string failure;           // the runtime's reason when the container could not run
};

/// Relays between our standard streams and the monitor on `socket` until the container's
/// first end, a detach, or the monitor's end. Blocks the signals it forwards meanwhile.
AttachResult attach_session(int socket, const AttachOptions& options);

/// `exec -t`: relays between our standard streams and the terminal whose master is `master`
/// until the other side has closed it (the process ended), in raw mode with `forward_input`,
/// passing on our terminal's size. `done_fd` becoming readable (the runtime returned) ends
/// the relay too, once the terminal has nothing more to read.
void relay_terminal(int master, bool forward_input, int done_fd);

}  // namespace berth::containers
