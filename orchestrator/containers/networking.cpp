#include "orchestrator/containers/networking.h"

#include <cstdlib>

#include <fmt/format.h>

#include "util/error.h"
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
  request.names = {record.name, record.id.substr(0, 12)};
  if (!record.spec.hostname.empty() && record.spec.hostname != record.name) {
    request.names.push_back(record.spec.hostname);
  }
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
