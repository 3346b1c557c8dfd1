// berth's networks on disk and in the kernel: a record per network under
// `<root>/networks/<id>/` (network.json, the address leases, who is connected), a bridge,
// the network's netfilter rules and its DNS responder (berth-dns, one per network, with its
// config under `<runroot>/networks/<id>/`).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "network/firewall.h"
#include "network/ipam.h"

namespace berth::network {

/// What `network create` (or compose's top-level `networks:`) asks for.
struct NetworkSpec {
  std::string name;
  std::string subnet;    // "" picks one from the default pool
  std::string gateway;   // "" is the subnet's first address
  std::string ip_range;  // "" is the whole subnet
  bool internal = false;
  bool dns = true;  // names of the network's containers answered on the gateway
  std::map<std::string, std::string> labels;
};

struct NetworkRecord {
  std::string id;  // 64 hex digits
  std::string name;
  std::string created;  // RFC 3339
  std::string subnet;   // "" until first used, when berth chooses it (see NetworkStore)
  std::string gateway;  // likewise
  std::string ip_range;
  std::string bridge;  // "berth" + 10 hex digits of the id
  bool internal = false;
  bool dns = true;
  bool fixed_subnet = false;  // given by the user: kept, and checked at every activation
  std::map<std::string, std::string> labels;
};

nlohmann::json to_json(const NetworkRecord& record);
NetworkRecord network_record_from_json(const nlohmann::json& value);

/// One container's place on one network, as connect_container() made it.
struct Connection {
  std::string network_id;
  std::string ifname;       // "eth0", ...
  std::string host_ifname;  // the veth's host end
  std::string address;      // "10.210.3.2"
  std::string mac;
  std::vector<std::string> names;  // what the network's DNS answers with this address
};

/// Where berth finds its helpers and what it tells them.
struct NetworkOptions {
  std::string root;     // <root>: records
  std::string runroot;  // <runroot>: DNS configs
  /// The berth-dns program; "" runs no DNS responder (names then resolve only through
  /// /etc/hosts).
  std::string dns_program;
  /// Where berth-dns forwards names it does not know: "ip" or "ip:port" entries. Empty: the
  /// host's resolvers from /etc/resolv.conf.
  std::vector<std::string> dns_upstreams;
};

/// Networks are records until a container joins: the first one's connect makes the bridge,
/// the rules and the DNS responder (choosing a subnet from the pool, under a host-wide lock,
/// when none was given), and the last one's disconnect removes them again, as netavark does.
/// So an unused network holds nothing in the kernel, and a subnet is chosen against the
/// bridges actually present, whichever berth root made them.
class NetworkStore {
 public:
  explicit NetworkStore(NetworkOptions options);

  /// Writes the record. Throws berth::Error naming the network (`network with name x already
  /// exists`, an invalid subnet, gateway or range).
  NetworkRecord create(const NetworkSpec& spec);
  /// By exact name, full id or unique id prefix; `network x not found` otherwise.
  NetworkRecord find(std::string_view name_or_id) const;
  std::optional<NetworkRecord> find_if_exists(std::string_view name_or_id) const;
  std::vector<NetworkRecord> list() const;
  /// Removes the record (and whatever a killed berth left of the network in the kernel).
  /// Refuses while containers are connected: `error while removing network: network x id
  /// <id> has active endpoints`.
  void remove(const NetworkRecord& record);
  /// The container ids connected to the network, with their connections.
  std::map<std::string, Connection> connections(const NetworkRecord& record) const;

  /// Activates the network when needed, leases an address (`requested` or the next free)
  /// for `container_id`, creates its interface `ifname` in the namespace `netns` (the
  /// default route only when `gateway_route`) and publishes `names` in the network's DNS.
  /// Returns the connection and the network as activated (its subnet and gateway).
  std::pair<Connection, NetworkRecord> connect(const NetworkRecord& record,
                                               const std::string& container_id,
                                               const std::string& netns, const std::string& ifname,
                                               bool gateway_route,
                                               const std::vector<std::string>& names,
                                               std::optional<std::string> requested_address = {});
  /// Undoes connect (its lease, names and host interface), and deactivates the network when
  /// it was the last connection; nothing to do when not connected.
  /// `namespace_deleted`: the container's namespace is gone already, so the kernel removes
  /// the veth itself, asynchronously, and the host end is not deleted here: a synchronous
  /// veth deletion costs 20-30 ms (RUNTIME-FACTS.md §4), most of a container's teardown.
  void disconnect(const NetworkRecord& record, const std::string& container_id,
                  bool namespace_deleted = false);

  /// Deactivates the network when no container is connected but something of it is in the
  /// kernel (what a killed berth left); nothing to do otherwise.
  void deactivate_if_unused(const NetworkRecord& record);

  /// The network as it is now: the record with its subnet and gateway while active.
  NetworkRecord current(const NetworkRecord& record) const;
  bool active(const NetworkRecord& record) const;
  const std::string& dns_program() const { return m_options.dns_program; }

 private:
  std::string network_dir(const std::string& id) const;
  /// Whether the name file claims the name for a network that was never recorded.
  bool stale_name_claim(const std::string& name_path) const;
  std::string run_dir(const std::string& id) const;
  NetworkRecord activate(const NetworkRecord& record);
  void deactivate(const NetworkRecord& record);
  std::pair<Connection, NetworkRecord> connect_locked(const NetworkRecord& record,
                                                      const std::string& container_id,
                                                      const std::string& netns,
                                                      const std::string& ifname, bool gateway_route,
                                                      const std::vector<std::string>& names,
                                                      std::optional<std::string> requested_address);
  void disconnect_locked(const NetworkRecord& record, const std::string& container_id,
                         bool namespace_deleted);
  void write_dns_config(const NetworkRecord& active) const;
  /// Rewrites the DNS config of every other network that shares a container with `changed`
  /// (or has `container_id`, which just joined or left it): their views show its names.
  void refresh_neighbours(const NetworkRecord& changed, const std::string& container_id) const;
  void start_dns(const NetworkRecord& active) const;
  void stop_dns(const NetworkRecord& record) const;
  std::vector<std::string> upstreams() const;

  NetworkOptions m_options;
};

/// "berth" + 10 hex digits of the network id: 15 characters, the kernel's limit.
std::string bridge_name(const std::string& network_id);
/// The host end of a container's veth on a network: "bv" + 13 hex digits of both ids.
std::string host_ifname(const std::string& container_id, const std::string& network_id);

}  // namespace berth::network
