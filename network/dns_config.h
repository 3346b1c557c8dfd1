// What berth tells a network's DNS responder (the berth-dns program, one per network): the
// file `<network run dir>/dns.json`, replaced atomically (temp + rename) whenever a container
// joins or leaves; the responder reloads it on the rename. When the file is removed the
// responder exits.
//
// {"listen": "10.210.3.1", "port": 53,
//  "upstreams": ["127.0.0.1:5353"],             // where other names are forwarded, in order
//  "names": {"web": ["10.210.3.2", "10.210.3.3"], "db": ["10.210.3.4"]},
//  "views": [{"clients": ["10.210.3.2"], "names": {"cache": ["10.210.4.2"]}}]}
//
// Names are matched case-insensitively, with or without the trailing dot. A name with several
// addresses (a service's replicas) is answered with all of them, rotated one step per query.
// Addresses may be IPv4 (answered to A queries) or IPv6 (answered to AAAA queries). "port",
// "upstreams", "names" and "views" may be left out (53, none, none, none).
//
// Views: a container on several networks asks only its first network's responder, yet must
// resolve the names of all its networks (as with Docker's embedded DNS), while a container on
// this network alone must not. So a view lists client addresses (a container's addresses on
// this network, numeric IPv4 / IPv6) and the names those clients see besides the network's
// own: a name is looked up in "names" first, then in each view listing the query's source
// address, in order, and only then forwarded. A view's "names" may be left out.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::network {

/// Names that only some clients see (see "Views" above).
struct DnsView {
  std::vector<std::string> clients;                       // numeric addresses, as given
  std::map<std::string, std::vector<std::string>> names;  // as DnsConfig::names
  bool operator==(const DnsView&) const = default;
};

struct DnsConfig {
  std::string listen;                                     // the network's gateway address
  std::uint16_t port = 53;                                // tests use another
  std::vector<std::string> upstreams;                     // see parse_dns_upstream
  std::map<std::string, std::vector<std::string>> names;  // lowercased name -> addresses
  std::vector<DnsView> views;                             // in order of precedence
};

nlohmann::json to_json(const DnsConfig& config);
/// throws berth::Error "invalid DNS config: <reason>" (one line). Names come back normalised
/// (see normalise_dns_name); two spellings of one name are merged (in a view, within that view).
DnsConfig dns_config_from_json(const nlohmann::json& value);

/// "Web." -> "web": ASCII lowercase, without the trailing dot. Throws berth::Error
/// `invalid DNS name "x"` for an empty name, an empty or over-long label, or a character
/// outside printable ASCII (a space or a backslash included).
std::string normalise_dns_name(std::string_view name);

/// Where an upstream listens: "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353".
struct DnsUpstream {
  std::string address;  // numeric, without brackets
  std::uint16_t port = 53;
};
/// throws berth::Error `invalid DNS upstream "x"`.
DnsUpstream parse_dns_upstream(std::string_view text);

}  // namespace berth::network
