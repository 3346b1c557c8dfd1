#include "network/dns_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <list>
#include <memory>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <ldns/ldns.h>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/fs.h"
#include "util/unique_fd.h"

namespace berth::network {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using Bytes = std::vector<std::uint8_t>;

/// How long each upstream gets before the next one is asked (a client's resolver waits 5 s
/// by default, enough for a silent first upstream and an answering second).
constexpr auto k_upstream_timeout = milliseconds(2000);
/// A TCP client quiet for this long is dropped (RFC 7766 asks for seconds, not minutes).
constexpr auto k_tcp_idle_timeout = milliseconds(10'000);
/// Bounds on the work in flight, so that a flood costs bounded memory and descriptors; a
/// query beyond them is dropped (UDP) or refused at accept (TCP), and the client retries.
constexpr std::size_t k_max_udp_forwards = 256;
constexpr std::size_t k_max_tcp_clients = 64;
/// UDP datagrams read per wake-up, so that TCP clients and timeouts get their turn.
constexpr int k_udp_batch = 64;
constexpr std::size_t k_header_size = 12;
constexpr std::size_t k_max_datagram = 65536;
constexpr std::size_t k_classic_udp_limit = 512;
constexpr std::size_t k_tcp_limit = 65535;
/// The EDNS buffer size advertised in replies (the 2020 DNS flag day's value).
constexpr std::uint16_t k_edns_size = 1232;

// --- answering --------------------------------------------------------------------------

struct PktFree {
  void operator()(ldns_pkt* packet) const { ldns_pkt_free(packet); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

Pkt parse(std::span<const std::uint8_t> wire) {
  ldns_pkt* packet = nullptr;
  if (ldns_wire2pkt(&packet, wire.data(), wire.size()) != LDNS_STATUS_OK) return nullptr;
  return Pkt(packet);
}

Bytes to_wire(const ldns_pkt* packet) {
  std::uint8_t* data = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&data, packet, &size) != LDNS_STATUS_OK) return {};
  Bytes out(data, data + size);
  std::free(data);  // ldns allocates with malloc (LDNS_FREE)
  return out;
}

/// A reply with the query's id, opcode, RD, CD and question, and nothing else yet.
Pkt reply_skeleton(const ldns_pkt* query, std::uint8_t rcode) {
  Pkt reply(ldns_pkt_new());
  ldns_pkt_set_id(reply.get(), ldns_pkt_id(query));
  ldns_pkt_set_qr(reply.get(), true);
  ldns_pkt_set_opcode(reply.get(), ldns_pkt_get_opcode(query));
  ldns_pkt_set_rd(reply.get(), ldns_pkt_rd(query));
  ldns_pkt_set_cd(reply.get(), ldns_pkt_cd(query));
  ldns_pkt_set_ra(reply.get(), true);
  ldns_pkt_set_rcode(reply.get(), rcode);
  const ldns_rr_list* question = ldns_pkt_question(query);
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(question); ++i) {
    ldns_pkt_push_rr(reply.get(), LDNS_SECTION_QUESTION,
                     ldns_rr_clone(ldns_rr_list_rr(question, i)));
  }
  // A client that spoke EDNS is answered in EDNS (RFC 6891 6.1.1).
  if (ldns_pkt_edns(query)) ldns_pkt_set_edns_udp_size(reply.get(), k_edns_size);
  return reply;
}

DnsAnswer reply(const ldns_pkt* packet) {
  return {DnsAnswer::Action::reply, to_wire(packet)};
}

/// The name of a question as the config spells names ("web", "a.b"), from its wire labels
/// rather than ldns's text form (which escapes); nullopt for the root or a label with a dot
/// or a backslash in it, which no configured name has.
std::optional<std::string> name_key(const ldns_rdf* name) {
  const std::uint8_t* data = ldns_rdf_data(name);
  const std::size_t size = ldns_rdf_size(name);
  std::string key;
  for (std::size_t at = 0; at < size;) {
    const std::size_t length = data[at++];
    if (length == 0) break;
    if (at + length > size) return std::nullopt;
    if (!key.empty()) key += '.';
    for (std::size_t i = 0; i < length; ++i) {
      char c = static_cast<char>(data[at + i]);
      if (c == '.' || c == '\\') return std::nullopt;
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      key += c;
    }
    at += length;
  }
  if (key.empty()) return std::nullopt;
  return key;
}

/// An IPv4 address (4 bytes, network order) as views match it.
DnsClient mapped_ipv4(const void* address) {
  DnsClient out{};
  out[10] = out[11] = 0xff;
  std::memcpy(out.data() + 12, address, 4);
  return out;
}

ldns_rr* address_record(const ldns_rr* question, ldns_rr_type type, const Bytes& address) {
  ldns_rr* record = ldns_rr_new();
  // The owner as the client spelled it: some resolvers check the case they sent (0x20).
  ldns_rr_set_owner(record, ldns_rdf_clone(ldns_rr_owner(question)));
  ldns_rr_set_type(record, type);
  ldns_rr_set_class(record, LDNS_RR_CLASS_IN);
  ldns_rr_set_ttl(record, k_dns_ttl);
  ldns_rr_push_rdf(
      record, ldns_rdf_new_frm_data(type == LDNS_RR_TYPE_A ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA,
                                    address.size(), address.data()));
  return record;
}

}  // namespace

