#include "orchestrator/compose/port_spec.h"

#include <arpa/inet.h>

#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "util/error.h"
#include "util/strings.h"

namespace berth::compose {

namespace {

struct PortRange {
  int first = 0;
  int last = 0;
};

/// "80" or "80-82".
std::optional<PortRange> parse_port_range(std::string_view text) {
  const std::size_t dash = text.find('-');
  const auto first = parse_port_number(text.substr(0, dash));
  if (!first) {
    return std::nullopt;
  }
  if (dash == std::string_view::npos) {
    return PortRange{*first, *first};
  }
  const auto last = parse_port_number(text.substr(dash + 1));
  if (!last || *last < *first) {
    return std::nullopt;
  }
  return PortRange{*first, *last};
}

bool is_ip_address(const std::string& text) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

/// The pieces of "[ip:][host:]container[/protocol]"; an IPv6 host ip may hold colons.
struct PortSpecParts {
  std::string host_ip;
  std::string_view host;
  std::string_view container;
  std::string protocol;
};

PortSpecParts split_port_spec(std::string_view spec) {
  const std::vector<std::string_view> parts = split(spec, ':');
  const std::size_t n = parts.size();
  PortSpecParts out;
  out.container = parts[n - 1];
  if (n >= 2) {
    out.host = parts[n - 2];
  }
  for (std::size_t i = 0; i + 2 < n; ++i) {
    out.host_ip += (i == 0 ? "" : ":");
    out.host_ip += parts[i];
  }
  const std::size_t slash = out.container.find('/');
  out.protocol = "tcp";
  if (slash != std::string_view::npos) {
    if (slash + 1 < out.container.size()) {
      out.protocol = std::string{out.container.substr(slash + 1)};
    }
    out.container = out.container.substr(0, slash);
  }
  return out;
}

}  // namespace

std::optional<int> parse_port_number(std::string_view text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < 0 ||
      value > 65535) {
    return std::nullopt;
  }
  return value;
}

/// Parses short port syntax like docker/go-connections nat.ParsePortSpec. Throws a bare
/// message (without position) that the caller wraps.
std::vector<PortMapping> parse_port_spec(std::string_view spec) {
  PortSpecParts parts = split_port_spec(spec);
  const std::string bad = fmt::format("invalid port \"{}\"", spec);
  const std::string protocol = lower(parts.protocol);
  if (protocol != "tcp" && protocol != "udp" && protocol != "sctp") {
    throw Error(fmt::format("{}: unknown protocol \"{}\"", bad, parts.protocol));
  }
  if (parts.host_ip.starts_with('[')) {
    if (!parts.host_ip.ends_with(']')) {
      throw Error(fmt::format("{}: invalid host IP \"{}\"", bad, parts.host_ip));
    }
    parts.host_ip = parts.host_ip.substr(1, parts.host_ip.size() - 2);
  }
  if (!parts.host_ip.empty() && !is_ip_address(parts.host_ip)) {
    throw Error(fmt::format("{}: invalid host IP \"{}\"", bad, parts.host_ip));
  }
  const auto container = parse_port_range(parts.container);
  const auto host = parts.host.empty() ? PortRange{} : parse_port_range(parts.host);
  if (!container || !host) {
    throw Error(bad);
  }
  const int count = container->last - container->first + 1;
  const bool host_is_range = host->last != host->first;
  if (!parts.host.empty() && count > 1 && host->last - host->first + 1 != count) {
    throw Error(
        fmt::format("{}: host port range \"{}\" and container port range \"{}\" differ "
                    "in length",
                    bad, parts.host, parts.container));
  }
  std::vector<PortMapping> out;
  for (int i = 0; i < count; ++i) {
    PortMapping mapping{parts.host_ip, container->first + i, "", protocol};
    if (!parts.host.empty()) {
      // A single container port with a host range lets the engine pick a free host port.
      mapping.published = count == 1 && host_is_range
                              ? fmt::format("{}-{}", host->first, host->last)
                              : fmt::format("{}", host->first + i);
    }
    out.push_back(std::move(mapping));
  }
  return out;
}

}  // namespace berth::compose
