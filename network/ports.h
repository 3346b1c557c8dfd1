// Published ports as users write them: Docker's `-p` syntax and compose's short `ports:`
// entries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::network {

/// One container port published on the host; host_port 0 asks for a free one.
struct PortSpec {
  std::string host_ip;  // "" for every local address
  std::uint16_t host_port = 0;
  std::uint16_t container_port = 0;
  std::string protocol = "tcp";  // "tcp" or "udp"
  bool operator==(const PortSpec&) const = default;
};

/// `[[HOST_IP:][HOST_PORT[-END]]:]CONTAINER_PORT[-END][/PROTOCOL]` -> one PortSpec per port
/// ("8000-8002:80-82" is three; "80" and "0:80" and "127.0.0.1::80" ask for a free host
/// port). Throws berth::Error `invalid port "x": <reason>`: a port outside 1-65535, ranges
/// of different lengths, an unknown protocol (tcp, udp), a malformed address.
std::vector<PortSpec> parse_ports(const std::string& text);

/// Docker's `--expose` and EXPOSE: `PORT[-END][/PROTOCOL]` -> one PortSpec per port, each
/// asking for a free host port on every address (what `-P` publishes). Throws berth::Error
/// `invalid port "x": <reason>`, as parse_ports does, and for a host part.
std::vector<PortSpec> parse_exposed_ports(const std::string& text);

/// "80/tcp": a container port as Docker names it (ExposedPorts keys, `container port`).
std::string port_and_protocol(const PortSpec& port);

/// "127.0.0.1:8080->80/tcp" (Docker's `ps` form); "0.0.0.0:" for every address.
std::string format_port(const PortSpec& port);

}  // namespace berth::network