std::optional<DnsClient> dns_client(std::string_view address) {
  const std::string text(address);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return mapped_ipv4(&v4);
  DnsClient out{};
  if (inet_pton(AF_INET6, text.c_str(), out.data()) == 1) return out;
  return std::nullopt;
}

DnsNames::Names DnsNames::entries(const std::map<std::string, std::vector<std::string>>& names) {
  Names out;
  for (const auto& [name, addresses] : names) {
    auto& entry = out[name];
    for (const auto& address : addresses) {
      Bytes bytes(16);
      if (inet_pton(AF_INET, address.c_str(), bytes.data()) == 1) {
        bytes.resize(4);
        entry.ipv4.push_back(std::move(bytes));
      } else if (inet_pton(AF_INET6, address.c_str(), bytes.data()) == 1) {
        entry.ipv6.push_back(std::move(bytes));
      }
    }
  }
  return out;
}

void DnsNames::update(const DnsConfig& config) {
  Names names = entries(config.names);
  std::vector<Names> views;
  std::map<DnsClient, std::vector<std::size_t>> clients;
  for (const auto& view : config.views) {
    const std::size_t index = views.size();
    views.push_back(entries(view.names));
    for (const auto& text : view.clients) {
      const auto client = dns_client(text);
      if (!client) continue;
      auto& listed = clients[*client];
      if (listed.empty() || listed.back() != index) listed.push_back(index);
    }
  }
  std::map<std::string, std::size_t> positions;
  const auto keep = [&](const Names& some) {
    for (const auto& [name, entry] : some) {
      const auto old = m_positions.find(name);
      positions.emplace(name, old != m_positions.end() ? old->second : 0);
    }
  };
  keep(names);
  for (const auto& view : views) keep(view);
  m_names = std::move(names);
  m_views = std::move(views);
  m_clients = std::move(clients);
  m_positions = std::move(positions);
}

const DnsNames::Entry* DnsNames::find(const std::string& name,
                                      const std::optional<DnsClient>& client) const {
  if (const auto own = m_names.find(name); own != m_names.end()) return &own->second;
  if (!client) return nullptr;
  const auto listed = m_clients.find(*client);
  if (listed == m_clients.end()) return nullptr;
  for (const std::size_t index : listed->second) {
    if (const auto found = m_views[index].find(name); found != m_views[index].end()) {
      return &found->second;
    }
  }
  return nullptr;
}

