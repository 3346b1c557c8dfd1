#include "network/dns_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <ldns/ldns.h>
#include <nlohmann/json.hpp>

#include "tests/support/run_berth.h"
#include "util/fs.h"

extern char** environ;

namespace berth::network {
namespace {

using nlohmann::json;
using testing::TempDir;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

// Every socket here is on loopback: the responder, its fake upstreams and the client.

// --- DNS messages ----------------------------------------------------------------------

struct PktFree {
  void operator()(ldns_pkt* packet) const { ldns_pkt_free(packet); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

Pkt parse(const Bytes& wire) {
  ldns_pkt* packet = nullptr;
  if (ldns_wire2pkt(&packet, wire.data(), wire.size()) != LDNS_STATUS_OK) return nullptr;
  return Pkt(packet);
}

Bytes to_wire(const ldns_pkt* packet) {
  std::uint8_t* data = nullptr;
  std::size_t size = 0;
  EXPECT_EQ(ldns_pkt2wire(&data, packet, &size), LDNS_STATUS_OK);
  Bytes out(data, data + size);
  std::free(data);
  return out;
}

Bytes query_wire(const std::string& name, ldns_rr_type type, std::uint16_t id,
                 std::uint16_t edns_size = 0) {
  Pkt query(
      ldns_pkt_query_new(ldns_dname_new_frm_str(name.c_str()), type, LDNS_RR_CLASS_IN, LDNS_RD));
  ldns_pkt_set_id(query.get(), id);
  if (edns_size != 0) ldns_pkt_set_edns_udp_size(query.get(), edns_size);
  return to_wire(query.get());
}

/// The addresses of the answer section, in order.
std::vector<std::string> answers(const ldns_pkt* reply) {
  std::vector<std::string> out;
  const ldns_rr_list* list = ldns_pkt_answer(reply);
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    char* text = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(list, i), 0));
    out.emplace_back(text);
    std::free(text);
  }
  return out;
}

/// A reply to `query` with one A record `address` (TTL 60), or with TC and no record.
Bytes upstream_reply(const Bytes& query, const std::string& address, bool truncated) {
  const Pkt packet = parse(query);
  if (!packet) return {};
  Pkt reply(ldns_pkt_new());
  ldns_pkt_set_id(reply.get(), ldns_pkt_id(packet.get()));
  ldns_pkt_set_qr(reply.get(), true);
  ldns_pkt_set_rd(reply.get(), true);
  ldns_pkt_set_ra(reply.get(), true);
  const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(packet.get()), 0);
  ldns_pkt_push_rr(reply.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(question));
  if (truncated) {
    ldns_pkt_set_tc(reply.get(), true);
  } else {
    ldns_rr* record = ldns_rr_new_frm_type(LDNS_RR_TYPE_A);
    ldns_rr_set_owner(record, ldns_rdf_clone(ldns_rr_owner(question)));
    ldns_rr_set_ttl(record, 60);
    ldns_rr_set_rdf(record, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, address.c_str()), 0);
    ldns_pkt_push_rr(reply.get(), LDNS_SECTION_ANSWER, record);
  }
  return to_wire(reply.get());
}

// --- sockets ---------------------------------------------------------------------------

