#include "orchestrator/containers/attach.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <deque>
#include <string>
#include <string_view>

#include "runtime/attach_protocol.h"
#include "util/terminal.h"

namespace berth::containers {

namespace {

using runtime::attach::Kind;

constexpr char k_ctrl_p = 0x10;
constexpr char k_ctrl_q = 0x11;

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed output: the rest is lost, as with `docker run | head`
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// Packets for the monitor. Never sent blocking: a container that does not read its input
/// while we wait would stop the output we must keep reading meanwhile.
class Outbox {
 public:
  explicit Outbox(int socket) : m_socket(socket) {}
  void add(Kind kind, std::string_view payload) {
    m_packets.push_back(runtime::attach::packet(kind, payload));
    flush();
  }
  void flush() {
    while (!m_packets.empty()) {
      const std::string& packet = m_packets.front();
      if (::send(m_socket, packet.data(), packet.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        m_packets.clear();  // the monitor is gone; the receiving side notices
        return;
      }
      m_packets.pop_front();
    }
  }
  bool empty() const { return m_packets.empty(); }

 private:
  int m_socket;
  std::deque<std::string> m_packets;
};

/// Blocks the signals the session handles and reads them from a signalfd; restores the mask.
class SignalReader {
 public:
  SignalReader() {
    sigemptyset(&m_set);
    for (const int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) {
      sigaddset(&m_set, signal);
    }
    ::sigprocmask(SIG_BLOCK, &m_set, &m_saved);
    m_fd = ::signalfd(-1, &m_set, SFD_CLOEXEC | SFD_NONBLOCK);
  }
  ~SignalReader() {
    if (m_fd >= 0) ::close(m_fd);
    ::sigprocmask(SIG_SETMASK, &m_saved, nullptr);
  }
  SignalReader(const SignalReader&) = delete;
  SignalReader& operator=(const SignalReader&) = delete;

  int fd() const { return m_fd; }
  int next() {
    signalfd_siginfo info{};
    if (::read(m_fd, &info, sizeof info) != sizeof info) return 0;
    return static_cast<int>(info.ssi_signo);
  }

 private:
  sigset_t m_set{};
  sigset_t m_saved{};
  int m_fd = -1;
};

/// Docker's default detach keys, Ctrl-P Ctrl-Q, in the input stream. A Ctrl-P at the end of
/// one read is held until the next byte shows whether the pair is complete.
class DetachKeys {
 public:
  /// What to pass on from `input`; sets detached() when the pair is complete.
  std::string filter(std::string_view input) {
    std::string out;
    for (const char c : input) {
      if (m_held) {
        m_held = false;
        if (c == k_ctrl_q) {
          m_detached = true;
          return out;
        }
        out.push_back(k_ctrl_p);
      }
      if (c == k_ctrl_p) {
        m_held = true;
      } else {
        out.push_back(c);
      }
    }
    return out;
  }
  bool detached() const { return m_detached; }