DnsAnswer DnsNames::answer(std::span<const std::uint8_t> wire, bool over_tcp,
                           const std::optional<DnsClient>& client) {
  const Pkt query = parse(wire);
  if (!query || ldns_pkt_qr(query.get())) return {};
  if (ldns_pkt_get_opcode(query.get()) != LDNS_PACKET_QUERY) {
    return reply(reply_skeleton(query.get(), LDNS_RCODE_NOTIMPL).get());
  }
  if (ldns_pkt_qdcount(query.get()) != 1) {
    return reply(reply_skeleton(query.get(), LDNS_RCODE_FORMERR).get());
  }
  const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(query.get()), 0);
  const auto key = name_key(ldns_rr_owner(question));
  const Entry* found = key ? find(*key, client) : nullptr;
  if (found == nullptr) return {DnsAnswer::Action::forward, {}};

  const ldns_rr_type type = ldns_rr_get_type(question);
  if (type == LDNS_RR_TYPE_ANY) {
    return reply(reply_skeleton(query.get(), LDNS_RCODE_NOTIMPL).get());
  }
  const std::vector<Bytes>* addresses = nullptr;
  if (ldns_rr_get_class(question) == LDNS_RR_CLASS_IN) {
    if (type == LDNS_RR_TYPE_A) addresses = &found->ipv4;
    if (type == LDNS_RR_TYPE_AAAA) addresses = &found->ipv6;
  }
  Pkt answer = reply_skeleton(query.get(), LDNS_RCODE_NOERROR);
  ldns_pkt_set_aa(answer.get(), true);
  if (addresses != nullptr && !addresses->empty()) {
    const std::size_t start = m_positions[*key]++ % addresses->size();
    for (std::size_t i = 0; i < addresses->size(); ++i) {
      ldns_pkt_push_rr(
          answer.get(), LDNS_SECTION_ANSWER,
          address_record(question, type, (*addresses)[(start + i) % addresses->size()]));
    }
  }
  DnsAnswer result = reply(answer.get());
  std::size_t limit = k_classic_udp_limit;
  if (over_tcp) {
    limit = k_tcp_limit;
  } else if (ldns_pkt_edns(query.get())) {
    limit = std::max<std::size_t>(limit, ldns_pkt_edns_udp_size(query.get()));
  }
  if (result.reply.size() > limit) {
    Pkt truncated = reply_skeleton(query.get(), LDNS_RCODE_NOERROR);
    ldns_pkt_set_aa(truncated.get(), true);
    ldns_pkt_set_tc(truncated.get(), true);
    result = reply(truncated.get());
  }
  return result;
}

std::vector<std::uint8_t> dns_error_reply(std::span<const std::uint8_t> query, int rcode) {
  const Pkt packet = parse(query);
  if (!packet) return {};
  return to_wire(reply_skeleton(packet.get(), static_cast<std::uint8_t>(rcode)).get());
}

// --- the event loop ---------------------------------------------------------------------

namespace {

struct Endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;
  int family() const { return address.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&address); }
};

/// `address` is numeric (validated by dns_config_from_json).
Endpoint endpoint(const std::string& address, std::uint16_t port) {
  Endpoint out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.address);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
  } else {
    throw Error(fmt::format("invalid IP address \"{}\"", address));
  }
  return out;
}

/// Whom views know a client by: its source address.
std::optional<DnsClient> client_of(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return mapped_ipv4(&reinterpret_cast<const sockaddr_in&>(address).sin_addr);
  }
  if (address.ss_family == AF_INET6) {
    DnsClient out{};
    std::memcpy(out.data(), &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr, 16);
    return out;
  }
  return std::nullopt;
}

using Upstreams = std::shared_ptr<const std::vector<Endpoint>>;

std::string where(const std::string& address, std::uint16_t port) {
  return address.find(':') == std::string::npos ? fmt::format("{}:{}", address, port)
                                                : fmt::format("[{}]:{}", address, port);
}

struct Listeners {
  std::string listen;
  std::uint16_t port = 0;
  Fd udp;
  Fd tcp;
};

Listeners bind_listeners(const DnsConfig& config) {
  const Endpoint at = endpoint(config.listen, config.port);
  const auto fail = [&](const char* what) {
    return Error(fmt::format("cannot listen on {}/{}: {}", where(config.listen, config.port), what,
                             std::strerror(errno)));
  };
  Listeners listeners{config.listen, config.port, {}, {}};
  listeners.udp = Fd(::socket(at.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listeners.udp || ::bind(listeners.udp.get(), at.get(), at.length) != 0) throw fail("udp");
  listeners.tcp = Fd(::socket(at.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listeners.tcp) throw fail("tcp");
  // A restarted responder rebinds at once although its predecessor's connections linger.
  const int one = 1;
  ::setsockopt(listeners.tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listeners.tcp.get(), at.get(), at.length) != 0 ||
      ::listen(listeners.tcp.get(), 64) != 0) {
    throw fail("tcp");
  }
  return listeners;
}

DnsConfig load_config(const std::string& path) {
  const std::string text = fs::read_file(path);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: invalid DNS config: {}", path, e.what()));
  }
  try {
    return dns_config_from_json(value);
  } catch (const Error& e) {
    wrap(e, path);
  }
}

