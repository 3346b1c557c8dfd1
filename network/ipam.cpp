#include "network/ipam.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/file_lock.h"
#include "util/fs.h"

namespace berth::network {

namespace {

using nlohmann::json;

std::uint32_t mask_of(int prefix) {
  return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
}

/// The prefix length of a netmask (host byte order), nullopt unless its ones are contiguous.
std::optional<int> prefix_of(std::uint32_t mask) {
  const int prefix = std::popcount(mask);
  if (mask != mask_of(prefix)) return std::nullopt;
  return prefix;
}

std::optional<std::uint32_t> try_parse_ip(const std::string& text) {
  in_addr address{};
  if (::inet_pton(AF_INET, text.c_str(), &address) != 1) return std::nullopt;
  return ntohl(address.s_addr);
}

Cidr network_of(std::uint32_t address, int prefix) {
  return Cidr{address & mask_of(prefix), prefix};
}

// --- host claims ---------------------------------------------------------------------------

void add_interface_claims(std::vector<Cidr>& claims) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    throw Error(fmt::format("cannot list the host's network addresses: {}", std::strerror(errno)));
  }
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    const auto* address = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
    const auto* netmask = reinterpret_cast<const sockaddr_in*>(entry->ifa_netmask);
    const std::uint32_t ip = ntohl(address->sin_addr.s_addr);
    // The connected network holds the address itself; without a usable mask the address
    // alone is still claimed.
    const std::optional<int> prefix =
        netmask != nullptr ? prefix_of(ntohl(netmask->sin_addr.s_addr)) : std::nullopt;
    claims.push_back(network_of(ip, prefix.value_or(32)));
  }
  ::freeifaddrs(list);
}

std::optional<std::uint32_t> parse_hex(const std::string& text) {
  std::uint32_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

/// /proc/net/route: a header, then "Iface Destination Gateway Flags RefCnt Use Metric Mask
/// ...", addresses as the hex of the network-order 32-bit word read natively (so ntohl gives
/// host order on any endianness). The kernel's own format: lines that do not fit are skipped.
void add_route_claims(const std::string& path, std::vector<Cidr>& claims) {
  const auto text = fs::read_file_if_exists(path);
  if (!text) return;
  std::istringstream lines(*text);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string iface, destination, gateway, flags, refcnt, use, metric, mask;
    if (!(fields >> iface >> destination >> gateway >> flags >> refcnt >> use >> metric >> mask)) {
      continue;
    }
    const auto dest_word = parse_hex(destination);
    const auto mask_word = parse_hex(mask);
    if (!dest_word || !mask_word) continue;
    const auto prefix = prefix_of(ntohl(*mask_word));
    // A default route (0.0.0.0/0) would claim everything.
    if (!prefix || *prefix == 0) continue;
    claims.push_back(network_of(ntohl(*dest_word), *prefix));
  }
}

/// resolv.conf's "nameserver <ip>" lines; IPv6 resolvers and anything else are not ours.
void add_resolver_claims(const std::string& path, std::vector<Cidr>& claims) {
  const auto text = fs::read_file_if_exists(path);
  if (!text) return;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string keyword, server;
    if (!(fields >> keyword >> server) || keyword != "nameserver") continue;
    if (const auto ip = try_parse_ip(server)) claims.push_back(Cidr{*ip, 32});
  }
}

// --- leases --------------------------------------------------------------------------------

using Leases = std::map<std::string, std::uint32_t>;

Leases read_leases(const std::string& path) {
  const auto text = fs::read_file_if_exists(path);
  if (!text) return {};
  Leases leases;
  try {
    const json document = json::parse(*text);
    if (!document.is_object() || !document.contains("leases") || !document["leases"].is_object()) {
      throw Error(fmt::format("{}: invalid leases file: expected {{\"leases\": {{...}}}}", path));
    }
    for (const auto& [owner, value] : document["leases"].items()) {
      const auto ip = value.is_string() ? try_parse_ip(value.get<std::string>()) : std::nullopt;
      if (!ip) {
        throw Error(
            fmt::format("{}: invalid leases file: the address of \"{}\" is not an IPv4 "
                        "address",
                        path, owner));
      }
      leases.emplace(owner, *ip);
    }
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: invalid leases file: {}", path, e.what()));
  }
  return leases;
}

void write_leases(const std::string& path, const Leases& leases) {
  json entries = json::object();
  for (const auto& [owner, ip] : leases) entries[owner] = format_ip(ip);
  fs::write_file_atomic(path, json{{"leases", std::move(entries)}}.dump(2) + "\n");
}

}  // namespace

// --- Cidr and addresses --------------------------------------------------------------------