 private:
  bool m_held = false;
  bool m_detached = false;
};

void send_size(Outbox& outbox) {
  if (const auto size = util::terminal_size(STDIN_FILENO)) {
    outbox.add(Kind::resize, std::to_string(size->first) + " " + std::to_string(size->second));
  }
}

}  // namespace

AttachResult attach_session(int socket, const AttachOptions& options) {
  AttachResult result;
  SignalReader signals;
  const bool terminal = options.tty && ::isatty(STDIN_FILENO) != 0;
  util::RawTerminal raw(options.tty && options.forward_input ? STDIN_FILENO : -1);
  DetachKeys keys;
  bool input_open = options.forward_input;
  Outbox outbox(socket);
  if (terminal) send_size(outbox);

  char buffer[runtime::attach::k_max_packet];
  for (;;) {
    // Our input is read only as fast as the monitor takes it.
    pollfd fds[] = {{socket, static_cast<short>(POLLIN | (outbox.empty() ? 0 : POLLOUT)), 0},
                    {input_open && outbox.empty() ? STDIN_FILENO : -1, POLLIN, 0},
                    {signals.fd(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return result;
    }
    if ((fds[0].revents & POLLOUT) != 0) outbox.flush();
    if ((fds[0].revents & ~POLLOUT) != 0) {
      const ssize_t n = ::recv(socket, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n < 0 && errno == EAGAIN) continue;
      if (n < 0 && errno == EINTR) continue;
      // A monitor that closed its end with our packets unread in it (input sent after the
      // container's end) reset the connection: that is reported once, before the packets it
      // sent first, the exit code among them, which are still ours to read.
      if (n < 0 && errno == ECONNRESET) continue;
      if (n <= 0) return result;  // the monitor is gone without a word
      const std::string_view payload(buffer + 1, static_cast<std::size_t>(n) - 1);
      switch (static_cast<Kind>(buffer[0])) {
        case Kind::stdout_data: write_all(STDOUT_FILENO, payload); break;
        case Kind::stderr_data: write_all(STDERR_FILENO, payload); break;
        case Kind::failure: result.failure = payload; break;
        case Kind::exit: {
          int code = 0;
          std::from_chars(payload.data(), payload.data() + payload.size(), code);
          result.exit_code = code;
          return result;
        }
        default: break;
      }
    }
    if (fds[1].revents != 0) {
      const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer - 1);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        input_open = false;
        outbox.add(Kind::stdin_end, "");
      } else {
        std::string_view input(buffer, static_cast<std::size_t>(n));
        std::string filtered;
        if (options.tty) {
          filtered = keys.filter(input);
          input = filtered;
        }
        if (!input.empty()) outbox.add(Kind::stdin_data, input);
        if (keys.detached()) {
          result.detached = true;
          return result;
        }
      }
    }
    if (fds[2].revents != 0) {
      while (const int signal = signals.next()) {
        if (signal == SIGWINCH) {
          if (terminal) send_size(outbox);
        } else if (options.forward_signal) {
          options.forward_signal(signal);
        }
      }
    }
  }
}

void relay_terminal(int master, bool forward_input, int done_fd) {
  SignalReader signals;
  util::RawTerminal raw(forward_input ? STDIN_FILENO : -1);
  const auto copy_size = [master] {
    if (const auto size = util::terminal_size(STDIN_FILENO)) {
      winsize window{};
      window.ws_row = static_cast<unsigned short>(size->first);
      window.ws_col = static_cast<unsigned short>(size->second);
      ::ioctl(master, TIOCSWINSZ, &window);
    }
  };
  copy_size();
  bool input_open = forward_input;
  // Input the process has not read yet: written as it reads, never blocking the output.
  std::string pending;
  const int flags = ::fcntl(master, F_GETFL);
  ::fcntl(master, F_SETFL, flags | O_NONBLOCK);
  char buffer[16 * 1024];
  for (;;) {
    pollfd fds[] = {{master, static_cast<short>(POLLIN | (pending.empty() ? 0 : POLLOUT)), 0},
                    {input_open && pending.empty() ? STDIN_FILENO : -1, POLLIN, 0},
                    {signals.fd(), POLLIN, 0},
                    {done_fd, POLLIN, 0}};
    if (::poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if ((fds[0].revents & POLLOUT) != 0) {
      const ssize_t n = ::write(master, pending.data(), pending.size());
      if (n > 0) pending.erase(0, static_cast<std::size_t>(n));
    }
    if ((fds[0].revents & ~POLLOUT) != 0) {
      const ssize_t n = ::read(master, buffer, sizeof buffer);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return;  // EIO: every holder of the other side has closed it
      write_all(STDOUT_FILENO, std::string_view(buffer, static_cast<std::size_t>(n)));
      continue;  // drain the output before looking at the end
    }
    if (fds[3].revents != 0) return;
    if (fds[1].revents != 0) {
      const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        input_open = false;  // a terminal has no end of input to pass on
      } else {
        pending.append(buffer, static_cast<std::size_t>(n));
      }
    }
    if (fds[2].revents != 0) {
      while (const int signal = signals.next()) {
        if (signal == SIGWINCH) copy_size();
      }
    }
  }
}

}  // namespace berth::containers
