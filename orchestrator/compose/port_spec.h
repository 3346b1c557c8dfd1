// Docker's short port syntax: "[ip:][host[-range]:]container[-range][/protocol]".
// Shared by compose `ports:` and, later, `berth container run -p`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::compose {

/// One published port of a short port spec, before it becomes a mapping.
struct PortMapping {
  std::string host_ip;    // empty: all addresses; IPv6 without brackets
  int target = 0;         // container port
  std::string published;  // host port, a host range ("8000-8010"), or empty
  std::string protocol;   // tcp, udp or sctp (lowercase)
};

/// A port number 0-65535 written in decimal; nullopt otherwise.
std::optional<int> parse_port_number(std::string_view text);

/// Parses short port syntax as docker/go-connections nat.ParsePortSpec does: a range expands
/// to one mapping per port. Throws berth::Error with a bare message (no position), e.g.
/// `invalid port "80x"`, which the caller prefixes with where the spec was written.
std::vector<PortMapping> parse_port_spec(std::string_view spec);

}  // namespace berth::compose
