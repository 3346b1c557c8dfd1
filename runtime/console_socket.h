// The runtime's --console-socket: berth listens, the runtime connects and sends the master
// side of the container's pseudo-terminal (SCM_RIGHTS). Used by the monitor (`run -t`) and
// by `exec -t`.
#pragma once

#include <string>

namespace berth::runtime {

class ConsoleSocket {
 public:
  /// Listens on `<dir>/console-<tag>.sock`. The path given to the runtime goes through
  /// /proc/<our pid>/fd/<dir fd>, so it stays under the 108 bytes a socket address allows
  /// however deep `dir` is. Throws berth::Error naming the path.
  ConsoleSocket(const std::string& dir, const std::string& tag);
  ~ConsoleSocket();
  ConsoleSocket(const ConsoleSocket&) = delete;
  ConsoleSocket& operator=(const ConsoleSocket&) = delete;

  /// What to pass as --console-socket.
  const std::string& address() const { return m_address; }
  /// Readable once the runtime has connected.
  int listening_fd() const { return m_listen; }
  /// Accepts the runtime's connection (waiting up to `timeout_ms`) and returns the master,
  /// close-on-exec, owned by the caller; -1 when none came.
  int receive_master(int timeout_ms);

 private:
  void close_all();

  int m_dir = -1;
  int m_listen = -1;
  std::string m_name;
  std::string m_address;
};

}  // namespace berth::runtime
