// berth-dns: the DNS responder of one network, a program of its own (cmd/dns/main.cpp) that
// berth starts per network with posix_spawn + setsid and stdio on /dev/null.
//
//   berth-dns CONFIG [--ready-fd N]
//
// CONFIG is the network's dns.json (network/dns_config.h). The responder listens on
// listen:port over UDP and TCP and answers:
// - A / AAAA for a configured name: all of the name's IPv4 / IPv6 addresses, rotated one step
//   per query (round robin), TTL 600 s as Docker's embedded DNS; a family the name has no
//   address of gets NOERROR with no answer (NODATA) so that clients fall back. Other types of a
//   configured name get NODATA too, except ANY: NOTIMP.
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

#include <cstdint>
#include <map>
#include <span>
#include <string>
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

/// The names a network's responder answers itself, each with its round-robin position.
class DnsNames {
 public:
  /// Takes the names of `config`; a name that stays keeps its rotation position.
  void update(const DnsConfig& config);

  /// The answer to `query` (wire bytes): a reply for a configured name or a malformed query
  /// (FORMERR, NOTIMP), forward for any other name, drop for what is not a query at all.
  /// Over UDP a reply larger than the client's limit (512 bytes, or its EDNS size) is sent
  /// truncated (TC, no answers) so that the client asks again over TCP.
  DnsAnswer answer(std::span<const std::uint8_t> query, bool over_tcp);

 private:
  struct Entry {
    std::vector<std::vector<std::uint8_t>> ipv4;  // 4 bytes each
    std::vector<std::vector<std::uint8_t>> ipv6;  // 16 bytes each
    std::size_t next = 0;                         // the rotation's start
  };
  std::map<std::string, Entry> m_names;
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
