// One container's networking: its named namespace, an interface per network, its published
// ports. Set up by `start` before the runtime creates the container (which joins the
// namespace by path), torn down at the container's final exit by its monitor, or by `rm`
// when the monitor is gone. The state is kept in the container's run dir (network.json), so
// any later process can tear it down, and a teardown is safe to repeat.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "network/firewall.h"
#include "network/network_store.h"
#include "network/ports.h"

namespace berth::network {

struct NetworkRequest {
  NetworkRecord network;
  std::vector<std::string> aliases;  // further names in the network's DNS
  std::string ipv4_address;          // "" for the next free one
};

struct ContainerNetworkRequest {
  std::string container_id;
  std::vector<std::string> names;        // the container's name, short id, hostname
  std::vector<NetworkRequest> networks;  // the first one has the default route
  std::vector<PortSpec> ports;           // published on the first network
};

struct AttachedNetwork {
  std::string network_id;
  std::string network_name;
  std::string ifname;
  std::string address;
  int prefix = 24;
  std::string gateway;
  std::string mac;
  std::vector<std::string> aliases;
  bool dns = false;  // the network's responder answers on the gateway
};

struct ContainerNetwork {
  std::string netns;  // the namespace's name under /run/netns
  std::vector<AttachedNetwork> networks;
  std::vector<PortSpec> ports;  // with the host ports chosen
};

nlohmann::json to_json(const ContainerNetwork& state);
ContainerNetwork container_network_from_json(const nlohmann::json& value);

/// "berth-" and the container id's first 12 hex digits.
std::string netns_name(const std::string& container_id);

/// Creates the namespace, connects the networks, chooses free host ports and publishes them,
/// and writes the state to `state_path` before returning. All or nothing: on failure what
/// was made is undone. A host port that is bound on the host or published by any berth
/// container fails first: `port 8080/tcp of <name> is already in use on 127.0.0.1`.
ContainerNetwork setup_container_network(NetworkStore& store,
                                         const ContainerNetworkRequest& request,
                                         const std::string& state_path);

/// Checks `ports` as setup will (each fixed host port free on the host and published by no
/// container whose state lies under `containers_dir`), so that a conflict is reported before
/// anything is made. Throws the error setup would.
void check_host_ports(const std::vector<PortSpec>& ports, const std::string& owner,
                      const std::string& containers_dir);

/// One container's published ports, checked before anything is made.
struct PortClaim {
  std::string owner;  // the container's name, for the messages
  std::vector<PortSpec> ports;
};

/// check_host_ports for several containers at once, every problem reported rather than the
/// first: a fixed host port bound on the host, published by a container under
/// `containers_dir` (those whose ids are in `ignored_ids` aside: they are to be replaced), or
/// claimed by two of `claims`. One message per problem, in setup's words.
std::vector<std::string> host_port_problems(const std::vector<PortClaim>& claims,
                                            const std::string& containers_dir,
                                            const std::set<std::string>& ignored_ids);

/// Undoes what setup made, as recorded in `state_path` (nothing to do without it): ports,
/// connections (the last one out deactivates its network), namespace; then removes the file.
/// Best effort through every step; throws the first failure at the end.
void teardown_container_network(NetworkStore& store, const std::string& container_id,
                                const std::string& state_path);

/// Joins the running container whose state is at `state_path` to one more network, as
/// `network connect` does: the next free interface (eth1, ...), no change to its default
/// route (unless it had no network left). Throws `endpoint with name x already exists in
/// network y` when it is connected already.
AttachedNetwork connect_running_container(NetworkStore& store, const std::string& container_id,
                                          const std::vector<std::string>& names,
                                          const NetworkRequest& wanted,
                                          const std::string& state_path);

/// Takes the running container off one network, as `network disconnect` does. When that
/// network carried its default route and its published ports, both move to the next
/// network. False when it was not connected.
bool disconnect_running_container(NetworkStore& store, const std::string& container_id,
                                  const std::string& network_id, const std::string& state_path);

/// The resolv.conf for a container on `state`: its first network's DNS responder, or the
/// host's resolvers when it has none; `dns`, `dns_search` and `dns_options` (Docker's
/// --dns, --dns-search, --dns-option) replace the respective parts.
std::string resolv_conf(const ContainerNetwork& state, const std::vector<std::string>& dns,
                        const std::vector<std::string>& dns_search,
                        const std::vector<std::string>& dns_options);

}  // namespace berth::network