std::string format_ip(std::uint32_t ip) {
  return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

std::uint32_t parse_ip(const std::string& text) {
  const auto ip = try_parse_ip(text);
  if (!ip) throw Error(fmt::format("invalid IPv4 address \"{}\"", text));
  return *ip;
}

Cidr Cidr::parse(const std::string& text) {
  const std::size_t slash = text.find('/');
  const auto ip = try_parse_ip(text.substr(0, slash));
  int prefix = 32;
  bool valid = ip.has_value();
  if (valid && slash != std::string::npos) {
    const std::string_view digits = std::string_view(text).substr(slash + 1);
    const auto [end, error] =
        std::from_chars(digits.data(), digits.data() + digits.size(), prefix, 10);
    valid = !digits.empty() && digits.size() <= 2 && error == std::errc{} &&
            end == digits.data() + digits.size() && prefix >= 0 && prefix <= 32;
  }
  if (!valid) {
    throw Error(
        fmt::format("invalid subnet \"{}\": expected an IPv4 address with an optional "
                    "/prefix from 0 to 32",
                    text));
  }
  const Cidr network = network_of(*ip, prefix);
  if (network.address != *ip) {
    throw Error(fmt::format("invalid subnet \"{}\": host bits are set, it should be {}", text,
                            network.str()));
  }
  return network;
}

std::string Cidr::str() const {
  return fmt::format("{}/{}", format_ip(address), prefix);
}

std::uint32_t Cidr::first() const {
  return address & mask_of(prefix);
}

std::uint32_t Cidr::last() const {
  return first() | ~mask_of(prefix);
}

bool Cidr::contains(std::uint32_t ip) const {
  return (ip & mask_of(prefix)) == first();
}

bool Cidr::overlaps(const Cidr& other) const {
  return first() <= other.last() && other.first() <= last();
}

// --- subnets -------------------------------------------------------------------------------

std::vector<Cidr> default_pool() {
  std::vector<Cidr> pool;
  pool.reserve(256);
  for (std::uint32_t third = 0; third < 256; ++third) {
    pool.push_back(Cidr{(10u << 24) | (210u << 16) | (third << 8), 24});
  }
  return pool;
}

std::vector<Cidr> host_claims(const HostSources& sources) {
  std::vector<Cidr> claims;
  if (sources.interfaces) add_interface_claims(claims);
  add_route_claims(sources.routes, claims);
  add_resolver_claims(sources.resolv_conf, claims);
  const auto key = [](const Cidr& c) { return std::pair(c.address, c.prefix); };
  std::sort(claims.begin(), claims.end(),
            [&](const Cidr& a, const Cidr& b) { return key(a) < key(b); });
  claims.erase(std::unique(claims.begin(), claims.end()), claims.end());
  return claims;
}

std::optional<Cidr> choose_subnet(const std::vector<Cidr>& pool, const std::vector<Cidr>& taken) {
  for (const Cidr& candidate : pool) {
    const bool free = std::none_of(taken.begin(), taken.end(),
                                   [&](const Cidr& claim) { return claim.overlaps(candidate); });
    if (free) return candidate;
  }
  return std::nullopt;
}

// --- AddressBook ---------------------------------------------------------------------------

AddressBook::AddressBook(std::string dir, Cidr subnet, std::uint32_t gateway,
                         std::optional<Cidr> range)
    : m_dir(std::move(dir)), m_subnet(subnet), m_gateway(gateway), m_range(range) {
  if (!m_subnet.contains(m_gateway)) {
    throw Error(
        fmt::format("gateway {} is not in network {}", format_ip(m_gateway), m_subnet.str()));
  }
  if (m_range && !(m_subnet.contains(m_range->first()) && m_subnet.contains(m_range->last()))) {
    throw Error(
        fmt::format("ip_range {} is not inside network {}", m_range->str(), m_subnet.str()));
  }
}

std::uint32_t AddressBook::lease(const std::string& owner, std::optional<std::uint32_t> requested) {
  const std::string path = m_dir + "/leases.json";
  FileLock lock(m_dir + "/leases.lock");
  Leases leases = read_leases(path);
  const auto own = leases.find(owner);
  if (own != leases.end() && (!requested || *requested == own->second)) return own->second;

  std::set<std::uint32_t> used{m_subnet.first(), m_subnet.last(), m_gateway};
  for (const auto& [other, ip] : leases) {
    if (other != owner) used.insert(ip);
  }

  std::uint32_t chosen = 0;
  if (requested) {
    const std::string ip = format_ip(*requested);
    if (!m_subnet.contains(*requested)) {
      throw Error(fmt::format("address {} is not in network {}", ip, m_subnet.str()));
    }
    if (*requested == m_gateway) {
      throw Error(fmt::format("address {} is the gateway of network {}", ip, m_subnet.str()));
    }
    if (*requested == m_subnet.first() || *requested == m_subnet.last()) {
      throw Error(fmt::format("address {} is the network or broadcast address of network {}", ip,
                              m_subnet.str()));
    }
    if (used.contains(*requested)) {
      throw Error(fmt::format("address {} is already in use in network {}", ip, m_subnet.str()));
    }
    chosen = *requested;
  } else {
    const Cidr range = m_range.value_or(m_subnet);
    // 64 bits: the range may end at 255.255.255.255.
    std::uint64_t candidate = range.first();
    while (candidate <= range.last() && used.contains(static_cast<std::uint32_t>(candidate))) {
      ++candidate;
    }
    if (candidate > range.last()) {
      throw Error(fmt::format("no free address in network {}", m_subnet.str()));
    }
    chosen = static_cast<std::uint32_t>(candidate);
  }
  leases[owner] = chosen;  // replaces the owner's old address when it asked to move
  write_leases(path, leases);
  return chosen;
}

void AddressBook::release(const std::string& owner) {
  const std::string path = m_dir + "/leases.json";
  FileLock lock(m_dir + "/leases.lock");
  Leases leases = read_leases(path);
  if (leases.erase(owner) == 0) return;
  write_leases(path, leases);
}

std::map<std::string, std::uint32_t> AddressBook::leases() const {
  // No lock: writers replace the file with rename(2), so a reader sees a whole version.
  return read_leases(m_dir + "/leases.json");
}

}  // namespace berth::network