class Socket {
 public:
  explicit Socket(int fd) : m_fd(fd) {}
  ~Socket() {
    if (m_fd >= 0) ::close(m_fd);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int get() const { return m_fd; }

 private:
  int m_fd;
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

const sockaddr* as_sockaddr(const sockaddr_in& address) {
  return reinterpret_cast<const sockaddr*>(&address);
}

std::uint16_t bound_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

/// A UDP and a TCP socket bound to one free 127.0.0.1 port (the kernel picks it).
struct PortPair {
  std::unique_ptr<Socket> udp;
  std::unique_ptr<Socket> tcp;
  std::uint16_t port = 0;
};

PortPair bind_pair() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    PortPair pair;
    pair.udp = std::make_unique<Socket>(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const sockaddr_in any = loopback(0);
    if (::bind(pair.udp->get(), as_sockaddr(any), sizeof any) != 0) continue;
    pair.port = bound_port(pair.udp->get());
    pair.tcp = std::make_unique<Socket>(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const sockaddr_in same = loopback(pair.port);
    if (::bind(pair.tcp->get(), as_sockaddr(same), sizeof same) == 0) return pair;
  }
  ADD_FAILURE() << "no free port pair on 127.0.0.1";
  return {};
}

/// A port free on 127.0.0.1 for UDP and TCP just now.
std::uint16_t free_port() {
  return bind_pair().port;
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd entry{fd, POLLIN, 0};
  return ::poll(&entry, 1, static_cast<int>(timeout.count())) == 1;
}

/// Binds `fd` to `source` (a loopback address, host order) on a port the kernel picks; with 0
/// the kernel picks the address too when the socket is used (127.0.0.1 towards 127.0.0.1).
bool bind_source(int fd, std::uint32_t source) {
  if (source == 0) return true;
  sockaddr_in address = loopback(0);
  address.sin_addr.s_addr = htonl(source);
  return ::bind(fd, as_sockaddr(address), sizeof address) == 0;
}

/// Sends `wire` over UDP to 127.0.0.1:port (from `source`, see bind_source) and returns the
/// reply, nullopt after `timeout`.
std::optional<Bytes> exchange_udp(std::uint16_t port, const Bytes& wire,
                                  std::chrono::milliseconds timeout = 3000ms,
                                  std::uint32_t source = 0) {
  Socket socket(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!bind_source(socket.get(), source)) return std::nullopt;
  const sockaddr_in server = loopback(port);
  if (::sendto(socket.get(), wire.data(), wire.size(), 0, as_sockaddr(server), sizeof server) < 0) {
    return std::nullopt;
  }
  if (!wait_readable(socket.get(), timeout)) return std::nullopt;
  Bytes reply(65536);
  const ssize_t size = ::recv(socket.get(), reply.data(), reply.size(), 0);
  if (size < 0) return std::nullopt;
  reply.resize(static_cast<std::size_t>(size));
  return reply;
}

bool read_exactly(int fd, std::uint8_t* data, std::size_t size, std::chrono::milliseconds timeout) {
  for (std::size_t done = 0; done < size;) {
    if (!wait_readable(fd, timeout)) return false;
    const ssize_t got = ::recv(fd, data + done, size - done, 0);
    if (got <= 0) return false;
    done += static_cast<std::size_t>(got);
  }
  return true;
}

std::optional<Bytes> read_tcp_message(int fd, std::chrono::milliseconds timeout) {
  std::uint8_t length[2];
  if (!read_exactly(fd, length, 2, timeout)) return std::nullopt;
  Bytes message(static_cast<std::size_t>(length[0] << 8 | length[1]));
  if (!read_exactly(fd, message.data(), message.size(), timeout)) return std::nullopt;
  return message;
}

Bytes with_length(const Bytes& message) {
  Bytes out{static_cast<std::uint8_t>(message.size() >> 8),
            static_cast<std::uint8_t>(message.size() & 0xff)};
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

std::optional<Bytes> exchange_tcp(std::uint16_t port, const Bytes& wire,
                                  std::chrono::milliseconds timeout = 3000ms,
                                  std::uint32_t source = 0) {
  Socket socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!bind_source(socket.get(), source)) return std::nullopt;
  const sockaddr_in server = loopback(port);
  if (::connect(socket.get(), as_sockaddr(server), sizeof server) != 0) return std::nullopt;
  const Bytes request = with_length(wire);
  if (::send(socket.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return std::nullopt;
  }
  return read_tcp_message(socket.get(), timeout);
}

Pkt ask(std::uint16_t port, const std::string& name, ldns_rr_type type = LDNS_RR_TYPE_A,
        std::uint16_t id = 4242, bool tcp = false, std::uint32_t source = 0) {
  const Bytes wire = query_wire(name, type, id);
  const auto reply =
      tcp ? exchange_tcp(port, wire, 3000ms, source) : exchange_udp(port, wire, 3000ms, source);
  if (!reply) return nullptr;
  return parse(*reply);
}

// --- a fake upstream -------------------------------------------------------------------

/// A DNS server on 127.0.0.1 (UDP and TCP, one port) answering every query with an A record
/// `address`; with `truncate_udp`, UDP replies carry TC and no record. It remembers the ids it
/// was asked with.
class FakeUpstream {
 public:
  explicit FakeUpstream(std::string address, bool truncate_udp = false)
      : m_address(std::move(address)), m_truncate_udp(truncate_udp), m_sockets(bind_pair()) {
    ::listen(m_sockets.tcp->get(), 8);
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    m_stop_read = fds[0];
    m_stop_write = fds[1];
    m_thread = std::thread([this] { serve(); });
  }
  ~FakeUpstream() {
    ::close(m_stop_write);
    m_thread.join();
    ::close(m_stop_read);
  }
  std::uint16_t port() const { return m_sockets.port; }
  std::string endpoint() const { return fmt::format("127.0.0.1:{}", port()); }
  int queries() const { return m_queries; }
  std::set<std::uint16_t> ids() const {
    std::lock_guard lock(m_mutex);
    return m_ids;
  }

 private:
  void note(const Bytes& query) {
    if (query.size() < 2) return;
    std::lock_guard lock(m_mutex);
    m_ids.insert(static_cast<std::uint16_t>(query[0] << 8 | query[1]));
    ++m_queries;
  }

  void serve() {
    for (;;) {
      pollfd fds[] = {{m_stop_read, POLLIN, 0},
                      {m_sockets.udp->get(), POLLIN, 0},
                      {m_sockets.tcp->get(), POLLIN, 0}};
      if (::poll(fds, 3, -1) < 0) continue;
      if (fds[0].revents != 0) return;
      if (fds[1].revents != 0) {
        Bytes query(65536);
        sockaddr_in from{};
        socklen_t length = sizeof from;
        const ssize_t size = ::recvfrom(m_sockets.udp->get(), query.data(), query.size(), 0,
                                        reinterpret_cast<sockaddr*>(&from), &length);
        if (size > 0) {
          query.resize(static_cast<std::size_t>(size));
          note(query);
          const Bytes reply = upstream_reply(query, m_address, m_truncate_udp);
          ::sendto(m_sockets.udp->get(), reply.data(), reply.size(), 0,
                   reinterpret_cast<sockaddr*>(&from), length);
        }
      }
      if (fds[2].revents != 0) {
        Socket client(::accept4(m_sockets.tcp->get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (const auto query = read_tcp_message(client.get(), 2000ms)) {
          note(*query);
          const Bytes reply = with_length(upstream_reply(*query, m_address, false));
          ::send(client.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
        }
      }
    }
  }

  std::string m_address;
  bool m_truncate_udp;
  PortPair m_sockets;
  int m_stop_read = -1;
  int m_stop_write = -1;
  mutable std::mutex m_mutex;
  std::set<std::uint16_t> m_ids;
  std::atomic<int> m_queries = 0;
  std::thread m_thread;
};

// --- the responder ---------------------------------------------------------------------

std::string dns_binary() {
  return fs::dirname(BERTH_BINARY) + "/berth-dns";
}

/// berth-dns started as berth starts it, with --ready-fd; SIGTERM and reaped at the end.
class Responder {
 public:
  explicit Responder(const std::string& config_path) {
    if (!fs::is_file(dns_binary())) {
      ready_line = "missing " + dns_binary() + " (make berth-dns)";
      return;
    }
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    // The child's end on a known number, without O_CLOEXEC.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 7);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    const std::string binary = dns_binary();
    std::vector<char*> argv = {const_cast<char*>(binary.c_str()),
                               const_cast<char*>(config_path.c_str()),
                               const_cast<char*>("--ready-fd"), const_cast<char*>("7"), nullptr};
    EXPECT_EQ(posix_spawn(&m_pid, binary.c_str(), &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    // The line, then end of file (the responder closes its end).
    std::string text;
    const auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline && wait_readable(fds[0], 5000ms)) {
      char buffer[256];
      const ssize_t size = ::read(fds[0], buffer, sizeof buffer);
      if (size <= 0) break;
      text.append(buffer, static_cast<std::size_t>(size));
    }
    ::close(fds[0]);
    ready_line = text;
  }
  ~Responder() {
    if (m_pid > 0 && !exit_status(0ms)) {
      ::kill(m_pid, SIGTERM);
      if (!exit_status(3000ms)) {
        ::kill(m_pid, SIGKILL);
        exit_status(3000ms);
      }
    }
  }
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;

  /// The raw wait status once the responder exited within `timeout`.
  std::optional<int> exit_status(std::chrono::milliseconds timeout) {
    if (m_status) return m_status;
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      int status = 0;
      if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_status = status;
        return m_status;
      }
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(10ms);
    }
  }
  void terminate() { ::kill(m_pid, SIGTERM); }

  std::string ready_line;

 private:
  pid_t m_pid = -1;
  std::optional<int> m_status;
};

class DnsServerTest : public ::testing::Test {
 protected:
  /// Writes the config (atomically, as berth does) and returns its path.
  std::string write_config(std::uint16_t port, const std::vector<std::string>& upstreams,
                           const json& names, const json& views = json::array()) {
    json config{{"listen", "127.0.0.1"},
                {"port", port},
                {"upstreams", upstreams},
                {"names", names},
                {"views", views}};
    fs::write_file_atomic(config_path(), config.dump());
    return config_path();
  }
  std::string config_path() const { return m_dir.path() + "/dns.json"; }

  /// Starts a responder on a free port; ASSERTs it is ready.
  std::unique_ptr<Responder> start(const std::vector<std::string>& upstreams, const json& names,
                                   const json& views = json::array()) {
    m_port = free_port();
    write_config(m_port, upstreams, names, views);
    auto responder = std::make_unique<Responder>(config_path());
    EXPECT_EQ(responder->ready_line, "ok\n");
    return responder;
  }

  TempDir m_dir;
  std::uint16_t m_port = 0;
};

const json k_names = {{"web", {"10.210.3.2", "10.210.3.3", "10.210.3.4"}}, {"DB.", {"10.210.3.9"}}};

// --- DnsNames, without sockets ----------------------------------------------------------

DnsConfig names_config(const json& names, const json& views = json::array()) {
  return dns_config_from_json(json{{"listen", "127.0.0.1"}, {"names", names}, {"views", views}});
}

Pkt answer_of(DnsNames& names, const Bytes& query, bool over_tcp = false,
              const std::optional<DnsClient>& client = std::nullopt) {
  const DnsAnswer answer = names.answer(query, over_tcp, client);
  EXPECT_EQ(answer.action, DnsAnswer::Action::reply);
  return parse(answer.reply);
}

TEST(DnsNames, AnswersAllAddressesRotatingOneStepPerQuery) {
  DnsNames names;
  names.update(names_config(k_names));
  const Pkt first = answer_of(names, query_wire("web.", LDNS_RR_TYPE_A, 7));
  ASSERT_TRUE(first);
  EXPECT_EQ(ldns_pkt_id(first.get()), 7);
  EXPECT_TRUE(ldns_pkt_qr(first.get()));
  EXPECT_TRUE(ldns_pkt_aa(first.get()));
  EXPECT_EQ(ldns_pkt_get_rcode(first.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(answers(first.get()),
            (std::vector<std::string>{"10.210.3.2", "10.210.3.3", "10.210.3.4"}));
  EXPECT_EQ(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(first.get()), 0)), k_dns_ttl);
  EXPECT_EQ(answers(answer_of(names, query_wire("web.", LDNS_RR_TYPE_A, 8)).get()),
            (std::vector<std::string>{"10.210.3.3", "10.210.3.4", "10.210.3.2"}));
  // A reload keeps the position of a name that stays.
  names.update(names_config(k_names));
  EXPECT_EQ(answers(answer_of(names, query_wire("web.", LDNS_RR_TYPE_A, 9)).get()),
            (std::vector<std::string>{"10.210.3.4", "10.210.3.2", "10.210.3.3"}));
}

TEST(DnsNames, MatchesNamesCaseInsensitivelyAndEchoesTheQuestion) {
  DnsNames names;
  names.update(names_config(k_names));
  const Pkt reply = answer_of(names, query_wire("dB.", LDNS_RR_TYPE_A, 1));
  EXPECT_EQ(answers(reply.get()), (std::vector<std::string>{"10.210.3.9"}));
  char* owner = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(reply.get()), 0)));
  EXPECT_STREQ(owner, "dB.");
  std::free(owner);
}

TEST(DnsNames, GivesNoDataForAFamilyTheNameHasNoAddressOf) {
  DnsNames names;
  names.update(names_config({{"web", {"10.0.0.2"}}, {"dual", {"10.0.0.3", "fd00::3"}}}));
  const Pkt aaaa = answer_of(names, query_wire("web.", LDNS_RR_TYPE_AAAA, 1));
  EXPECT_EQ(ldns_pkt_get_rcode(aaaa.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_ancount(aaaa.get()), 0);
  EXPECT_EQ(answers(answer_of(names, query_wire("dual.", LDNS_RR_TYPE_AAAA, 2)).get()),
            (std::vector<std::string>{"fd00::3"}));
  EXPECT_EQ(answers(answer_of(names, query_wire("dual.", LDNS_RR_TYPE_A, 3)).get()),
            (std::vector<std::string>{"10.0.0.3"}));
  const Pkt mx = answer_of(names, query_wire("web.", LDNS_RR_TYPE_MX, 4));
  EXPECT_EQ(ldns_pkt_get_rcode(mx.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_ancount(mx.get()), 0);
  const Pkt any = answer_of(names, query_wire("web.", LDNS_RR_TYPE_ANY, 5));
  EXPECT_EQ(ldns_pkt_get_rcode(any.get()), LDNS_RCODE_NOTIMPL);
}

// Network A's names, and two views: a container on A and B (10.210.3.5, fd00:3::5) also sees
// B's names, one on A and C (10.210.3.6) C's; a container on A alone (10.210.3.7) neither.
const json k_views = {{{"clients", {"10.210.3.5", "fd00:3::5"}},
                       {"names", {{"db", {"10.210.4.2", "10.210.4.3"}}, {"web", {"10.210.4.9"}}}}},
                      {{"clients", {"10.210.3.6", "10.210.3.5"}},
                       {"names", {{"cache", {"fd00:5::2"}}, {"db", {"10.210.5.2"}}}}}};

DnsClient client(const std::string& address) {
  const auto parsed = dns_client(address);
  EXPECT_TRUE(parsed) << address;
  return parsed.value_or(DnsClient{});
}

TEST(DnsNames, ParsesClientAddressesIntoOneForm) {
  EXPECT_EQ(dns_client("10.210.3.5"), dns_client("::ffff:10.210.3.5"));
  EXPECT_NE(dns_client("10.210.3.5"), dns_client("10.210.3.6"));
  EXPECT_EQ(dns_client("fd00::5"), dns_client("fd00:0::0:5"));
  EXPECT_FALSE(dns_client("web"));
  EXPECT_FALSE(dns_client(""));
  EXPECT_FALSE(dns_client("10.210.3.5:53"));
}

TEST(DnsNames, AClientInAViewResolvesItsNames) {
  DnsNames names;
  names.update(names_config({{"api", {"10.210.3.2"}}}, k_views));
  EXPECT_EQ(
      answers(answer_of(names, query_wire("db.", LDNS_RR_TYPE_A, 1), false, client("10.210.3.6"))
                  .get()),
      (std::vector<std::string>{"10.210.5.2"}));
  EXPECT_EQ(answers(answer_of(names, query_wire("cache.", LDNS_RR_TYPE_AAAA, 2), false,
                              client("10.210.3.6"))
                        .get()),
            (std::vector<std::string>{"fd00:5::2"}));
  // By any of its addresses; the network's own names still answer.
  const Pkt reply =
      answer_of(names, query_wire("Web.", LDNS_RR_TYPE_A, 3), true, client("fd00:3::5"));
  EXPECT_EQ(answers(reply.get()), (std::vector<std::string>{"10.210.4.9"}));
  EXPECT_TRUE(ldns_pkt_aa(reply.get()));
  EXPECT_EQ(
      answers(answer_of(names, query_wire("api.", LDNS_RR_TYPE_A, 4), false, client("10.210.3.6"))
                  .get()),
      (std::vector<std::string>{"10.210.3.2"}));
  // A client in two views sees both; the first listing it wins a name both have.
  EXPECT_EQ(answers(answer_of(names, query_wire("cache.", LDNS_RR_TYPE_AAAA, 5), false,
                              client("10.210.3.5"))
                        .get()),
            (std::vector<std::string>{"fd00:5::2"}));
  EXPECT_EQ(answers(answer_of(names, query_wire("db.", LDNS_RR_TYPE_A, 6), false,
                              client("::ffff:10.210.3.5"))
                        .get())
                .size(),
            2U);
}

TEST(DnsNames, AClientInNoViewDoesNotResolveTheirNames) {
  DnsNames names;
  names.update(names_config({{"api", {"10.210.3.2"}}}, k_views));
  for (const auto& other : {std::optional<DnsClient>(), std::optional(client("10.210.3.7")),
                            std::optional(client("fd00:3::6"))}) {
    for (const char* name : {"db.", "cache.", "web."}) {
      EXPECT_EQ(names.answer(query_wire(name, LDNS_RR_TYPE_A, 1), false, other).action,
                DnsAnswer::Action::forward)
          << name;
    }
    EXPECT_EQ(answers(answer_of(names, query_wire("api.", LDNS_RR_TYPE_A, 2), false, other).get()),
              (std::vector<std::string>{"10.210.3.2"}));
  }
  // Nor does a client of a view removed by a reload.
  names.update(names_config({{"api", {"10.210.3.2"}}}, json::array({k_views[1]})));
  EXPECT_EQ(names.answer(query_wire("web.", LDNS_RR_TYPE_A, 3), false, client("fd00:3::5")).action,
            DnsAnswer::Action::forward);
  EXPECT_EQ(
      answers(answer_of(names, query_wire("db.", LDNS_RR_TYPE_A, 4), false, client("10.210.3.5"))
                  .get()),
      (std::vector<std::string>{"10.210.5.2"}));
}

TEST(DnsNames, TheNetworksOwnNamesWinOverAViews) {
  DnsNames names;
  names.update(names_config({{"db", {"10.210.3.9"}}, {"cache", {"10.210.3.10"}}}, k_views));
  EXPECT_EQ(
      answers(answer_of(names, query_wire("db.", LDNS_RR_TYPE_A, 1), false, client("10.210.3.5"))
                  .get()),
      (std::vector<std::string>{"10.210.3.9"}));
  // Even for a family only the view's name has an address of: the own name answers NODATA.
  const Pkt aaaa =
      answer_of(names, query_wire("cache.", LDNS_RR_TYPE_AAAA, 2), false, client("10.210.3.6"));
  EXPECT_EQ(ldns_pkt_get_rcode(aaaa.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_ancount(aaaa.get()), 0);
}

TEST(DnsNames, RotatesAViewsNamesAndKeepsThePositionOnReload) {
  const json view = {{"clients", {"10.210.3.5"}},
                     {"names", {{"db", {"10.210.4.2", "10.210.4.3", "10.210.4.4"}}}}};
  DnsNames names;
  names.update(names_config({{"web", {"10.210.3.2"}}}, json::array({view})));
  const auto db = [&](std::uint16_t id) {
    return answers(
        answer_of(names, query_wire("DB.", LDNS_RR_TYPE_A, id), false, client("10.210.3.5")).get());
  };
  EXPECT_EQ(db(1), (std::vector<std::string>{"10.210.4.2", "10.210.4.3", "10.210.4.4"}));
  EXPECT_EQ(db(2), (std::vector<std::string>{"10.210.4.3", "10.210.4.4", "10.210.4.2"}));
  // A reload, with the view now behind another, keeps the position of a name that stays.
  names.update(
      names_config({{"web", {"10.210.3.2"}}},
                   {{{"clients", {"10.210.3.8"}}, {"names", {{"queue", {"10.210.6.2"}}}}}, view}));
  EXPECT_EQ(db(3), (std::vector<std::string>{"10.210.4.4", "10.210.4.2", "10.210.4.3"}));
}

TEST(DnsNames, ForwardsOtherNamesAndDropsWhatIsNoQuery) {
  DnsNames names;
  names.update(names_config(k_names));
  EXPECT_EQ(names.answer(query_wire("example.org.", LDNS_RR_TYPE_A, 1), false).action,
            DnsAnswer::Action::forward);
  EXPECT_EQ(names.answer(query_wire("web.example.org.", LDNS_RR_TYPE_A, 1), false).action,
            DnsAnswer::Action::forward);
  EXPECT_EQ(names.answer(Bytes{1, 2, 3}, false).action, DnsAnswer::Action::drop);
  EXPECT_EQ(names.answer(Bytes(12, 0xff), false).action, DnsAnswer::Action::drop);
  EXPECT_EQ(names.answer(Bytes{}, false).action, DnsAnswer::Action::drop);
  // A reply (QR set) is never answered: two responders must not play ping-pong.
  Bytes reply = query_wire("web.", LDNS_RR_TYPE_A, 1);
  reply[2] |= 0x80;
  EXPECT_EQ(names.answer(reply, false).action, DnsAnswer::Action::drop);
}

TEST(DnsNames, TruncatesOverUdpWhatDoesNotFitTheClientsLimit) {
  json many = json::array();
  for (int i = 1; i <= 60; ++i) many.push_back(fmt::format("10.0.0.{}", i));
  DnsNames names;
  names.update(names_config({{"web", many}}));
  const Pkt udp = answer_of(names, query_wire("web.", LDNS_RR_TYPE_A, 1));
  EXPECT_TRUE(ldns_pkt_tc(udp.get()));
  EXPECT_EQ(ldns_pkt_ancount(udp.get()), 0);
  const Pkt edns = answer_of(names, query_wire("web.", LDNS_RR_TYPE_A, 2, 4096));
  EXPECT_FALSE(ldns_pkt_tc(edns.get()));
  EXPECT_EQ(ldns_pkt_ancount(edns.get()), 60);
  const Pkt tcp = answer_of(names, query_wire("web.", LDNS_RR_TYPE_A, 3), true);
  EXPECT_FALSE(ldns_pkt_tc(tcp.get()));
  EXPECT_EQ(ldns_pkt_ancount(tcp.get()), 60);
}

TEST(DnsNames, SurvivesMangledQueries) {
  DnsNames names;
  names.update(names_config({{"web", {"10.0.0.2", "fd00::2"}}}));
  const Bytes valid = query_wire("web.", LDNS_RR_TYPE_A, 1, 4096);
  std::mt19937 random(42);  // fixed: a failure repeats
  int replies = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes query = valid;
    for (int change = 0; change <= static_cast<int>(random() % 4); ++change) {
      switch (random() % 3) {
        case 0: query[random() % query.size()] = static_cast<std::uint8_t>(random()); break;
        case 1: query.resize(random() % query.size() + 1); break;
        default: query.push_back(static_cast<std::uint8_t>(random())); break;
      }
    }
    const DnsAnswer answer = names.answer(query, random() % 2 == 0);
    if (answer.action == DnsAnswer::Action::reply) {
      ++replies;
      EXPECT_TRUE(parse(answer.reply)) << "an unparsable reply";
    }
    dns_error_reply(query, LDNS_RCODE_SERVFAIL);
  }
  EXPECT_GT(replies, 0);
}

TEST(DnsNames, ErrorReplyKeepsIdAndQuestion) {
  const Pkt reply = parse(dns_error_reply(query_wire("x.org.", LDNS_RR_TYPE_A, 99), 2));
  ASSERT_TRUE(reply);
  EXPECT_EQ(ldns_pkt_id(reply.get()), 99);
  EXPECT_EQ(ldns_pkt_get_rcode(reply.get()), LDNS_RCODE_SERVFAIL);
  EXPECT_EQ(ldns_pkt_qdcount(reply.get()), 1);
  EXPECT_TRUE(dns_error_reply(Bytes{1, 2}, 2).empty());
}

// --- the berth-dns program ---------------------------------------------------------------

TEST_F(DnsServerTest, AnswersKnownNamesWithAllAddressesRoundRobin) {
  const auto responder = start({}, k_names);
  std::vector<std::vector<std::string>> seen;
  for (int i = 0; i < 3; ++i) {
    const Pkt reply = ask(m_port, "web.", LDNS_RR_TYPE_A, static_cast<std::uint16_t>(100 + i));
    ASSERT_TRUE(reply) << "no reply to query " << i;
    EXPECT_EQ(ldns_pkt_id(reply.get()), 100 + i);
    seen.push_back(answers(reply.get()));
  }
  EXPECT_EQ(seen[0], (std::vector<std::string>{"10.210.3.2", "10.210.3.3", "10.210.3.4"}));
  EXPECT_EQ(seen[1], (std::vector<std::string>{"10.210.3.3", "10.210.3.4", "10.210.3.2"}));
  EXPECT_EQ(seen[2], (std::vector<std::string>{"10.210.3.4", "10.210.3.2", "10.210.3.3"}));
  // Case and the trailing dot of the config do not matter.
  EXPECT_EQ(answers(ask(m_port, "Db.").get()), (std::vector<std::string>{"10.210.3.9"}));
  EXPECT_EQ(answers(ask(m_port, "db").get()), (std::vector<std::string>{"10.210.3.9"}));
  const Pkt aaaa = ask(m_port, "web.", LDNS_RR_TYPE_AAAA);
  ASSERT_TRUE(aaaa);
  EXPECT_EQ(ldns_pkt_get_rcode(aaaa.get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(ldns_pkt_ancount(aaaa.get()), 0);
}

TEST_F(DnsServerTest, RefusesOtherNamesWithoutUpstreams) {
  const auto responder = start({}, k_names);
  const Pkt reply = ask(m_port, "example.org.");
  ASSERT_TRUE(reply);
  EXPECT_EQ(ldns_pkt_get_rcode(reply.get()), LDNS_RCODE_REFUSED);
}

TEST_F(DnsServerTest, ForwardsOtherNamesWithAFreshIdAndRelaysWithTheClients) {
  FakeUpstream upstream("192.0.2.53");
  const auto responder = start({upstream.endpoint()}, k_names);
  const Pkt reply = ask(m_port, "example.org.", LDNS_RR_TYPE_A, 0x1234);
  ASSERT_TRUE(reply);
  EXPECT_EQ(ldns_pkt_id(reply.get()), 0x1234);
  EXPECT_EQ(answers(reply.get()), (std::vector<std::string>{"192.0.2.53"}));
  EXPECT_EQ(upstream.queries(), 1);
  // Known names never reach the upstream.
  EXPECT_EQ(answers(ask(m_port, "db.").get()), (std::vector<std::string>{"10.210.3.9"}));
  EXPECT_EQ(upstream.queries(), 1);
  // The upstream is asked with ids of the responder's own (random: one in 65536 matches).
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(ask(m_port, "example.org.", LDNS_RR_TYPE_A, 0x1234));
  EXPECT_NE(upstream.ids(), (std::set<std::uint16_t>{0x1234}));
}

TEST_F(DnsServerTest, AsksTheNextUpstreamWhenOneIsSilent) {
  const PortPair silent = bind_pair();  // bound, never read: no reply, no ICMP error
  FakeUpstream upstream("192.0.2.54");
  const auto responder =
      start({fmt::format("127.0.0.1:{}", silent.port), upstream.endpoint()}, k_names);
  const auto begin = Clock::now();
  const Pkt reply = ask(m_port, "example.org.", LDNS_RR_TYPE_A, 77);
  const auto took = Clock::now() - begin;
  ASSERT_TRUE(reply);
  EXPECT_EQ(ldns_pkt_id(reply.get()), 77);
  EXPECT_EQ(answers(reply.get()), (std::vector<std::string>{"192.0.2.54"}));
  EXPECT_GE(took, 1900ms);  // the silent one had its two seconds
}

TEST_F(DnsServerTest, AsksTheNextUpstreamAtOnceWhenOneRefusesAndFailsWhenAllDo) {
  const std::uint16_t closed = free_port();  // nothing listens: ICMP port unreachable
  FakeUpstream upstream("192.0.2.55");
  {
    const auto responder =
        start({fmt::format("127.0.0.1:{}", closed), upstream.endpoint()}, k_names);
    const auto begin = Clock::now();
    EXPECT_EQ(answers(ask(m_port, "example.org.").get()), (std::vector<std::string>{"192.0.2.55"}));
    EXPECT_LT(Clock::now() - begin, 1000ms);
  }
  const auto responder = start({fmt::format("127.0.0.1:{}", closed)}, k_names);
  const Pkt reply = ask(m_port, "example.org.", LDNS_RR_TYPE_A, 5);
  ASSERT_TRUE(reply);
  EXPECT_EQ(ldns_pkt_id(reply.get()), 5);
  EXPECT_EQ(ldns_pkt_get_rcode(reply.get()), LDNS_RCODE_SERVFAIL);
}

TEST_F(DnsServerTest, AnswersAViewsNamesToItsClientsOnly) {
  // 127.0.0.2 is loopback too (127.0.0.0/8): a second client with an address of its own.
  constexpr std::uint32_t k_in_view = 0x7f000002;
  constexpr std::uint32_t k_not_in_view = 0x7f000001;
  FakeUpstream upstream("192.0.2.58");
  const auto responder =
      start({upstream.endpoint()}, k_names,
            {{{"clients", {"127.0.0.2"}}, {"names", {{"cache", {"10.210.4.2", "10.210.4.3"}}}}}});
  for (const bool tcp : {false, true}) {
    const Pkt seen = ask(m_port, "cache.", LDNS_RR_TYPE_A, 31, tcp, k_in_view);
    ASSERT_TRUE(seen) << (tcp ? "tcp" : "udp");
    EXPECT_EQ(ldns_pkt_id(seen.get()), 31);
    EXPECT_EQ(answers(seen.get()).size(), 2U);
    EXPECT_EQ(answers(ask(m_port, "db.", LDNS_RR_TYPE_A, 32, tcp, k_in_view).get()),
              (std::vector<std::string>{"10.210.3.9"}));
    // Another client's query for the name goes to the upstream, as any name it does not know.
    EXPECT_EQ(answers(ask(m_port, "cache.", LDNS_RR_TYPE_A, 33, tcp, k_not_in_view).get()),
              (std::vector<std::string>{"192.0.2.58"}))
        << (tcp ? "tcp" : "udp");
  }
  EXPECT_EQ(upstream.queries(), 2);
  // Round robin over UDP for the view's name.
  const auto first = answers(ask(m_port, "cache.", LDNS_RR_TYPE_A, 34, false, k_in_view).get());
  const auto second = answers(ask(m_port, "cache.", LDNS_RR_TYPE_A, 35, false, k_in_view).get());
  ASSERT_EQ(first.size(), 2U);
  EXPECT_EQ(second, (std::vector<std::string>{first[1], first[0]}));
}

TEST_F(DnsServerTest, AnswersAndForwardsOverTcp) {
  FakeUpstream upstream("192.0.2.56", true);
  const auto responder = start({upstream.endpoint()}, k_names);
  const Pkt known = ask(m_port, "web.", LDNS_RR_TYPE_A, 11, true);
  ASSERT_TRUE(known);
  EXPECT_EQ(ldns_pkt_id(known.get()), 11);
  EXPECT_EQ(answers(known.get()).size(), 3U);
  // Over UDP the upstream's truncated reply comes back as is; the client then asks over TCP,
  // which goes to the upstream over TCP.
  const Pkt truncated = ask(m_port, "example.org.", LDNS_RR_TYPE_A, 12);
  ASSERT_TRUE(truncated);
  EXPECT_TRUE(ldns_pkt_tc(truncated.get()));
  EXPECT_EQ(ldns_pkt_ancount(truncated.get()), 0);
  const Pkt full = ask(m_port, "example.org.", LDNS_RR_TYPE_A, 13, true);
  ASSERT_TRUE(full);
  EXPECT_EQ(ldns_pkt_id(full.get()), 13);
  EXPECT_FALSE(ldns_pkt_tc(full.get()));
  EXPECT_EQ(answers(full.get()), (std::vector<std::string>{"192.0.2.56"}));
}

TEST_F(DnsServerTest, AnswersSeveralQueriesOnOneTcpConnection) {
  const auto responder = start({}, k_names);
  Socket socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sockaddr_in server = loopback(m_port);
  ASSERT_EQ(::connect(socket.get(), as_sockaddr(server), sizeof server), 0);
  // Both queries in one write: the second waits until the first is answered.
  Bytes both = with_length(query_wire("web.", LDNS_RR_TYPE_A, 21));
  const Bytes second = with_length(query_wire("db.", LDNS_RR_TYPE_A, 22));
  both.insert(both.end(), second.begin(), second.end());
  ASSERT_EQ(::send(socket.get(), both.data(), both.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(both.size()));
  const auto first_reply = read_tcp_message(socket.get(), 3000ms);
  const auto second_reply = read_tcp_message(socket.get(), 3000ms);
  ASSERT_TRUE(first_reply && second_reply);
  EXPECT_EQ(ldns_pkt_id(parse(*first_reply).get()), 21);
  EXPECT_EQ(answers(parse(*second_reply).get()), (std::vector<std::string>{"10.210.3.9"}));
}

TEST_F(DnsServerTest, SurvivesGarbage) {
  const auto responder = start({}, k_names);
  for (const Bytes& garbage : {Bytes{}, Bytes{0}, Bytes(12, 0xff), Bytes(600, 0x41),
                               Bytes{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63}}) {
    EXPECT_FALSE(exchange_udp(m_port, garbage, 100ms)) << "garbage got a reply";
  }
  // Over TCP: a length with no message behind it, then the connection closed.
  {
    Socket socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const sockaddr_in server = loopback(m_port);
    ASSERT_EQ(::connect(socket.get(), as_sockaddr(server), sizeof server), 0);
    const std::uint8_t partial[] = {0x10, 0x00, 1, 2, 3};
    ::send(socket.get(), partial, sizeof partial, MSG_NOSIGNAL);
  }
  EXPECT_FALSE(exchange_tcp(m_port, Bytes(20, 0xee), 300ms));
  EXPECT_FALSE(responder->exit_status(0ms));
  EXPECT_EQ(answers(ask(m_port, "db.").get()), (std::vector<std::string>{"10.210.3.9"}));
  EXPECT_EQ(answers(ask(m_port, "db.", LDNS_RR_TYPE_A, 1, true).get()),
            (std::vector<std::string>{"10.210.3.9"}));
}

TEST_F(DnsServerTest, ReloadsTheConfigWhenItIsReplaced) {
  FakeUpstream upstream("192.0.2.57");
  const auto responder = start({upstream.endpoint()}, k_names);
  EXPECT_EQ(answers(ask(m_port, "db.").get()), (std::vector<std::string>{"10.210.3.9"}));
  write_config(m_port, {upstream.endpoint()}, {{"api", {"10.210.3.20"}}});
  std::vector<std::string> api;
  for (const auto deadline = Clock::now() + 3s; Clock::now() < deadline;) {
    api = answers(ask(m_port, "api.").get());
    if (api == std::vector<std::string>{"10.210.3.20"}) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(api, (std::vector<std::string>{"10.210.3.20"}));
  // The removed name now goes to the upstream.
  EXPECT_EQ(answers(ask(m_port, "db.").get()), (std::vector<std::string>{"192.0.2.57"}));
}

TEST_F(DnsServerTest, ReloadsTheConfigWhenItIsRewrittenInPlace) {
  const auto responder = start({}, k_names);
  {
    std::ofstream file(config_path(), std::ios::trunc);
    file << json{{"listen", "127.0.0.1"}, {"port", m_port}, {"names", {{"api", {"10.0.0.7"}}}}};
  }
  std::vector<std::string> api;
  for (const auto deadline = Clock::now() + 3s; Clock::now() < deadline;) {
    api = answers(ask(m_port, "api.").get());
    if (!api.empty()) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(api, (std::vector<std::string>{"10.0.0.7"}));
}

TEST_F(DnsServerTest, MovesToTheNewPortOnReload) {
  const auto responder = start({}, k_names);
  const std::uint16_t old_port = m_port;
  const std::uint16_t new_port = free_port();
  write_config(new_port, {}, k_names);
  Pkt reply;
  for (const auto deadline = Clock::now() + 3s; !reply && Clock::now() < deadline;) {
    if (const auto wire = exchange_udp(new_port, query_wire("db.", LDNS_RR_TYPE_A, 3), 100ms)) {
      reply = parse(*wire);
    }
  }
  ASSERT_TRUE(reply);
  EXPECT_EQ(answers(reply.get()), (std::vector<std::string>{"10.210.3.9"}));
  EXPECT_FALSE(exchange_udp(old_port, query_wire("db.", LDNS_RR_TYPE_A, 4), 200ms));
  EXPECT_EQ(answers(ask(new_port, "db.", LDNS_RR_TYPE_A, 5, true).get()),
            (std::vector<std::string>{"10.210.3.9"}));
}

TEST_F(DnsServerTest, KeepsServingWhenTheNewConfigIsInvalid) {
  const auto responder = start({}, k_names);
  fs::write_file_atomic(config_path(), "{\"listen\": ");
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(responder->exit_status(0ms));
  EXPECT_EQ(answers(ask(m_port, "db.").get()), (std::vector<std::string>{"10.210.3.9"}));
}

TEST_F(DnsServerTest, ExitsZeroWhenTheConfigIsRemoved) {
  const auto responder = start({}, k_names);
  ASSERT_EQ(::unlink(config_path().c_str()), 0);
  const auto status = responder->exit_status(3000ms);
  ASSERT_TRUE(status) << "still running after its config was removed";
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST_F(DnsServerTest, ExitsZeroOnSigterm) {
  const auto responder = start({}, k_names);
  responder->terminate();
  const auto status = responder->exit_status(3000ms);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST_F(DnsServerTest, ReportsABindFailureOnTheReadyFd) {
  const PortPair taken = bind_pair();  // the UDP port is in use
  write_config(taken.port, {}, k_names);
  Responder responder(config_path());
  EXPECT_EQ(responder.ready_line,
            fmt::format("error: cannot listen on 127.0.0.1:{}/udp: Address already in use\n",
                        taken.port));
  const auto status = responder.exit_status(3000ms);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 1);
}

TEST_F(DnsServerTest, ReportsAnInvalidConfigOnTheReadyFd) {
  fs::write_file_atomic(config_path(), R"({"port": 53})");
  Responder responder(config_path());
  EXPECT_EQ(responder.ready_line,
            fmt::format("error: {}: invalid DNS config: \"listen\" must be an IP address\n",
                        config_path()));
  const auto status = responder.exit_status(3000ms);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 1);
}

}  // namespace
}  // namespace berth::network