Upstreams upstream_endpoints(const DnsConfig& config) {
  auto endpoints = std::make_shared<std::vector<Endpoint>>();
  for (const auto& text : config.upstreams) {
    const DnsUpstream upstream = parse_dns_upstream(text);
    endpoints->push_back(endpoint(upstream.address, upstream.port));
  }
  return endpoints;
}

/// A fresh query id, unpredictable so that an off-path attacker cannot forge the upstream's
/// reply.
std::uint16_t random_id() {
  std::uint16_t id = 0;
  if (::getrandom(&id, sizeof id, GRND_NONBLOCK) != sizeof id) {
    id = static_cast<std::uint16_t>(Clock::now().time_since_epoch().count());
  }
  return id;
}

std::uint16_t id_of(std::span<const std::uint8_t> message) {
  return static_cast<std::uint16_t>(message[0] << 8 | message[1]);
}

void set_id(std::span<std::uint8_t> message, std::uint16_t id) {
  message[0] = static_cast<std::uint8_t>(id >> 8);
  message[1] = static_cast<std::uint8_t>(id & 0xff);
}

/// True for a reply to the query with `id`: long enough, QR set.
bool is_reply(std::span<const std::uint8_t> message, std::uint16_t id) {
  return message.size() >= k_header_size && id_of(message) == id && (message[2] & 0x80) != 0;
}

/// A DNS message with TCP's two-byte length in front.
Bytes with_length(std::span<const std::uint8_t> message) {
  Bytes out(2 + message.size());
  out[0] = static_cast<std::uint8_t>(message.size() >> 8);
  out[1] = static_cast<std::uint8_t>(message.size() & 0xff);
  std::copy(message.begin(), message.end(), out.begin() + 2);
  return out;
}

/// One query over UDP on its way through the upstreams.
struct UdpForward {
  Fd socket;  // connected to the current upstream, on a fresh random port
  Endpoint client;
  std::uint16_t client_id = 0;
  Bytes query;  // with `id`
  std::uint16_t id = 0;
  Upstreams upstreams;
  std::size_t upstream = 0;  // the one asked now
  Clock::time_point deadline;
  bool done = false;
};

/// One query over TCP on its way through the upstreams.
struct TcpForward {
  Fd socket;
  bool connected = false;
  Bytes request;  // length + query with `id`
  std::size_t written = 0;
  Bytes response;  // length + reply, as far as read
  std::uint16_t client_id = 0;
  std::uint16_t id = 0;
  Upstreams upstreams;
  std::size_t upstream = 0;
  Clock::time_point deadline;
};

/// A TCP client: it sends length-prefixed queries, answered one at a time in order.
struct TcpClient {
  Fd socket;
  std::optional<DnsClient> address;  // the peer's, for views
  Bytes in;                          // what was read and not yet handled
  Bytes out;                         // the reply being written
  std::size_t written = 0;
  std::optional<TcpForward> forward;
  Clock::time_point deadline;  // when it counts as idle (not while a forward runs)
  bool done = false;

  bool writing() const { return written < out.size(); }
  bool busy() const { return forward.has_value() || writing(); }
};

class Server {
 public:
  explicit Server(const std::string& config_path);
  int run();

 private:
  enum class Kind { signal, inotify, udp, tcp_listener, udp_forward, tcp_client, tcp_forward };
  struct Slot {
    Kind kind;
    void* item;
  };

  void handle(const Slot& slot, short events);
  bool handle_inotify();  // false: the config is gone
  void reload();
  void read_udp();
  void accept_tcp();
  void start_udp_forward(std::span<const std::uint8_t> query, const Endpoint& client);
  void send_udp_forward(UdpForward& forward);
  void read_udp_forward(UdpForward& forward);
  void send_udp(std::span<const std::uint8_t> message, const Endpoint& client);
  void read_tcp_client(TcpClient& client);
  void write_tcp_client(TcpClient& client);
  void next_tcp_query(TcpClient& client);
  void start_tcp_forward(TcpClient& client, std::span<const std::uint8_t> query);
  void connect_tcp_forward(TcpClient& client);
  void handle_tcp_forward(TcpClient& client, short events);
  void fail_tcp_forward(TcpClient& client);
  void expire(Clock::time_point now);
  std::optional<Clock::time_point> next_deadline() const;

