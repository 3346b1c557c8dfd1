// The user's terminal, for commands attached to a container's terminal (`run -it`,
// `exec -it`): raw mode while attached, and its size.
#pragma once

#include <optional>
#include <utility>

#include <termios.h>

namespace berth::util {

/// Puts the terminal on `fd` in raw mode (every key goes to the container, Ctrl-C included)
/// and restores it when destroyed. Does nothing when `fd` is no terminal.
class RawTerminal {
 public:
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int m_fd;
  std::optional<termios> m_saved;
};

/// Rows and columns of the terminal on `fd`; nullopt when it is no terminal.
std::optional<std::pair<unsigned, unsigned>> terminal_size(int fd);

}  // namespace berth::util
