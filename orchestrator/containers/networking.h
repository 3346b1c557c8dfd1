// A container's networks, joined to its record: which berth networks it asks for (the
// default network "bridge" when none is named), and the names it gets there.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "network/container_network.h"
#include "network/network_store.h"
#include "orchestrator/containers/container_store.h"
#include "util/file_lock.h"

namespace berth::containers {

/// The name of berth's default network, made on first use (Docker's "bridge"; its
/// containers are not resolvable by name there, as in Docker).
inline constexpr const char* k_default_network = "bridge";

/// Where the network store keeps its state for `store`, with berth-dns found next to
/// `berth_executable` ("" when no responder is to be started, e.g. in a teardown) and the
/// DNS upstreams from BERTH_DNS_UPSTREAM (comma-separated "ip[:port]"; the host's resolvers
/// when unset).
network::NetworkOptions network_options(const ContainerStore& store,
                                        const std::string& berth_executable);

/// True when the container joins berth networks (not none, host or a namespace path).
bool joins_networks(const runtime::ContainerSpec& spec);

/// Checks what create can: the networks exist (or are the default), the ports parse.
void check_networks(const ContainerStore& store, const runtime::ContainerSpec& spec);

/// The container's network state file: <runroot>/containers/<id>/network.json.
std::string network_state_path(const ContainerStore& store, const std::string& id);

/// Sets up the container's namespace, networks and ports (network/container_network.h).
network::ContainerNetwork connect_container(const ContainerStore& store,
                                            const ContainerRecord& record,
                                            const std::string& berth_executable);

/// Undoes connect_container for the container `id`; nothing to do when it has no network
/// state.
void disconnect_container(const ContainerStore& store, const std::string& id);

/// Held by `start` from the network's set-up until the monitor runs the container: while it
/// is held, sweep_networks() leaves the container's networking alone.
class NetworkSetupLock {
 public:
  NetworkSetupLock(const ContainerStore& store, const std::string& id);

 private:
  FileLock m_lock;
};

/// `network connect`: joins the container to `network` from now on (its record), and at once
/// when it is running. `endpoint with name x already exists in network y` when it is
/// connected already; an error naming the container when its network mode is none, host or
/// another container's.
void connect_to_network(const ContainerStore& store, ContainerRecord record,
                        const std::string& network, const std::vector<std::string>& aliases,
                        const std::string& ipv4_address, const std::string& berth_executable);

/// `network disconnect`: takes the container off `network`, in its record and, when it is
/// running, at once. `container x is not connected to network y` otherwise.
void disconnect_from_network(const ContainerStore& store, ContainerRecord record,
                             const std::string& network);

/// What a killed berth left of its networking, found and removed: network state of
/// containers that are gone or no longer running (their namespace, interfaces, leases,
/// rules), endpoints that no container's state names, and networks active with no container
/// on them (bridge, rules, DNS responder). Containers being set up or running are left
/// alone. Best effort through everything; throws the first failure at the end.
void sweep_networks(const ContainerStore& store);

/// The container's network state while it runs; nullopt when it has none.
std::optional<network::ContainerNetwork> container_network(const ContainerStore& store,
                                                           const std::string& id);

/// `ps`'s PORTS column: "127.0.0.1:8080->80/tcp, 0.0.0.0:5353->53/udp".
std::string ports_text(const network::ContainerNetwork& state);

/// The /etc/hosts of a container: localhost, its own address and name, --add-host entries.
std::string hosts_file(const std::string& hostname, const network::ContainerNetwork* state,
                       const std::vector<std::string>& extra_hosts);

}  // namespace berth::containers