  std::string m_path;
  std::string m_dir;
  std::string m_file;
  Fd m_signals;
  Fd m_inotify;
  Listeners m_listeners;
  DnsNames m_names;
  Upstreams m_upstreams;
  std::list<UdpForward> m_udp_forwards;
  std::list<TcpClient> m_tcp_clients;
  // For one datagram; left uninitialised so that only the bytes received are ever touched.
  std::unique_ptr<std::uint8_t[]> m_buffer =
      std::make_unique_for_overwrite<std::uint8_t[]>(k_max_datagram);
  bool m_stop = false;
};

Server::Server(const std::string& config_path)
    : m_path(fs::absolute(config_path, fs::current_directory())),
      m_dir(fs::dirname(m_path)),
      m_file(fs::basename(m_path)) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  if (sigprocmask(SIG_BLOCK, &signals, nullptr) != 0) {
    throw Error(fmt::format("cannot block SIGTERM: {}", std::strerror(errno)));
  }
  m_signals = Fd(::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!m_signals) throw Error(fmt::format("cannot create a signalfd: {}", std::strerror(errno)));
  // A client or upstream closing its connection must not kill the responder.
  ::signal(SIGPIPE, SIG_IGN);
  // The watch comes before the first read, so that no replacement can slip in between.
  m_inotify = Fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!m_inotify || ::inotify_add_watch(m_inotify.get(), m_dir.c_str(),
                                        IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM |
                                            IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR) < 0) {
    throw Error(fmt::format("cannot watch {}: {}", m_dir, std::strerror(errno)));
  }
  const DnsConfig config = load_config(m_path);
  m_listeners = bind_listeners(config);
  m_names.update(config);
  m_upstreams = upstream_endpoints(config);
}

