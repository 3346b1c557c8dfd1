#include "tests/support/registry_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

extern char** environ;

namespace berth::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* k_registry_binary = "/usr/bin/docker-registry";
constexpr const char* k_service = "berth-test-registry";
constexpr const char* k_issuer = "berth-test-issuer";
constexpr auto k_start_timeout = std::chrono::seconds(5);

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

/// A loopback TCP socket bound to a free port (0 for any).
int bound_socket(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(errno_text("socket"));
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error(errno_text("bind 127.0.0.1"));
  }
  return fd;
}

int port_of(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

/// Connects to 127.0.0.1:port; -1 when nothing listens.
int connect_local(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// True when an HTTP server answers GET /v2/ on the port (any status will do).
bool answers_http(int port) {
  const int fd = connect_local(port);
  if (fd < 0) return false;
  std::string reply;
  if (send_all(fd, "GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")) {
    pollfd wait{fd, POLLIN, 0};
    char buffer[64];
    if (::poll(&wait, 1, 1000) == 1) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n > 0) reply.assign(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return reply.starts_with("HTTP/1.");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 206: return "Partial Content";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i] == '+' ? ' ' : text[i]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> query_of(const std::string& target) {
  std::vector<std::pair<std::string, std::string>> params;
  const auto question = target.find('?');
  if (question == std::string::npos) return params;
  std::string_view rest = std::string_view(target).substr(question + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    params.emplace_back(percent_decode(pair.substr(0, eq)),
                        eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1)));
  }
  return params;
}

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64url(std::string_view data) {
  std::string out = base64(reinterpret_cast<const unsigned char*>(data.data()), data.size());
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string base64_decode(std::string_view text) {
  std::string out(3 * (text.size() / 4) + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return {};
  out.resize(static_cast<std::size_t>(n));
  // EVP_DecodeBlock counts the padding as zero bytes.
  for (std::size_t pad = text.size(); pad > 0 && text[pad - 1] == '='; --pad) out.pop_back();
  return out;
}

/// Makes a self-signed RSA key and certificate with the openssl CLI.
void make_certificate(const std::string& dir, const std::string& name) {
  run_tool({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=" + name, "-keyout", dir + "/" + name + ".key", "-out", dir + "/" + name + ".crt"},
           dir + "/openssl.out", dir + "/openssl.err");
}

}  // namespace

// --- helpers ------------------------------------------------------------------------------

void run_tool(const std::vector<std::string>& argv, const std::string& stdout_path,
              const std::string& stderr_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int error = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    throw std::runtime_error(argv[0] + ": " + std::strerror(error));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(argv[0] + " failed: " + read_file(stderr_path));
  }
}

int free_port() {
  const int fd = bound_socket(0);
  const int port = port_of(fd);
  ::close(fd);
  return port;
}

std::string SeenRequest::header(const std::string& name) const {
  const auto found = headers.find(name);
  return found == headers.end() ? std::string() : found->second;
}

// --- TinyHttpServer -----------------------------------------------------------------------

TinyHttpServer::TinyHttpServer(Handler handler) : m_handler(std::move(handler)) {
  m_listen_fd = bound_socket(0);
  if (::listen(m_listen_fd, 16) != 0 || ::pipe2(m_stop_pipe, O_CLOEXEC) != 0) {
    const std::string message = errno_text("listen");
    ::close(m_listen_fd);
    throw std::runtime_error(message);
  }
  m_port = port_of(m_listen_fd);
  m_thread = std::thread([this] { serve(); });
}

TinyHttpServer::~TinyHttpServer() {
  [[maybe_unused]] const ssize_t ignored = ::write(m_stop_pipe[1], "x", 1);
  m_thread.join();
  ::close(m_listen_fd);
  ::close(m_stop_pipe[0]);
  ::close(m_stop_pipe[1]);
}

std::string TinyHttpServer::host_port() const {
  return "127.0.0.1:" + std::to_string(m_port);
}

std::string TinyHttpServer::url() const {
  return "http://" + host_port();
}

void TinyHttpServer::serve() {
  for (;;) {
    pollfd fds[2] = {{m_listen_fd, POLLIN, 0}, {m_stop_pipe[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const int connection = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    try {
      answer(connection);
    } catch (const std::exception&) {
      // A malformed request only loses its connection; the server keeps serving.
    }
    ::close(connection);
  }
}

void TinyHttpServer::answer(int connection) {
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  std::string data;
  auto receive_more = [&] {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd wait{connection, POLLIN, 0};
    if (left <= 0 || ::poll(&wait, 1, static_cast<int>(left)) != 1) return false;
    char buffer[65536];
    const ssize_t n = ::recv(connection, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    data.append(buffer, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t header_end;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    if (!receive_more()) return;
  }

  SeenRequest request;
  std::istringstream lines(data.substr(0, header_end));
  std::string line;
  std::getline(lines, line);
  std::istringstream request_line(line);
  request_line >> request.method >> request.target;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    request.headers[lowercase(line.substr(0, colon))] = value;
  }
  const std::string length = request.header("content-length");
  const std::size_t body_size = length.empty() ? 0 : std::stoul(length);
  while (data.size() < header_end + 4 + body_size) {
    if (!receive_more()) return;
  }
  request.body = data.substr(header_end + 4, body_size);

  CannedResponse response;
  try {
    response = m_handler(request);
  } catch (const std::exception& e) {
    response = CannedResponse{500, {}, e.what()};
  }
  std::string head =
      "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) + "\r\n";
  for (const auto& [name, value] : response.headers) head += name + ": " + value + "\r\n";
  head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  head += "Connection: close\r\n\r\n";
  if (!send_all(connection, head) || request.method == "HEAD") return;
  send_all(connection, std::string_view(response.body).substr(0, response.cut_after));
}

// --- ChildProcess -------------------------------------------------------------------------

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int error = ::posix_spawnp(&m_pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    m_pid = -1;
    throw std::runtime_error(argv[0] + ": " + std::strerror(error));
  }
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    stop();
    m_pid = std::exchange(other.m_pid, -1);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  stop();
}

bool ChildProcess::exited() {
  if (m_pid < 0) return true;
  int status = 0;
  if (::waitpid(m_pid, &status, WNOHANG) != m_pid) return false;
  m_pid = -1;
  return true;
}

void ChildProcess::stop() {
  if (m_pid < 0) return;
  ::kill(m_pid, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline) {
    if (exited()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(m_pid, SIGKILL);
  int status = 0;
  while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
  }
  m_pid = -1;
}

// --- RegistryServer -----------------------------------------------------------------------

/// Signs registry tokens: RS256 JWTs whose header carries the signing certificate (`x5c`),
/// which distribution checks against the `rootcertbundle` of its config.
struct RegistryServer::TokenIssuer {
  EVP_PKEY* key = nullptr;
  std::string certificate;  // base64 DER

  TokenIssuer(const std::string& key_path, const std::string& certificate_path) {
    FILE* key_file = std::fopen(key_path.c_str(), "r");
    if (key_file != nullptr) {
      key = PEM_read_PrivateKey(key_file, nullptr, nullptr, nullptr);
      std::fclose(key_file);
    }
    X509* cert = nullptr;
    FILE* cert_file = std::fopen(certificate_path.c_str(), "r");
    if (cert_file != nullptr) {
      cert = PEM_read_X509(cert_file, nullptr, nullptr, nullptr);
      std::fclose(cert_file);
    }
    if (key == nullptr || cert == nullptr) {
      X509_free(cert);
      EVP_PKEY_free(key);
      throw std::runtime_error("cannot read the token signing key " + key_path);
    }
    unsigned char* der = nullptr;
    const int der_size = i2d_X509(cert, &der);
    certificate = base64(der, static_cast<std::size_t>(der_size));
    OPENSSL_free(der);
    X509_free(cert);
  }
  ~TokenIssuer() { EVP_PKEY_free(key); }
  TokenIssuer(const TokenIssuer&) = delete;
  TokenIssuer& operator=(const TokenIssuer&) = delete;

  std::string sign(const nlohmann::json& claims) const {
    const nlohmann::json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"x5c", {certificate}}};
    const std::string input = base64url(header.dump()) + "." + base64url(claims.dump());
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    std::size_t size = 0;
    std::string signature;
    bool ok =
        context != nullptr &&
        EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestSign(context, nullptr, &size,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    if (ok) {
      signature.resize(size);
      ok = EVP_DigestSign(context, reinterpret_cast<unsigned char*>(signature.data()), &size,
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
      signature.resize(size);
    }
    EVP_MD_CTX_free(context);
    if (!ok) throw std::runtime_error("cannot sign a token");
    return input + "." + base64url(signature);
  }
};

RegistryServer::RegistryServer(RegistryAuth auth, std::vector<RegistryUser> users)
    : m_users(std::move(users)) {
  const std::string& dir = m_dir.path();
  std::string auth_config;
  if (auth == RegistryAuth::basic) {
    std::string lines;
    for (const RegistryUser& user : m_users) {
      run_tool({"htpasswd", "-Bbn", user.name, user.password}, dir + "/htpasswd.out",
               dir + "/htpasswd.err");
      std::istringstream out(read_file(dir + "/htpasswd.out"));
      for (std::string line; std::getline(out, line);) {
        if (!line.empty()) lines += line + "\n";
      }
    }
    m_dir.write("htpasswd", lines);
    auth_config = "auth:\n  htpasswd:\n    realm: berth-test\n    path: " + dir + "/htpasswd\n";
  } else if (auth == RegistryAuth::token) {
    make_certificate(dir, "token-signer");
    m_issuer = std::make_unique<TokenIssuer>(dir + "/token-signer.key", dir + "/token-signer.crt");
    m_token_server = std::make_unique<TinyHttpServer>(
        [this](const SeenRequest& request) { return token_endpoint(request); });
    auth_config = "auth:\n  token:\n    realm: " + m_token_server->url() +
                  "/token\n    service: " + k_service + "\n    issuer: " + k_issuer +
                  "\n    rootcertbundle: " + dir + "/token-signer.crt\n";
  }

  // A port is free when chosen but may be taken before the registry binds it: try again.
  for (int attempt = 1;; ++attempt) {
    m_port = free_port();
    const std::string config =
        m_dir.write("config.yml",
                    "version: 0.1\n"
                    "log:\n  level: error\n  accesslog:\n    disabled: true\n"
                    "storage:\n  filesystem:\n    rootdirectory: " +
                        dir +
                        "/data\n  delete:\n"
                        "    enabled: true\n"
                        "http:\n  addr: 127.0.0.1:" +
                        std::to_string(m_port) +
                        "\n  secret: berth-test\n"
                        "health:\n  storagedriver:\n    enabled: false\n" +
                        auth_config);
    m_dir.write("registry.log", "");
    m_registry = ChildProcess({k_registry_binary, "serve", config}, dir + "/registry.log");
    const auto deadline = Clock::now() + k_start_timeout;
    while (Clock::now() < deadline && !m_registry.exited()) {
      if (answers_http(m_port)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!m_registry.exited()) {
      m_registry.stop();
      throw std::runtime_error("docker-registry did not answer GET /v2/ within 5 s: " + log());
    }
    if (attempt < 3 && log().find("address already in use") != std::string::npos) continue;
    throw std::runtime_error("docker-registry did not start: " + log());
  }
}

RegistryServer::~RegistryServer() {
  m_registry.stop();
}

std::string RegistryServer::url() const {
  return "http://" + host_port();
}

std::string RegistryServer::host_port() const {
  return "127.0.0.1:" + std::to_string(m_port);
}

std::string RegistryServer::log() const {
  return read_file(m_dir.path() + "/registry.log");
}

CannedResponse RegistryServer::token_endpoint(const SeenRequest& request) {
  if (request.target.substr(0, request.target.find('?')) != "/token") return {404, {}, ""};
  const RegistryUser* user = nullptr;
  const std::string authorization = request.header("authorization");
  if (authorization.starts_with("Basic ")) {
    const std::string pair = base64_decode(authorization.substr(6));
    const auto colon = pair.find(':');
    for (const RegistryUser& candidate : m_users) {
      if (colon != std::string::npos && pair.substr(0, colon) == candidate.name &&
          pair.substr(colon + 1) == candidate.password) {
        user = &candidate;
      }
    }
    if (user == nullptr) {
      return {401,
              {{"Content-Type", "application/json"}},
              R"({"details":"incorrect username or password"})"};
    }
  }

  // Each scope is "repository:<name>:<action>,<action>"; the user gets what it asked for
  // and may do. Anonymous users get a token that grants nothing.
  nlohmann::json access = nlohmann::json::array();
  for (const auto& [name, value] : query_of(request.target)) {
    if (name != "scope") continue;
    std::istringstream scopes(value);
    for (std::string scope; scopes >> scope;) {
      const auto first = scope.find(':');
      const auto last = scope.rfind(':');
      if (first == std::string::npos || first == last) continue;
      nlohmann::json granted = nlohmann::json::array();
      std::istringstream actions(scope.substr(last + 1));
      for (std::string action; std::getline(actions, action, ',');) {
        if (user != nullptr && std::ranges::find(user->actions, action) != user->actions.end()) {
          granted.push_back(action);
        }
      }
      access.push_back({{"type", scope.substr(0, first)},
                        {"name", scope.substr(first + 1, last - first - 1)},
                        {"actions", granted}});
    }
  }
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::random_device random;
  const nlohmann::json claims = {
      {"iss", k_issuer},
      {"sub", user != nullptr ? user->name : ""},
      {"aud", k_service},
      {"exp", now + 300},
      {"nbf", now - 10},
      {"iat", now},
      {"jti", std::to_string(random()) + std::to_string(random())},
      {"access", access},
  };
  const std::string token = m_issuer->sign(claims);
  ++m_tokens_issued;
  const nlohmann::json reply = {{"token", token}, {"access_token", token}, {"expires_in", 300}};
  return {200, {{"Content-Type", "application/json"}}, reply.dump()};
}

// --- UntrustedTlsServer -------------------------------------------------------------------

UntrustedTlsServer::UntrustedTlsServer() {
  const std::string& dir = m_dir.path();
  make_certificate(dir, "untrusted");
  m_port = free_port();
  m_process = ChildProcess(
      {"openssl", "s_server", "-quiet", "-www", "-accept", "127.0.0.1:" + std::to_string(m_port),
       "-cert", dir + "/untrusted.crt", "-key", dir + "/untrusted.key"},
      dir + "/s_server.log");
  const auto deadline = Clock::now() + k_start_timeout;
  while (Clock::now() < deadline && !m_process.exited()) {
    if (const int fd = connect_local(m_port); fd >= 0) {
      ::close(fd);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("openssl s_server did not start: " + read_file(dir + "/s_server.log"));
}

std::string UntrustedTlsServer::host_port() const {
  return "127.0.0.1:" + std::to_string(m_port);
}

}  // namespace berth::testing
