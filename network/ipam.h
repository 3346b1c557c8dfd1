// berth's address management: which subnet a new network gets, and which address each
// container gets in it, persisted so that concurrent commands or a crash never hand out one
// address twice.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::network {

/// An IPv4 prefix, "10.210.3.0/24". `address` in host byte order.
struct Cidr {
  std::uint32_t address = 0;
  int prefix = 32;

  /// "10.210.3.0/24" or "10.210.3.7" (a /32); throws berth::Error `invalid subnet "x"`.
  static Cidr parse(const std::string& text);
  std::string str() const;      // "10.210.3.0/24"
  std::uint32_t first() const;  // the network address
  std::uint32_t last() const;   // the broadcast address
  bool contains(std::uint32_t ip) const;
  bool overlaps(const Cidr& other) const;
  bool operator==(const Cidr&) const = default;
};

std::string format_ip(std::uint32_t ip);
/// throws berth::Error `invalid IPv4 address "x"`.
std::uint32_t parse_ip(const std::string& text);

/// berth's default pool for networks without ipam.config: 10.210.0.0/16 in /24 steps,
/// distinct from Docker's (172.17-31.0.0/16, 192.168.0.0/16) and podman's (10.88.0.0/16).
std::vector<Cidr> default_pool();

/// Where host_claims() looks; tests point the files at fixtures and turn interfaces off.
struct HostSources {
  std::string routes = "/proc/net/route";  // the main table's IPv4 routes
  std::string resolv_conf = "/etc/resolv.conf";
  bool interfaces = true;  // the host's addresses, from getifaddrs(3)
};

/// What a new subnet must not overlap: the connected network of each of the host's IPv4
/// addresses, its IPv4 routes (default routes aside), and its IPv4 resolvers from resolv.conf
/// as /32s (a subnet holding the host's DNS server would cut the host off). A missing file
/// claims nothing. Sorted, without duplicates.
std::vector<Cidr> host_claims(const HostSources& sources = {});

/// The first entry of `pool` overlapping none of `taken`; nullopt when the pool is exhausted.
std::optional<Cidr> choose_subnet(const std::vector<Cidr>& pool, const std::vector<Cidr>& taken);

/// One network's addresses, kept in `<dir>/leases.json` and changed under flock(2) on
/// `<dir>/leases.lock`, so that two processes never lease one address.
class AddressBook {
 public:
  /// `dir` must exist. `range` (nullopt for the whole subnet) limits dynamic addresses, as
  /// compose's ip_range. Throws berth::Error when the gateway or the range is not inside
  /// the subnet.
  AddressBook(std::string dir, Cidr subnet, std::uint32_t gateway, std::optional<Cidr> range);

  /// A lease for `owner` (a container id): `requested` when given (an error when it is
  /// outside the subnet, its network or broadcast address, the gateway, or leased to another
  /// owner; the range does not apply), else the lowest free one in the range other than the
  /// subnet's network and broadcast addresses and the gateway. Leasing again for the same
  /// owner returns its address; when it requests a different one, the owner moves to it (its
  /// old address is freed in the same write), and keeps the old one if the request fails.
  /// Throws berth::Error "no free address in network <subnet>" when exhausted.
  std::uint32_t lease(const std::string& owner, std::optional<std::uint32_t> requested = {});
  /// Frees `owner`'s address; nothing to do when it has none.
  void release(const std::string& owner);
  /// owner -> address, as stored (empty before the first lease).
  std::map<std::string, std::uint32_t> leases() const;

 private:
  std::string m_dir;
  Cidr m_subnet;
  std::uint32_t m_gateway;
  std::optional<Cidr> m_range;
};

}  // namespace berth::network
