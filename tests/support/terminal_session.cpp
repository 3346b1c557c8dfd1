#include "tests/support/terminal_session.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

namespace berth::testing {

namespace {

void set_size(int fd, unsigned rows, unsigned columns) {
  winsize size{};
  size.ws_row = static_cast<unsigned short>(rows);
  size.ws_col = static_cast<unsigned short>(columns);
  ::ioctl(fd, TIOCSWINSZ, &size);
}

}  // namespace

TerminalSession::TerminalSession(const std::vector<std::string>& args, const std::string& dir,
                                 const std::map<std::string, std::string>& env, unsigned rows,
                                 unsigned columns) {
  m_master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m_master < 0 || ::grantpt(m_master) != 0 || ::unlockpt(m_master) != 0) {
    throw std::runtime_error("TerminalSession: no pty");
  }
  const std::string slave = ::ptsname(m_master);
  set_size(m_master, rows, columns);

  std::vector<std::string> argv_strings{BERTH_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::map<std::string, std::string> full{
      {"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}, {"HOME", "/root"}, {"TERM", "xterm"}};
  for (const auto& [key, value] : env) full[key] = value;
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : full) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);

  m_pid = ::fork();
  if (m_pid < 0) throw std::runtime_error("TerminalSession: fork failed");
  if (m_pid == 0) {
    // A new session whose first terminal opened becomes its controlling terminal.
    ::setsid();
    const int fd = ::open(slave.c_str(), O_RDWR);
    if (fd < 0) ::_exit(126);
    ::dup2(fd, 0);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (fd > 2) ::close(fd);
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
}

TerminalSession::~TerminalSession() {
  if (m_pid > 0 && !m_reaped) {
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
  }
  if (m_master >= 0) ::close(m_master);
}

void TerminalSession::type(const std::string& keys) {
  std::size_t written = 0;
  while (written < keys.size()) {
    const ssize_t n = ::write(m_master, keys.data() + written, keys.size() - written);
    if (n <= 0) throw std::runtime_error("TerminalSession: cannot type");
    written += static_cast<std::size_t>(n);
  }
}

std::string TerminalSession::read_until(const std::string& text, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buffer[4096];
  while (m_unread.find(text) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd ready{m_master, POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::read(m_master, buffer, sizeof buffer);
    if (n <= 0) break;  // EIO: berth and everything on the terminal closed it
    m_unread.append(buffer, static_cast<std::size_t>(n));
  }
  std::string out;
  const auto at = m_unread.find(text);
  if (at == std::string::npos) {
    out.swap(m_unread);
  } else {
    out = m_unread.substr(0, at + text.size());
    m_unread.erase(0, at + text.size());
  }
  return out;
}

void TerminalSession::resize(unsigned rows, unsigned columns) {
  set_size(m_master, rows, columns);
}

int TerminalSession::wait(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buffer[4096];
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(m_pid, &status, WNOHANG);
    if (done == m_pid) {
      m_reaped = true;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    // Keep the terminal drained, so that berth never blocks writing to it.
    pollfd ready{m_master, POLLIN, 0};
    if (::poll(&ready, 1, 20) > 0) {
      const ssize_t n = ::read(m_master, buffer, sizeof buffer);
      if (n > 0) m_unread.append(buffer, static_cast<std::size_t>(n));
    }
  }
}

}  // namespace berth::testing
