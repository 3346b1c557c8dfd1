// Test support: a real registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1,
// anonymous, with htpasswd basic auth, or with token auth from a token server run here; and
// the small blocking HTTP server that token server is built on, for scripted responses.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/run_berth.h"

namespace berth::testing {

/// A request as TinyHttpServer received it.
struct SeenRequest {
  std::string method;
  std::string target;                          // "/token?service=...", as sent
  std::map<std::string, std::string> headers;  // names lowercase
  std::string body;

  /// The value of a header (name lowercase), empty when absent.
  std::string header(const std::string& name) const;
};

/// What TinyHttpServer answers. Content-Length and Connection: close are added.
struct CannedResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// The connection is closed after this many body bytes (a transfer that breaks).
  std::size_t cut_after = std::string::npos;
};

/// A blocking HTTP/1.1 server on 127.0.0.1:<free port>: one thread, one request per
/// connection, answered by `handler` (called on that thread).
class TinyHttpServer {
 public:
  using Handler = std::function<CannedResponse(const SeenRequest&)>;
  explicit TinyHttpServer(Handler handler);
  ~TinyHttpServer();
  TinyHttpServer(const TinyHttpServer&) = delete;
  TinyHttpServer& operator=(const TinyHttpServer&) = delete;

  int port() const { return m_port; }
  std::string host_port() const;  // "127.0.0.1:NNNN"
  std::string url() const;        // "http://127.0.0.1:NNNN"

 private:
  void serve();
  void answer(int connection);

  Handler m_handler;
  int m_listen_fd = -1;
  int m_stop_pipe[2] = {-1, -1};
  int m_port = 0;
  std::thread m_thread;
};

/// A child process killed (SIGTERM, SIGKILL after 2 s) and reaped when the object dies.
class ChildProcess {
 public:
  ChildProcess() = default;
  /// Starts `argv` with stdout and stderr appended to `log_path`.
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ChildProcess(ChildProcess&& other) noexcept : m_pid(std::exchange(other.m_pid, -1)) {}
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  pid_t pid() const { return m_pid; }
  /// True once the process has exited (it is then reaped).
  bool exited();
  void stop();

 private:
  pid_t m_pid = -1;
};

struct RegistryUser {
  std::string name;
  std::string password;
  /// What the token server grants this user on every repository (token auth only; htpasswd
  /// users may do everything).
  std::vector<std::string> actions = {"pull", "push"};
};

enum class RegistryAuth { none, basic, token };

/// docker-registry serving a fresh, empty storage directory on 127.0.0.1:<free port>. The
/// constructor waits until GET /v2/ answers (5 s at most) and throws std::runtime_error with
/// the registry's output when it does not start.
class RegistryServer {
 public:
  explicit RegistryServer(RegistryAuth auth = RegistryAuth::none,
                          std::vector<RegistryUser> users = {});
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  std::string url() const;        // "http://127.0.0.1:NNNN"
  std::string host_port() const;  // "127.0.0.1:NNNN"
  /// Tokens the token server has issued (token auth).
  int tokens_issued() const { return m_tokens_issued.load(); }
  /// What the registry has written to stdout and stderr.
  std::string log() const;

 private:
  struct TokenIssuer;
  CannedResponse token_endpoint(const SeenRequest& request);

  TempDir m_dir;
  std::vector<RegistryUser> m_users;
  std::atomic<int> m_tokens_issued{0};
  std::unique_ptr<TokenIssuer> m_issuer;
  std::unique_ptr<TinyHttpServer> m_token_server;
  int m_port = 0;
  ChildProcess m_registry;
};

/// `openssl s_server` with a fresh self-signed certificate on 127.0.0.1:<free port>, for
/// tests that a client verifies certificates.
class UntrustedTlsServer {
 public:
  UntrustedTlsServer();
  std::string host_port() const;

 private:
  TempDir m_dir;
  int m_port = 0;
  ChildProcess m_process;
};

/// Runs `argv` to completion with stdout to `stdout_path` and stderr to `stderr_path`;
/// throws std::runtime_error with its stderr when it fails.
void run_tool(const std::vector<std::string>& argv, const std::string& stdout_path,
              const std::string& stderr_path);

/// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

}  // namespace berth::testing
