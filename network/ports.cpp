#include "network/ports.h"

#include <arpa/inet.h>

#include <charconv>
#include <optional>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "util/error.h"

namespace berth::network {

namespace {

struct Range {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
};

[[noreturn]] void invalid(const std::string& text, std::string_view reason) {
  throw Error(fmt::format("invalid port \"{}\": {}", text, reason));
}

std::uint16_t port_number(const std::string& text, std::string_view value, bool zero_ok) {
  unsigned number = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (value.empty() || error != std::errc() || end != value.data() + value.size() ||
      number > 65535 || (number == 0 && !zero_ok)) {
    invalid(text, fmt::format("\"{}\" is not a port number (1-65535)", value));
  }
  return static_cast<std::uint16_t>(number);
}

Range port_range(const std::string& text, std::string_view value, bool zero_ok) {
  const auto dash = value.find('-');
  if (dash == std::string_view::npos) {
    const auto port = port_number(text, value, zero_ok);
    return {port, port};
  }
  const Range range{port_number(text, value.substr(0, dash), false),
                    port_number(text, value.substr(dash + 1), false)};
  if (range.last < range.first) invalid(text, "a range must not end before it starts");
  return range;
}

}  // namespace

std::vector<PortSpec> parse_ports(const std::string& text) {
  std::string_view rest = text;
  std::string protocol = "tcp";
  if (const auto slash = rest.rfind('/'); slash != std::string_view::npos) {
    protocol = std::string(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
    if (protocol != "tcp" && protocol != "udp") {
      invalid(text, fmt::format("unknown protocol \"{}\" (tcp or udp)", protocol));
    }
  }
  // The container part is after the last colon, the host port before it, and any address
  // before that (IPv4 only: berth's networks are IPv4).
  std::string host_ip;
  std::optional<std::string_view> host_ports;
  const auto last_colon = rest.rfind(':');
  std::string_view container_ports = rest;
  if (last_colon != std::string_view::npos) {
    container_ports = rest.substr(last_colon + 1);
    std::string_view host = rest.substr(0, last_colon);
    if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
      host_ip = std::string(host.substr(0, colon));
      host = host.substr(colon + 1);
      in_addr parsed{};
      if (::inet_pton(AF_INET, host_ip.c_str(), &parsed) != 1) {
        invalid(text, fmt::format("\"{}\" is not an IPv4 address", host_ip));
      }
    }
    host_ports = host;
  }
  const Range inner = port_range(text, container_ports, false);
  Range outer{0, 0};
  if (host_ports && !host_ports->empty()) outer = port_range(text, *host_ports, true);
  const unsigned count = inner.last - inner.first + 1U;
  const bool any_host_port = outer.first == 0;
  if (!any_host_port && outer.last - outer.first + 1U != count) {
    invalid(text, "the host and container ranges differ in length");
  }
  std::vector<PortSpec> ports;
  for (unsigned i = 0; i < count; ++i) {
    PortSpec port;
    port.host_ip = host_ip == "0.0.0.0" ? "" : host_ip;
    port.host_port = any_host_port ? 0 : static_cast<std::uint16_t>(outer.first + i);
    port.container_port = static_cast<std::uint16_t>(inner.first + i);
    port.protocol = protocol;
    ports.push_back(std::move(port));
  }
  return ports;
}

std::vector<PortSpec> parse_exposed_ports(const std::string& text) {
  if (text.find(':') != std::string::npos) {
    invalid(text, "an exposed port has no host part (publish it with -p)");
  }
  return parse_ports(text);
}

std::string port_and_protocol(const PortSpec& port) {
  return fmt::format("{}/{}", port.container_port, port.protocol);
}

std::string format_port(const PortSpec& port) {
  return fmt::format("{}:{}->{}/{}", port.host_ip.empty() ? "0.0.0.0" : port.host_ip,
                     port.host_port, port.container_port, port.protocol);
}

}  // namespace berth::network
