#include "orchestrator/containers/networking.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "runtime/container_state.h"
#include "util/error.h"
#include "util/first_failure.h"
#include "util/fs.h"
#include "util/strings.h"

namespace berth::containers {

network::NetworkOptions network_options(const ContainerStore& store,
                                        const std::string& berth_executable) {
  network::NetworkOptions options;
  options.root = store.root();
  options.runroot = store.runroot();
  if (!berth_executable.empty()) options.dns_program = fs::dirname(berth_executable) + "/berth-dns";
  if (const char* upstream = std::getenv("BERTH_DNS_UPSTREAM"); upstream && *upstream) {
    for (const auto part : split(upstream, ',')) {
      if (!part.empty()) options.dns_upstreams.emplace_back(part);
    }
  }
  return options;
}

bool joins_networks(const runtime::ContainerSpec& spec) {
  return spec.network == "bridge" || !spec.networks.empty();
}

std::string network_state_path(const ContainerStore& store, const std::string& id) {
  return store.paths(id).run_dir + "/network.json";
}

namespace {

/// The record for `name`; the default network is made the first time it is asked for.
network::NetworkRecord network_named(network::NetworkStore& networks, const std::string& name) {
  if (auto found = networks.find_if_exists(name)) return *found;
  if (name != k_default_network) return networks.find(name);  // throws "network x not found"
  network::NetworkSpec spec;
  spec.name = k_default_network;
  spec.dns = false;
  try {
    return networks.create(spec);
  } catch (const Error&) {
    return networks.find(name);  // made meanwhile by another berth
  }
}

/// The container's names in a network's DNS, on every network it joins.
std::vector<std::string> dns_names(const ContainerRecord& record) {
  std::vector<std::string> names = {record.name, record.id.substr(0, 12)};
  if (!record.spec.hostname.empty() && record.spec.hostname != record.name) {
    names.push_back(record.spec.hostname);
  }
  return names;
}

std::vector<runtime::NetworkAttachment> wanted_networks(const runtime::ContainerSpec& spec) {
  if (!spec.networks.empty()) return spec.networks;
  return {runtime::NetworkAttachment{k_default_network, {}, {}}};
}

}  // namespace

void check_networks(const ContainerStore& store, const runtime::ContainerSpec& spec) {
  std::vector<network::PortSpec> ports;
  for (const auto& entry : spec.publish) {
    for (auto& port : network::parse_ports(entry)) ports.push_back(std::move(port));
  }
  if (!spec.publish.empty() && !joins_networks(spec)) {
    throw Error(fmt::format("-p needs a container network, not --network {}", spec.network));
  }
  if (!joins_networks(spec)) return;
  network::NetworkStore networks(network_options(store, ""));
  for (const auto& wanted : wanted_networks(spec)) {
    if (wanted.network != k_default_network) networks.find(wanted.network);
    if (!wanted.ipv4_address.empty()) network::parse_ip(wanted.ipv4_address);
  }
  network::check_host_ports(ports, spec.name, store.runroot() + "/containers");
}

network::ContainerNetwork connect_container(const ContainerStore& store,
                                            const ContainerRecord& record,
                                            const std::string& berth_executable) {
  network::NetworkStore networks(network_options(store, berth_executable));
  network::ContainerNetworkRequest request;
  request.container_id = record.id;
  request.names = dns_names(record);
  for (const auto& wanted : wanted_networks(record.spec)) {
    request.networks.push_back(network::NetworkRequest{network_named(networks, wanted.network),
                                                       wanted.aliases, wanted.ipv4_address});
  }
  for (const auto& entry : record.spec.publish) {
    for (auto& port : network::parse_ports(entry)) request.ports.push_back(std::move(port));
  }
  return network::setup_container_network(networks, request, network_state_path(store, record.id));
}

void disconnect_container(const ContainerStore& store, const std::string& id) {
  network::NetworkStore networks(network_options(store, ""));
  network::teardown_container_network(networks, id, network_state_path(store, id));
}

NetworkSetupLock::NetworkSetupLock(const ContainerStore& store, const std::string& id)
    : m_lock(store.paths(id).run_dir + "/network.lock") {}

namespace {

bool active_status(const std::string& status) {
  return status == "running" || status == "restarting" || status == "paused";
}

/// The container's networking is live: it runs and its network state exists.
bool networking_live(const ContainerStore& store, const std::string& id) {
  return active_status(store.live_state(id).state.status) &&
         fs::is_file(network_state_path(store, id));
}

/// Whether nothing is (or will be) using the container's network state: its record is gone,
/// or it is not running and neither a monitor nor a `start` is busy with it.
bool networking_abandoned(const ContainerStore& store, const std::string& id) {
  if (!fs::is_file(store.paths(id).record())) return true;
  const auto live = store.live_state(id);
  if (active_status(live.state.status)) return false;
  return live.state.monitor_pid <= 0 ||
         !runtime::same_process_alive(live.state.monitor_pid, live.state.monitor_start_time);
}

}  // namespace

void connect_to_network(const ContainerStore& store, ContainerRecord record,
                        const std::string& network, const std::vector<std::string>& aliases,
                        const std::string& ipv4_address, const std::string& berth_executable) {
  auto& spec = record.spec;
  network::NetworkStore networks(network_options(store, berth_executable));
  const auto target = network_named(networks, network);
  if (spec.network == "host" || spec.network.starts_with("container:")) {
    throw Error(  // Docker's words
        "container sharing network namespace with another container or host cannot be "
        "connected to any other network");
  }
  if (!joins_networks(spec)) {
    throw Error(
        fmt::format("container {} uses network mode {} and cannot be connected to network {}",
                    record.name, spec.network, network));
  }
  if (spec.networks.empty()) spec.networks = wanted_networks(spec);
  for (const auto& joined : spec.networks) {
    const auto other = networks.find_if_exists(joined.network);
    if (joined.network == target.name || (other && other->id == target.id)) {
      throw Error(fmt::format("endpoint with name {} already exists in network {}", record.name,
                              target.name));
    }
  }
  if (!ipv4_address.empty()) network::parse_ip(ipv4_address);
  const ContainerRecord before = store.find(record.id);
  spec.networks.push_back(runtime::NetworkAttachment{target.name, aliases, ipv4_address});
  store.save(record);
  if (!networking_live(store, record.id)) return;
  try {
    network::connect_running_container(networks, record.id, dns_names(record),
                                       network::NetworkRequest{target, aliases, ipv4_address},
                                       network_state_path(store, record.id));
  } catch (...) {
    store.save(before);
    throw;
  }
}

void disconnect_from_network(const ContainerStore& store, ContainerRecord record,
                             const std::string& network) {
  auto& spec = record.spec;
  network::NetworkStore networks(network_options(store, ""));
  const auto target = networks.find_if_exists(network);
  const auto wanted =
      joins_networks(spec) ? wanted_networks(spec) : std::vector<runtime::NetworkAttachment>{};
  std::vector<runtime::NetworkAttachment> kept;
  for (const auto& joined : wanted) {
    const auto other = networks.find_if_exists(joined.network);
    const bool same = joined.network == network || (target && other && other->id == target->id);
    if (!same) kept.push_back(joined);
  }
  if (kept.size() == wanted.size()) {
    throw Error(fmt::format("container {} is not connected to network {}", record.name, network));
  }
  spec.networks = kept;
  // No network left: the container keeps only its loopback, as Docker's does.
  if (kept.empty()) spec.network = "none";
  store.save(record);
  if (target && networking_live(store, record.id)) {
    network::disconnect_running_container(networks, record.id, target->id,
                                          network_state_path(store, record.id));
  }
}

void sweep_networks(const ContainerStore& store) {
  network::NetworkStore networks(network_options(store, ""));
  FirstFailure failures;
  std::error_code error;
  for (std::filesystem::directory_iterator it(store.runroot() + "/containers", error), end;
       !error && it != end; it.increment(error)) {
    const std::string id = it->path().filename().string();
    const std::string state = network_state_path(store, id);
    if (!fs::is_file(state)) continue;
    failures.attempt([&] {
      const FileLock setup(it->path().string() + "/network.lock", FileLock::TryOnly{});
      if (setup.held() && networking_abandoned(store, id)) {
        network::teardown_container_network(networks, id, state);
      }
    });
  }
  for (const auto& record : networks.list()) {
    failures.attempt([&] {
      for (const auto& [id, connection] : networks.connections(record)) {
        const auto state = container_network(store, id);
        const bool named =
            state && std::any_of(state->networks.begin(), state->networks.end(),
                                 [&](const auto& n) { return n.network_id == record.id; });
        if (!named) networks.disconnect(record, id);
      }
      networks.deactivate_if_unused(record);
    });
  }
  failures.throw_first();
}

std::optional<network::ContainerNetwork> container_network(const ContainerStore& store,
                                                           const std::string& id) {
  const std::string path = network_state_path(store, id);
  const auto text = fs::read_file_if_exists(path);
  if (!text) return std::nullopt;
  try {
    return network::container_network_from_json(nlohmann::json::parse(*text));
  } catch (const std::exception& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
}

std::string ports_text(const network::ContainerNetwork& state) {
  std::string text;
  for (const auto& port : state.ports) {
    if (!text.empty()) text += ", ";
    text += network::format_port(port);
  }
  return text;
}

std::string hosts_file(const std::string& hostname, const network::ContainerNetwork* state,
                       const std::vector<std::string>& extra_hosts) {
  std::string text =
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
      "ff02::2\tip6-allrouters\n";
  for (const auto& entry : extra_hosts) {
    // Docker's "name:ip" (the address may itself hold colons: IPv6).
    const auto colon = entry.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == entry.size()) {
      throw Error(fmt::format("invalid --add-host \"{}\": expected name:ip", entry));
    }
    text += entry.substr(colon + 1) + "\t" + entry.substr(0, colon) + "\n";
  }
  if (state && !state->networks.empty()) {
    text += state->networks.front().address + "\t" + hostname + "\n";
  } else {
    text += "127.0.1.1\t" + hostname + "\n";
  }
  return text;
}

}  // namespace berth::containers
