#include "network/container_network.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "network/conntrack.h"
#include "network/ipam.h"
#include "network/netlink.h"
#include "util/error.h"
#include "util/failpoint.h"
#include "util/first_failure.h"
#include "util/fs.h"

namespace berth::network {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

namespace {

using PortKey = std::tuple<std::string, std::uint16_t, std::string>;  // ip ("" any), port, proto

/// The host ports the containers under `containers_dir` publish, from their network.json
/// files; `own_state` (the container being set up) and the containers `ignored_ids` aside.
std::vector<PortKey> ports_in_use(const std::string& containers_dir, const std::string& own_state,
                                  const std::set<std::string>& ignored_ids = {}) {
  std::vector<PortKey> used;
  const stdfs::path containers = containers_dir;
  std::error_code error;
  for (stdfs::directory_iterator it(containers, error), end; !error && it != end;
       it.increment(error)) {
    const std::string path = it->path().string() + "/network.json";
    if (path == own_state || ignored_ids.contains(it->path().filename().string())) continue;
    const auto text = fs::read_file_if_exists(path);
    if (!text) continue;
    try {
      for (const auto& port : container_network_from_json(json::parse(*text)).ports) {
        used.emplace_back(port.host_ip, port.host_port, port.protocol);
      }
    } catch (const std::exception&) {
      // A state being written or half removed: that container's own teardown deals with it.
    }
  }
  return used;
}

bool clashes(const std::vector<PortKey>& used, const PortSpec& port) {
  return std::any_of(used.begin(), used.end(), [&](const PortKey& key) {
    const auto& [ip, number, protocol] = key;
    return number == port.host_port && protocol == port.protocol &&
           (ip.empty() || port.host_ip.empty() || ip == port.host_ip);
  });
}

std::string host_ip_text(const PortSpec& port) {
  return port.host_ip.empty() ? "0.0.0.0" : port.host_ip;
}

std::string published_elsewhere(const PortSpec& port, const std::string& owner) {
  return fmt::format("port {}/{} of {} is already published on {} by another container",
                     port.host_port, port.protocol, owner, host_ip_text(port));
}

/// Binds host_ip:host_port (0: a free one) for the port's protocol, as a proxy would, and
/// returns the port; EADDRINUSE and the like as an error naming the port.
std::uint16_t probe_host_port(const PortSpec& port, const std::string& owner) {
  const int fd =
      ::socket(AF_INET, (port.protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Error(fmt::format("socket: {}", std::strerror(errno)));
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // TIME_WAIT is no owner
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port.host_port);
  address.sin_addr.s_addr = htonl(port.host_ip.empty() ? INADDR_ANY : parse_ip(port.host_ip));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EADDRINUSE) {
      throw Error(fmt::format("port {}/{} of {} is already in use on {}", port.host_port,
                              port.protocol, owner, host_ip_text(port)));
    }
    throw Error(fmt::format("port {}/{} of {} on {}: {}", port.host_port, port.protocol, owner,
                            host_ip_text(port), std::strerror(error)));
  }
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

/// The ports with their host ports chosen and checked.
std::vector<PortSpec> choose_host_ports(const std::vector<PortSpec>& requested,
                                        const std::string& owner, const std::string& containers_dir,
                                        const std::string& own_state) {
  std::vector<PortKey> used = ports_in_use(containers_dir, own_state);
  std::vector<PortSpec> chosen;
  for (PortSpec port : requested) {
    if (port.host_port != 0) {
      if (clashes(used, port)) throw Error(published_elsewhere(port, owner));
      probe_host_port(port, owner);
    } else {
      // The kernel's pick among free ports, tried again should a berth container hold it.
      for (int attempt = 0; attempt < 64; ++attempt) {
        PortSpec candidate = port;
        candidate.host_port = probe_host_port(port, owner);
        if (!clashes(used, candidate)) {
          port = candidate;
          break;
        }
      }
      if (port.host_port == 0) {
        throw Error(fmt::format("no free host port for {}/{} of {}", port.container_port,
                                port.protocol, owner));
      }
    }
    used.emplace_back(port.host_ip, port.host_port, port.protocol);
    chosen.push_back(port);
  }
  return chosen;
}

json port_to_json(const PortSpec& p) {
  return {{"host_ip", p.host_ip},
          {"host_port", p.host_port},
          {"container_port", p.container_port},
          {"protocol", p.protocol}};
}

PortSpec port_from_json(const json& v) {
  PortSpec p;
  p.host_ip = v.value("host_ip", "");
  p.host_port = v.at("host_port").get<std::uint16_t>();
  p.container_port = v.at("container_port").get<std::uint16_t>();
  p.protocol = v.value("protocol", "tcp");
  return p;
}

std::vector<PortRule> port_rules(const ContainerNetwork& state) {
  std::vector<PortRule> rules;
  if (state.networks.empty()) return rules;
  for (const auto& port : state.ports) {
    rules.push_back(PortRule{port.host_ip, port.host_port, port.protocol,
                             state.networks.front().address, port.container_port});
  }
  return rules;
}

/// The rules of the container's published ports, on its first network (none without one).
void publish_ports(const std::string& container_id, const ContainerNetwork& state) {
  const auto rules = port_rules(state);
  if (rules.empty()) return;
  // No ensure_chains(): its listing costs an iptables-save (8 ms here), and the chains exist
  // while the network is active; apply() makes them again in the rare case they went.
  apply(ports_batch(container_id, bridge_name(state.networks.front().network_id), rules, true));
  for (const auto& port : state.ports) {
    if (port.protocol == "udp") forget_udp_flows(port.host_ip, port.host_port);
  }
}

/// Deletes the container's port rules: exactly the ones publish_ports() added, in one
/// iptables-restore; when any is missing (a berth killed half way), every rule the container
/// owns through a listing (one more iptables-save).
void unpublish_ports(const std::string& container_id, const ContainerNetwork& state) {
  if (state.ports.empty()) return;
  try {
    apply(ports_batch(container_id, bridge_name(state.networks.at(0).network_id), port_rules(state),
                      false));
  } catch (const std::exception&) {
    remove_owner(container_id);
  }
  // Flows still translated to this container's address would outlive it (publish_ports).
  for (const auto& port : state.ports) {
    if (port.protocol == "udp") forget_udp_flows(port.host_ip, port.host_port);
  }
}

ContainerNetwork read_state(const std::string& state_path) {
  const auto text = fs::read_file_if_exists(state_path);
  if (!text)
    throw Error(fmt::format("{}: no network state (the container is not running)", state_path));
  try {
    return container_network_from_json(json::parse(*text));
  } catch (const std::exception& e) {
    throw Error(fmt::format("{}: {}", state_path, e.what()));
  }
}

}  // namespace

json to_json(const ContainerNetwork& state) {
  json networks = json::array();
  for (const auto& n : state.networks) {
    networks.push_back({{"network_id", n.network_id},
                        {"network_name", n.network_name},
                        {"ifname", n.ifname},
                        {"address", n.address},
                        {"prefix", n.prefix},
                        {"gateway", n.gateway},
                        {"mac", n.mac},
                        {"aliases", n.aliases},
                        {"dns", n.dns}});
  }
  json ports = json::array();
  for (const auto& p : state.ports) ports.push_back(port_to_json(p));
  return {{"netns", state.netns}, {"networks", networks}, {"ports", ports}};
}

ContainerNetwork container_network_from_json(const json& value) {
  ContainerNetwork state;
  state.netns = value.at("netns").get<std::string>();
  for (const auto& n : value.value("networks", json::array())) {
    AttachedNetwork a;
    a.network_id = n.at("network_id").get<std::string>();
    a.network_name = n.value("network_name", "");
    a.ifname = n.value("ifname", "");
    a.address = n.value("address", "");
    a.prefix = n.value("prefix", 24);
    a.gateway = n.value("gateway", "");
    a.mac = n.value("mac", "");
    a.aliases = n.value("aliases", std::vector<std::string>{});
    a.dns = n.value("dns", false);
    state.networks.push_back(std::move(a));
  }
  for (const auto& p : value.value("ports", json::array()))
    state.ports.push_back(port_from_json(p));
  return state;
}

void check_host_ports(const std::vector<PortSpec>& ports, const std::string& owner,
                      const std::string& containers_dir) {
  choose_host_ports(ports, owner, containers_dir, "");
}

std::vector<std::string> host_port_problems(const std::vector<PortClaim>& claims,
                                            const std::string& containers_dir,
                                            const std::set<std::string>& ignored_ids) {
  const std::vector<PortKey> used = ports_in_use(containers_dir, "", ignored_ids);
  std::vector<std::pair<PortKey, std::string>> claimed;  // by an earlier claim, its owner
  std::vector<std::string> problems;
  for (const auto& claim : claims) {
    for (const auto& port : claim.ports) {
      if (port.host_port == 0) continue;  // any free port will do, chosen at start
      const auto earlier = std::find_if(claimed.begin(), claimed.end(), [&](const auto& entry) {
        return clashes({entry.first}, port);
      });
      try {
        if (earlier != claimed.end()) {
          throw Error(fmt::format("port {}/{} of {} on {} is also published by {}", port.host_port,
                                  port.protocol, claim.owner, host_ip_text(port), earlier->second));
        }
        if (clashes(used, port)) throw Error(published_elsewhere(port, claim.owner));
        probe_host_port(port, claim.owner);
      } catch (const Error& e) {
        problems.push_back(e.what());
        continue;
      }
      claimed.emplace_back(PortKey{port.host_ip, port.host_port, port.protocol}, claim.owner);
    }
  }
  return problems;
}

std::string netns_name(const std::string& container_id) {
  return "berth-" + container_id.substr(0, 12);
}

ContainerNetwork setup_container_network(NetworkStore& store,
                                         const ContainerNetworkRequest& request,
                                         const std::string& state_path) {
  const std::string owner = request.names.empty() ? request.container_id : request.names.front();
  ContainerNetwork state;
  state.netns = netns_name(request.container_id);
  // The state files of the other containers are this one's siblings.
  state.ports = choose_host_ports(request.ports, owner,
                                  stdfs::path(state_path).parent_path().parent_path(), state_path);
  // What a killed berth left under this container's names goes first.
  teardown_container_network(store, request.container_id, state_path);
  delete_netns(state.netns);
  // Written before the namespace and the interfaces exist, so that a teardown after any
  // failure (or after a killed berth: `network prune`) finds everything that may have been
  // made.
  for (std::size_t i = 0; i < request.networks.size(); ++i) {
    const auto& wanted = request.networks[i];
    AttachedNetwork attached;
    attached.network_id = wanted.network.id;
    attached.network_name = wanted.network.name;
    attached.ifname = fmt::format("eth{}", i);
    attached.aliases = wanted.aliases;
    state.networks.push_back(attached);
  }
  fs::write_file_atomic(state_path, to_json(state).dump());
  failpoint("network-state-written");
  try {
    create_netns(state.netns);
    failpoint("netns-created");
    for (std::size_t i = 0; i < request.networks.size(); ++i) {
      const auto& wanted = request.networks[i];
      std::vector<std::string> names = request.names;
      names.insert(names.end(), wanted.aliases.begin(), wanted.aliases.end());
      std::optional<std::string> address;
      if (!wanted.ipv4_address.empty()) address = wanted.ipv4_address;
      const auto [connection, live] =
          store.connect(wanted.network, request.container_id, state.netns, state.networks[i].ifname,
                        i == 0, names, address);
      auto& attached = state.networks[i];
      attached.address = connection.address;
      attached.prefix = Cidr::parse(live.subnet).prefix;
      attached.gateway = live.gateway;
      attached.mac = connection.mac;
      attached.dns = live.dns;
      failpoint("network-connected");
    }
    fs::write_file_atomic(state_path, to_json(state).dump());
    publish_ports(request.container_id, state);
    failpoint("ports-published");
  } catch (...) {
    try {
      teardown_container_network(store, request.container_id, state_path);
    } catch (const std::exception&) {
    }
    delete_netns(state.netns);
    throw;
  }
  return state;
}

void teardown_container_network(NetworkStore& store, const std::string& container_id,
                                const std::string& state_path) {
  const auto text = fs::read_file_if_exists(state_path);
  if (!text) return;
  ContainerNetwork state;
  try {
    state = container_network_from_json(json::parse(*text));
  } catch (const std::exception& e) {
    throw Error(fmt::format("{}: {}", state_path, e.what()));
  }
  FirstFailure failures;
  // Port rules are written only after the state names the ports (setup), so a container
  // without ports has none: no iptables process for it (8-15 ms each here).
  if (!state.ports.empty()) failures.attempt([&] { unpublish_ports(container_id, state); });
  // The namespace first: its veth ends go with it, asynchronously, which spares the 20-30 ms
  // a veth deletion costs (RUNTIME-FACTS.md §4); disconnect then leaves the host ends alone.
  bool namespace_deleted = false;
  failures.attempt([&] {
    delete_netns(state.netns);
    namespace_deleted = true;
  });
  for (const auto& attached : state.networks) {
    failures.attempt([&] {
      if (const auto network = store.find_if_exists(attached.network_id)) {
        store.disconnect(*network, container_id, namespace_deleted);
      }
    });
  }
  // The chains go with the last network's deactivation (NetworkStore::disconnect).
  failures.throw_first();
  ::unlink(state_path.c_str());
}

AttachedNetwork connect_running_container(NetworkStore& store, const std::string& container_id,
                                          const std::vector<std::string>& names,
                                          const NetworkRequest& wanted,
                                          const std::string& state_path) {
  ContainerNetwork state = read_state(state_path);
  const std::string owner = names.empty() ? container_id : names.front();
  std::set<std::string> ifnames;
  for (const auto& attached : state.networks) {
    if (attached.network_id == wanted.network.id) {
      throw Error(fmt::format("endpoint with name {} already exists in network {}", owner,
                              wanted.network.name));
    }
    ifnames.insert(attached.ifname);
  }
  AttachedNetwork attached;
  attached.network_id = wanted.network.id;
  attached.network_name = wanted.network.name;
  attached.aliases = wanted.aliases;
  for (int i = 0; attached.ifname.empty(); ++i) {
    if (!ifnames.contains(fmt::format("eth{}", i))) attached.ifname = fmt::format("eth{}", i);
  }
  // Recorded first, as in setup: a teardown then finds the interface, whenever berth dies.
  state.networks.push_back(attached);
  fs::write_file_atomic(state_path, to_json(state).dump());
  try {
    std::vector<std::string> all_names = names;
    all_names.insert(all_names.end(), wanted.aliases.begin(), wanted.aliases.end());
    std::optional<std::string> address;
    if (!wanted.ipv4_address.empty()) address = wanted.ipv4_address;
    // The default route stays where it is, unless this is now the only network.
    const bool gateway_route = state.networks.size() == 1;
    const auto [connection, live] =
        store.connect(wanted.network, container_id, state.netns, attached.ifname, gateway_route,
                      all_names, address);
    auto& made = state.networks.back();
    made.address = connection.address;
    made.prefix = Cidr::parse(live.subnet).prefix;
    made.gateway = live.gateway;
    made.mac = connection.mac;
    made.dns = live.dns;
    fs::write_file_atomic(state_path, to_json(state).dump());
    return made;
  } catch (...) {
    state.networks.pop_back();
    try {
      store.disconnect(wanted.network, container_id);
      fs::write_file_atomic(state_path, to_json(state).dump());
    } catch (const std::exception&) {
      // The first failure is the one to report; `network prune` finds the rest.
    }
    throw;
  }
}

bool disconnect_running_container(NetworkStore& store, const std::string& container_id,
                                  const std::string& network_id, const std::string& state_path) {
  ContainerNetwork state = read_state(state_path);
  const auto found = std::find_if(state.networks.begin(), state.networks.end(),
                                  [&](const auto& n) { return n.network_id == network_id; });
  if (found == state.networks.end()) return false;
  const bool carried_ports = found == state.networks.begin() && !state.ports.empty();
  // The ports are published to the address on the first network: they move to the next one.
  if (carried_ports) unpublish_ports(container_id, state);
  if (const auto network = store.find_if_exists(network_id)) {
    store.disconnect(*network, container_id);
  }
  const bool was_first = found == state.networks.begin();
  state.networks.erase(found);
  if (state.networks.empty()) state.ports.clear();
  fs::write_file_atomic(state_path, to_json(state).dump());
  if (was_first && !state.networks.empty()) {
    const auto& next = state.networks.front();
    set_default_route(state.netns, next.ifname, next.gateway);
    if (carried_ports) publish_ports(container_id, state);
  }
  return true;
}

std::string resolv_conf(const ContainerNetwork& state, const std::vector<std::string>& dns,
                        const std::vector<std::string>& dns_search,
                        const std::vector<std::string>& dns_options) {
  std::vector<std::string> servers = dns;
  std::vector<std::string> search = dns_search;
  std::vector<std::string> options = dns_options;
  const bool own_dns = !state.networks.empty() && state.networks.front().dns;
  if (servers.empty() && own_dns) servers.push_back(state.networks.front().gateway);
  if (servers.empty() || search.empty() || options.empty()) {
    // The rest from the host's file, as Docker does.
    const std::string host = fs::read_file_if_exists("/etc/resolv.conf").value_or("");
    std::size_t start = 0;
    std::vector<std::string> host_servers, host_search, host_options;
    while (start < host.size()) {
      const std::size_t end = std::min(host.find('\n', start), host.size());
      const std::string line = host.substr(start, end - start);
      start = end + 1;
      std::vector<std::string> words;
      std::size_t i = 0;
      while (i < line.size()) {
        const auto b = line.find_first_not_of(" \t", i);
        if (b == std::string::npos) break;
        const auto e = std::min(line.find_first_of(" \t", b), line.size());
        words.push_back(line.substr(b, e - b));
        i = e;
      }
      if (words.size() < 2 || words[0].starts_with('#')) continue;
      if (words[0] == "nameserver") host_servers.push_back(words[1]);
      if (words[0] == "search") host_search.assign(words.begin() + 1, words.end());
      if (words[0] == "options") host_options.assign(words.begin() + 1, words.end());
    }
    if (servers.empty()) {
      // A loopback resolver of the host is not reachable from the container's namespace.
      for (const auto& s : host_servers) {
        if (!s.starts_with("127.") && s != "::1") servers.push_back(s);
      }
    }
    if (search.empty()) search = host_search;
    if (options.empty()) options = host_options;
  }
  std::string text;
  if (!search.empty()) {
    text += "search";
    for (const auto& s : search) text += " " + s;
    text += "\n";
  }
  for (const auto& s : servers) text += "nameserver " + s + "\n";
  if (!options.empty()) {
    text += "options";
    for (const auto& o : options) text += " " + o;
    text += "\n";
  }
  return text;
}

}  // namespace berth::network
