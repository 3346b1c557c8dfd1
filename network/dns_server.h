// berth-dns: the DNS responder of one network, a program of its own (cmd/dns/main.cpp) that
// berth starts per network with posix_spawn + setsid and stdio on /dev/null.
//
//   berth-dns CONFIG [--ready-fd N]
//
// CONFIG is the network's dns.json (network/dns_config.h). The responder listens on
// listen:port over UDP and TCP and answers:
// - A / AAAA for a configured name (the network's own, or one of a view that lists the query's
//   source address, see network/dns_config.h): all of the name's IPv4 / IPv6 addresses, rotated
//   one step per query (round robin), TTL 600 s as Docker's embedded DNS; a family the name has
//   no address of gets NOERROR with no answer (NODATA) so that clients fall back. Other types
//   of a configured name get NODATA too, except ANY: NOTIMP.
// - any other name: the query as received (with a fresh id) to the upstreams in order, each
//   given 2 s (UDP over UDP, TCP over TCP); the first reply goes back as is with the client's
//   id, a truncated one too (the client then asks again over TCP). All upstreams silent:
//   SERVFAIL. No upstreams: REFUSED (this server does not resolve such names; the client's
//   next nameserver may).
// - what it cannot parse, and replies: dropped.
// It reloads CONFIG when the file is replaced (rename) or rewritten, moving its sockets when
// listen or port changed (an invalid new file or a failed bind keeps the old state), and exits
// 0 when the file is removed or on SIGTERM / SIGINT. One thread, one poll(2) loop,
// non-blocking sockets: a slow upstream or client never stalls the others.
//
// Readiness: with --ready-fd N, the responder writes "ok\n" to descriptor N once its sockets
// are bound and the config is watched, or "error: <one line>\n" before exiting 1, and then
// closes N. Otherwise it writes nothing but, on a fatal start-up error, one line to stderr.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "network/dns_config.h"

namespace berth::network {

/// Seconds a client may cache an answer for a network's name (Docker's embedded DNS: 600).
inline constexpr std::uint32_t k_dns_ttl = 600;

/// What the responder does with one query.
struct DnsAnswer {
  enum class Action { drop, reply, forward };
  Action action = Action::drop;
  std::vector<std::uint8_t> reply;  // the reply's wire bytes when action == reply
};

/// A client's address as views match it: the 16 bytes of an IPv6 address, an IPv4 address
/// mapped (::ffff:a.b.c.d), so that one comparison serves both families.
using DnsClient = std::array<std::uint8_t, 16>;

/// "10.210.3.5" or "fd00::5" as a DnsClient; nullopt for anything else.
std::optional<DnsClient> dns_client(std::string_view address);

/// The names a network's responder answers itself, each with its round-robin position.
class DnsNames {
 public:
  /// Takes the names and views of `config`; a name that stays keeps its rotation position.
  void update(const DnsConfig& config);

  /// The answer to `query` (wire bytes) from `client` (its source address; nullopt: a client
  /// in no view): a reply for a name it sees (the network's own, else one of a view listing
  /// it) or a malformed query (FORMERR, NOTIMP), forward for any other name, drop for what is
  /// not a query at all. Over UDP a reply larger than the client's limit (512 bytes, or its
  /// EDNS size) is sent truncated (TC, no answers) so that the client asks again over TCP.
  DnsAnswer answer(std::span<const std::uint8_t> query, bool over_tcp,
                   const std::optional<DnsClient>& client = std::nullopt);

 private:
  struct Entry {
    std::vector<std::vector<std::uint8_t>> ipv4;  // 4 bytes each
    std::vector<std::vector<std::uint8_t>> ipv6;  // 16 bytes each
  };
  using Names = std::map<std::string, Entry>;

  /// The entries of `names` (addresses validated by dns_config_from_json).
  static Names entries(const std::map<std::string, std::vector<std::string>>& names);

  const Entry* find(const std::string& name, const std::optional<DnsClient>& client) const;

  Names m_names;
  std::vector<Names> m_views;
  std::map<DnsClient, std::vector<std::size_t>> m_clients;  // -> indexes in m_views, in order
  // The rotation's start per name, one for the network's own entry and the views' entries of
  // a name: as the network's own counter is shared by all clients, a view's is by all views.
  std::map<std::string, std::size_t> m_positions;
};

/// A reply to `query` with its question, no records and `rcode` (LDNS_RCODE_SERVFAIL, ...);
/// empty when `query` cannot be parsed.
std::vector<std::uint8_t> dns_error_reply(std::span<const std::uint8_t> query, int rcode);

/// Runs the responder on `config_path` until the file is removed or a SIGTERM / SIGINT
/// (which it blocks and takes through a signalfd); returns the exit status (0). `ready_fd`:
/// see --ready-fd above, -1 for none. Throws berth::Error (after writing it to `ready_fd`)
/// when it cannot start: an unreadable or invalid config, a failed bind.
int run_dns_server(const std::string& config_path, int ready_fd = -1);

}  // namespace berth::network
