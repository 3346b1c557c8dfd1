#include "util/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

namespace berth::util {

RawTerminal::RawTerminal(int fd) : m_fd(fd) {
  termios mode{};
  if (::isatty(fd) == 0 || ::tcgetattr(fd, &mode) != 0) {
    return;
  }
  m_saved = mode;
  ::cfmakeraw(&mode);
  ::tcsetattr(fd, TCSANOW, &mode);
}

RawTerminal::~RawTerminal() {
  if (m_saved) {
    ::tcsetattr(m_fd, TCSANOW, &*m_saved);
  }
}

std::optional<std::pair<unsigned, unsigned>> terminal_size(int fd) {
  winsize size{};
  if (::ioctl(fd, TIOCGWINSZ, &size) != 0 || size.ws_row == 0 || size.ws_col == 0) {
    return std::nullopt;
  }
  return std::pair<unsigned, unsigned>{size.ws_row, size.ws_col};
}

}  // namespace berth::util
