// Test support: berth run on a pseudo-terminal the test holds, as a user's shell would run
// it, so that a test can type, read the screen, resize the window and send signals.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace berth::testing {

class TerminalSession {
 public:
  /// Starts `berth <args>` in `dir` in a new session whose controlling terminal is a fresh
  /// pty of `rows` x `columns`, with `env` added to a minimal environment.
  TerminalSession(const std::vector<std::string>& args, const std::string& dir,
                  const std::map<std::string, std::string>& env, unsigned rows = 24,
                  unsigned columns = 80);
  /// Kills berth (by its pid) if it is still running, and reaps it.
  ~TerminalSession();
  TerminalSession(const TerminalSession&) = delete;
  TerminalSession& operator=(const TerminalSession&) = delete;

  /// Types `keys`.
  void type(const std::string& keys);
  /// Reads the screen until what was read since the last call contains `text`, or the time
  /// is up; returns what was read (check it with HasSubstr).
  std::string read_until(const std::string& text,
                         std::chrono::milliseconds limit = std::chrono::seconds(15));
  /// Resizes the window; the kernel tells berth with SIGWINCH.
  void resize(unsigned rows, unsigned columns);
  pid_t pid() const { return m_pid; }
  /// Waits up to `limit` for berth to exit; its exit code, or -1 if it did not.
  int wait(std::chrono::milliseconds limit = std::chrono::seconds(15));

 private:
  int m_master = -1;
  pid_t m_pid = -1;
  bool m_reaped = false;
  std::string m_unread;
};

}  // namespace berth::testing