int Server::run() {
  std::vector<pollfd> fds;
  std::vector<Slot> slots;
  while (!m_stop) {
    fds.clear();
    slots.clear();
    const auto add = [&](int fd, short events, Kind kind, void* item) {
      fds.push_back(pollfd{fd, events, 0});
      slots.push_back(Slot{kind, item});
    };
    add(m_signals.get(), POLLIN, Kind::signal, nullptr);
    add(m_inotify.get(), POLLIN, Kind::inotify, nullptr);
    add(m_listeners.udp.get(), POLLIN, Kind::udp, nullptr);
    add(m_listeners.tcp.get(), POLLIN, Kind::tcp_listener, nullptr);
    for (auto& forward : m_udp_forwards) {
      add(forward.socket.get(), POLLIN, Kind::udp_forward, &forward);
    }
    for (auto& client : m_tcp_clients) {
      if (client.forward) {
        const TcpForward& forward = *client.forward;
        const bool sending = !forward.connected || forward.written < forward.request.size();
        add(forward.socket.get(), sending ? POLLOUT : POLLIN, Kind::tcp_forward, &client);
      } else {
        add(client.socket.get(), client.writing() ? POLLOUT : POLLIN, Kind::tcp_client, &client);
      }
    }
    int timeout = -1;
    if (const auto deadline = next_deadline()) {
      const auto wait = std::chrono::ceil<milliseconds>(*deadline - Clock::now()).count();
      timeout = static_cast<int>(std::clamp<long long>(wait, 0, 60'000));
    }
    const int ready = ::poll(fds.data(), fds.size(), timeout);
    if (ready < 0 && errno != EINTR) {
      throw Error(fmt::format("poll failed: {}", std::strerror(errno)));
    }
    for (std::size_t i = 0; ready > 0 && i < fds.size() && !m_stop; ++i) {
      if (fds[i].revents != 0) handle(slots[i], fds[i].revents);
    }
    expire(Clock::now());
    m_udp_forwards.remove_if([](const UdpForward& forward) { return forward.done; });
    m_tcp_clients.remove_if([](const TcpClient& client) { return client.done; });
  }
  return 0;
}

void Server::handle(const Slot& slot, short events) {
  switch (slot.kind) {
    case Kind::signal: m_stop = true; break;
    case Kind::inotify:
      if (!handle_inotify()) m_stop = true;
      break;
    case Kind::udp: read_udp(); break;
    case Kind::tcp_listener: accept_tcp(); break;
    case Kind::udp_forward: {
      auto& forward = *static_cast<UdpForward*>(slot.item);
      if (!forward.done) read_udp_forward(forward);
      break;
    }
    case Kind::tcp_client: {
      auto& client = *static_cast<TcpClient*>(slot.item);
      if (client.done) break;
      if (client.writing()) {
        write_tcp_client(client);
      } else {
        read_tcp_client(client);
      }
      break;
    }
    case Kind::tcp_forward: {
      auto& client = *static_cast<TcpClient*>(slot.item);
      if (!client.done && client.forward) handle_tcp_forward(client, events);
      break;
    }
  }
}

bool Server::handle_inotify() {
  alignas(inotify_event) char buffer[4096];
  bool changed = false;
  bool removed = false;
  for (;;) {
    const ssize_t size = ::read(m_inotify.get(), buffer, sizeof buffer);
    if (size <= 0) break;
    for (ssize_t at = 0; at < size;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      // The directory itself went away (or moved): so did the network.
      if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) return false;
      if (event->len == 0 || m_file != event->name) continue;
      if (event->mask & (IN_DELETE | IN_MOVED_FROM)) removed = true;
      if (event->mask & (IN_MOVED_TO | IN_CLOSE_WRITE)) changed = true;
    }
  }
  // Decided by what is there now: a file removed and put back within one batch stays served.
  if (removed && !fs::is_file(m_path)) return false;
  if (changed || removed) reload();
  return true;
}

void Server::reload() {
  DnsConfig config;
  try {
    config = load_config(m_path);
    if (config.listen != m_listeners.listen || config.port != m_listeners.port) {
      m_listeners = bind_listeners(config);
    }
    m_upstreams = upstream_endpoints(config);
  } catch (const Error&) {
    return;  // a daemon with no one to tell: the last good state serves on
  }
  m_names.update(config);
}

void Server::read_udp() {
  for (int i = 0; i < k_udp_batch; ++i) {
    Endpoint client;
    client.length = sizeof client.address;
    const ssize_t size = ::recvfrom(m_listeners.udp.get(), m_buffer.get(), k_max_datagram, 0,
                                    reinterpret_cast<sockaddr*>(&client.address), &client.length);
    if (size < 0) return;  // EAGAIN, or an error the next datagram may not have
    const std::span<const std::uint8_t> query(m_buffer.get(), static_cast<std::size_t>(size));
    DnsAnswer answer = m_names.answer(query, false, client_of(client.address));
    if (answer.action == DnsAnswer::Action::reply) {
      send_udp(answer.reply, client);
    } else if (answer.action == DnsAnswer::Action::forward) {
      if (m_upstreams->empty()) {
        send_udp(dns_error_reply(query, LDNS_RCODE_REFUSED), client);
      } else if (m_udp_forwards.size() < k_max_udp_forwards) {
        start_udp_forward(query, client);
      }
    }
  }
}

void Server::send_udp(std::span<const std::uint8_t> message, const Endpoint& client) {
  if (message.empty()) return;
  // A full send buffer drops the reply as the network would; the client asks again.
  ::sendto(m_listeners.udp.get(), message.data(), message.size(), MSG_DONTWAIT, client.get(),
           client.length);
}

void Server::start_udp_forward(std::span<const std::uint8_t> query, const Endpoint& client) {
  UdpForward& forward = m_udp_forwards.emplace_back();
  forward.client = client;
  forward.client_id = id_of(query);
  forward.query.assign(query.begin(), query.end());
  forward.id = random_id();
  set_id(forward.query, forward.id);
  forward.upstreams = m_upstreams;
  send_udp_forward(forward);
}

/// Sends the query to the current upstream, or to the first after it that takes it; SERVFAIL
/// to the client when none is left.
void Server::send_udp_forward(UdpForward& forward) {
  for (; forward.upstream < forward.upstreams->size(); ++forward.upstream) {
    const Endpoint& upstream = (*forward.upstreams)[forward.upstream];
    forward.socket = Fd(::socket(upstream.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    // Connected: the kernel passes only the upstream's datagrams, and reports its ICMP
    // port-unreachable as ECONNREFUSED.
    if (forward.socket && ::connect(forward.socket.get(), upstream.get(), upstream.length) == 0 &&
        ::send(forward.socket.get(), forward.query.data(), forward.query.size(), 0) >= 0) {
      forward.deadline = Clock::now() + k_upstream_timeout;
      return;
    }
  }
  set_id(forward.query, forward.client_id);
  send_udp(dns_error_reply(forward.query, LDNS_RCODE_SERVFAIL), forward.client);
  forward.done = true;
}

void Server::read_udp_forward(UdpForward& forward) {
  for (;;) {
    const ssize_t size = ::recv(forward.socket.get(), m_buffer.get(), k_max_datagram, 0);
    if (size < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      ++forward.upstream;  // refused: on to the next at once
      send_udp_forward(forward);
      return;
    }
    const std::span<std::uint8_t> reply(m_buffer.get(), static_cast<std::size_t>(size));
    if (!is_reply(reply, forward.id)) continue;  // a stale or forged datagram
    set_id(reply, forward.client_id);
    send_udp(reply, forward.client);
    forward.done = true;
    return;
  }
}

void Server::accept_tcp() {
  for (;;) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    Fd socket(::accept4(m_listeners.tcp.get(), reinterpret_cast<sockaddr*>(&peer), &length,
                        SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!socket) return;
    if (m_tcp_clients.size() >= k_max_tcp_clients) continue;  // closed: the client retries
    TcpClient& client = m_tcp_clients.emplace_back();
    client.socket = std::move(socket);
    client.address = client_of(peer);
    client.deadline = Clock::now() + k_tcp_idle_timeout;
  }
}

void Server::read_tcp_client(TcpClient& client) {
  std::uint8_t chunk[4096];
  const ssize_t size = ::recv(client.socket.get(), chunk, sizeof chunk, 0);
  if (size < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (size <= 0) {
    client.done = true;
    return;
  }
  client.in.insert(client.in.end(), chunk, chunk + size);
  client.deadline = Clock::now() + k_tcp_idle_timeout;
  next_tcp_query(client);
}

/// Handles the next complete query in `client.in`, if any.
void Server::next_tcp_query(TcpClient& client) {
  if (client.in.size() < 2) return;
  const std::size_t length = static_cast<std::size_t>(client.in[0] << 8 | client.in[1]);
  if (client.in.size() < 2 + length) return;
  const Bytes query(client.in.begin() + 2, client.in.begin() + 2 + static_cast<long>(length));
  client.in.erase(client.in.begin(), client.in.begin() + 2 + static_cast<long>(length));
  DnsAnswer answer = m_names.answer(query, true, client.address);
  if (answer.action == DnsAnswer::Action::drop) {
    client.done = true;  // a stream that does not carry DNS cannot be resynchronised
  } else if (answer.action == DnsAnswer::Action::reply) {
    client.out = with_length(answer.reply);
    client.written = 0;
  } else if (m_upstreams->empty()) {
    client.out = with_length(dns_error_reply(query, LDNS_RCODE_REFUSED));
    client.written = 0;
  } else {
    start_tcp_forward(client, query);
  }
}

void Server::write_tcp_client(TcpClient& client) {
  const ssize_t size = ::send(client.socket.get(), client.out.data() + client.written,
                              client.out.size() - client.written, MSG_NOSIGNAL);
  if (size < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (size < 0) {
    client.done = true;
    return;
  }
  client.written += static_cast<std::size_t>(size);
  client.deadline = Clock::now() + k_tcp_idle_timeout;
  if (!client.writing()) {
    client.out.clear();
    client.written = 0;
    next_tcp_query(client);  // one the client sent before this reply was complete
  }
}

void Server::start_tcp_forward(TcpClient& client, std::span<const std::uint8_t> query) {
  TcpForward& forward = client.forward.emplace();
  forward.client_id = id_of(query);
  forward.id = random_id();
  forward.request = with_length(query);
  set_id(std::span(forward.request).subspan(2), forward.id);
  forward.upstreams = m_upstreams;
  connect_tcp_forward(client);
}

/// Connects to the current upstream, or to the first after it that takes a connection.
void Server::connect_tcp_forward(TcpClient& client) {
  TcpForward& forward = *client.forward;
  for (; forward.upstream < forward.upstreams->size(); ++forward.upstream) {
    const Endpoint& upstream = (*forward.upstreams)[forward.upstream];
    forward.socket = Fd(::socket(upstream.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    forward.connected = false;
    forward.written = 0;
    forward.response.clear();
    if (forward.socket && (::connect(forward.socket.get(), upstream.get(), upstream.length) == 0 ||
                           errno == EINPROGRESS)) {
      forward.deadline = Clock::now() + k_upstream_timeout;
      return;
    }
  }
  fail_tcp_forward(client);
}

void Server::fail_tcp_forward(TcpClient& client) {
  Bytes query(client.forward->request.begin() + 2, client.forward->request.end());
  set_id(query, client.forward->client_id);
  client.forward.reset();
  client.out = with_length(dns_error_reply(query, LDNS_RCODE_SERVFAIL));
  client.written = 0;
  client.deadline = Clock::now() + k_tcp_idle_timeout;
}

void Server::handle_tcp_forward(TcpClient& client, short events) {
  TcpForward& forward = *client.forward;
  const auto next_upstream = [&] {
    ++forward.upstream;
    connect_tcp_forward(client);
  };
  if (!forward.connected) {
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(forward.socket.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 ||
        error != 0) {
      return next_upstream();
    }
    if ((events & POLLOUT) == 0) return next_upstream();  // a hang-up without an error
    forward.connected = true;
  }
  if (forward.written < forward.request.size()) {
    const ssize_t size = ::send(forward.socket.get(), forward.request.data() + forward.written,
                                forward.request.size() - forward.written, MSG_NOSIGNAL);
    if (size < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (size < 0) return next_upstream();
    forward.written += static_cast<std::size_t>(size);
    return;
  }
  std::uint8_t chunk[4096];
  const ssize_t size = ::recv(forward.socket.get(), chunk, sizeof chunk, 0);
  if (size < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (size <= 0) return next_upstream();  // closed before a whole reply
  forward.response.insert(forward.response.end(), chunk, chunk + size);
  if (forward.response.size() < 2) return;
  const std::size_t length =
      static_cast<std::size_t>(forward.response[0] << 8 | forward.response[1]);
  if (forward.response.size() < 2 + length) return;
  forward.response.resize(2 + length);
  const std::span<std::uint8_t> reply = std::span(forward.response).subspan(2);
  if (!is_reply(reply, forward.id)) return next_upstream();
  set_id(reply, forward.client_id);
  client.out = std::move(forward.response);
  client.written = 0;
  client.forward.reset();
  client.deadline = Clock::now() + k_tcp_idle_timeout;
}

void Server::expire(Clock::time_point now) {
  for (auto& forward : m_udp_forwards) {
    if (!forward.done && forward.deadline <= now) {
      ++forward.upstream;
      send_udp_forward(forward);
    }
  }
  for (auto& client : m_tcp_clients) {
    if (client.done) continue;
    if (client.forward) {
      if (client.forward->deadline <= now) {
        ++client.forward->upstream;
        connect_tcp_forward(client);
      }
    } else if (client.deadline <= now) {
      client.done = true;
    }
  }
}

std::optional<Clock::time_point> Server::next_deadline() const {
  std::optional<Clock::time_point> next;
  const auto consider = [&](Clock::time_point deadline) {
    if (!next || deadline < *next) next = deadline;
  };
  for (const auto& forward : m_udp_forwards) consider(forward.deadline);
  for (const auto& client : m_tcp_clients) {
    consider(client.forward ? client.forward->deadline : client.deadline);
  }
  return next;
}

/// The --ready-fd end: one line, then closed.
void report_ready(int fd, const std::string& line) {
  if (fd < 0) return;
  const std::string text = line + "\n";
  [[maybe_unused]] const ssize_t written = ::write(fd, text.data(), text.size());
  ::close(fd);
}

}  // namespace

int run_dns_server(const std::string& config_path, int ready_fd) {
  std::optional<Server> server;
  try {
    server.emplace(config_path);
  } catch (const Error& e) {
    report_ready(ready_fd, fmt::format("error: {}", e.what()));
    throw;
  }
  report_ready(ready_fd, "ok");
  return server->run();
}

}  // namespace berth::network
