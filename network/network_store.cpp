#include "network/network_store.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "network/dns_config.h"
#include "network/netlink.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/failpoint.h"
#include "util/file_lock.h"
#include "util/fs.h"
#include "util/process.h"
#include "util/random.h"
#include "util/sha256.h"

extern char** environ;

namespace berth::network {

namespace stdfs = std::filesystem;
using json = nlohmann::json;

namespace {

/// Held while a subnet is chosen and its bridge made: a bridge's connected route is what
/// tells the next chooser, whatever berth root it uses, that the subnet is taken. The lock is
/// on the directory of named namespaces, which every berth on the host shares and which
/// outlives no berth state of its own.
FileLock host_network_lock() {
  stdfs::create_directories("/run/netns");
  return FileLock("/run/netns");
}

/// Containers reach anything beyond their bridge (another container through a published
/// port, the outside) only when the host routes between interfaces, as every container
/// engine makes it do; it stays on afterwards, since other engines' networks rely on it too.
void enable_ip_forwarding() {
  const std::string path = "/proc/sys/net/ipv4/ip_forward";
  if (fs::read_file_if_exists(path).value_or("1").starts_with('1')) return;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::write(fd, "1\n", 2) != 2) {
    const std::string message =
        fmt::format("enable IPv4 forwarding ({}): {}", path, std::strerror(errno));
    if (fd >= 0) ::close(fd);
    throw Error(message);
  }
  ::close(fd);
}

bool valid_network_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (!(alnum || (i > 0 && (c == '_' || c == '.' || c == '-')))) return false;
  }
  return true;
}

/// "02:42:" and the four bytes of an address: Docker's scheme, unique within a subnet.
std::string mac_for(std::uint32_t ip) {
  return fmt::format("02:42:{:02x}:{:02x}:{:02x}:{:02x}", (ip >> 24) & 0xff, (ip >> 16) & 0xff,
                     (ip >> 8) & 0xff, ip & 0xff);
}

json connection_to_json(const Connection& c) {
  return {{"network_id", c.network_id}, {"ifname", c.ifname}, {"host_ifname", c.host_ifname},
          {"address", c.address},       {"mac", c.mac},       {"names", c.names}};
}

Connection connection_from_json(const json& value) {
  Connection c;
  c.network_id = value.at("network_id").get<std::string>();
  c.ifname = value.at("ifname").get<std::string>();
  c.host_ifname = value.at("host_ifname").get<std::string>();
  c.address = value.at("address").get<std::string>();
  c.mac = value.value("mac", "");
  c.names = value.value("names", std::vector<std::string>{});
  return c;
}

/// The nameservers of the host's /etc/resolv.conf.
std::vector<std::string> host_resolvers() {
  std::vector<std::string> servers;
  const std::string text = fs::read_file_if_exists("/etc/resolv.conf").value_or("");
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = std::string_view(text).substr(start, end - start);
    start = end + 1;
    constexpr std::string_view keyword = "nameserver";
    if (!line.starts_with(keyword)) continue;
    std::string_view rest = line.substr(keyword.size());
    const auto begin = rest.find_first_not_of(" \t");
    if (begin == std::string_view::npos) continue;
    rest = rest.substr(begin);
    const std::string server(rest.substr(0, rest.find_first_of(" \t#;")));
    // IPv4 only: berth-dns forwards over IPv4.
    try {
      parse_ip(server);
      servers.push_back(server);
    } catch (const Error&) {
    }
  }
  return servers;
}

}  // namespace

json to_json(const NetworkRecord& r) {
  return {{"id", r.id},           {"name", r.name},
          {"created", r.created}, {"subnet", r.subnet},
          {"gateway", r.gateway}, {"ip_range", r.ip_range},
          {"bridge", r.bridge},   {"internal", r.internal},
          {"dns", r.dns},         {"fixed_subnet", r.fixed_subnet},
          {"labels", r.labels}};
}

NetworkRecord network_record_from_json(const json& value) {
  NetworkRecord r;
  r.id = value.at("id").get<std::string>();
  r.name = value.at("name").get<std::string>();
  r.created = value.value("created", "");
  r.subnet = value.value("subnet", "");
  r.gateway = value.value("gateway", "");
  r.ip_range = value.value("ip_range", "");
  r.bridge = value.at("bridge").get<std::string>();
  r.internal = value.value("internal", false);
  r.dns = value.value("dns", true);
  r.fixed_subnet = value.value("fixed_subnet", false);
  r.labels = value.value("labels", std::map<std::string, std::string>{});
  return r;
}

std::string bridge_name(const std::string& network_id) {
  return "berth" + network_id.substr(0, 10);
}

std::string host_ifname(const std::string& container_id, const std::string& network_id) {
  return "bv" + sha256_hex(container_id + "/" + network_id).substr(0, 13);
}

NetworkStore::NetworkStore(NetworkOptions options) : m_options(std::move(options)) {}

std::string NetworkStore::network_dir(const std::string& id) const {
  return m_options.root + "/networks/" + id;
}

std::string NetworkStore::run_dir(const std::string& id) const {
  return m_options.runroot + "/networks/" + id;
}

std::vector<NetworkRecord> NetworkStore::list() const {
  std::vector<NetworkRecord> records;
  std::error_code error;
  for (stdfs::directory_iterator it(m_options.root + "/networks", error), end; !error && it != end;
       it.increment(error)) {
    const std::string path = it->path().string() + "/network.json";
    const auto text = fs::read_file_if_exists(path);
    if (!text) continue;  // "names", or a network half made or half removed
    try {
      records.push_back(network_record_from_json(json::parse(*text)));
    } catch (const json::exception& e) {
      throw Error(fmt::format("{}: {}", path, e.what()));
    }
  }
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return records;
}

std::optional<NetworkRecord> NetworkStore::find_if_exists(std::string_view name_or_id) const {
  if (name_or_id.empty()) return std::nullopt;
  const auto records = list();
  for (const auto& r : records) {
    if (r.name == name_or_id || r.id == name_or_id) return r;
  }
  std::optional<NetworkRecord> match;
  for (const auto& r : records) {
    if (r.id.starts_with(name_or_id)) {
      if (match) throw Error(fmt::format("network {} is ambiguous", name_or_id));
      match = r;
    }
  }
  return match;
}

NetworkRecord NetworkStore::find(std::string_view name_or_id) const {
  auto found = find_if_exists(name_or_id);
  if (!found) throw Error(fmt::format("network {} not found", name_or_id));
  return *found;
}

bool NetworkStore::stale_name_claim(const std::string& name_path) const {
  // A create writes the record right after claiming the name; a claim still without its
  // record after half a minute is a killed create's.
  const std::string id = fs::read_file_if_exists(name_path).value_or("");
  if (!id.empty() && fs::is_file(network_dir(id) + "/network.json")) return false;
  std::error_code error;
  const auto written = stdfs::last_write_time(name_path, error);
  return !error && stdfs::file_time_type::clock::now() - written > std::chrono::seconds(30);
}

NetworkRecord NetworkStore::create(const NetworkSpec& spec) {
  if (!valid_network_name(spec.name)) {
    throw Error(fmt::format(
        "invalid network name \"{}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", spec.name));
  }
  NetworkRecord record;
  record.id = random_hex(64);
  record.name = spec.name;
  record.created = now_rfc3339();
  record.internal = spec.internal;
  record.dns = spec.dns;
  record.labels = spec.labels;
  record.bridge = bridge_name(record.id);
  if (!spec.subnet.empty()) {
    const Cidr subnet = Cidr::parse(spec.subnet);
    const std::uint32_t gateway =
        spec.gateway.empty() ? subnet.first() + 1 : parse_ip(spec.gateway);
    if (!subnet.contains(gateway) || gateway == subnet.first() || gateway == subnet.last()) {
      throw Error(fmt::format("network {}: gateway {} is not a host address in {}", spec.name,
                              format_ip(gateway), subnet.str()));
    }
    record.subnet = subnet.str();
    record.gateway = format_ip(gateway);
    record.fixed_subnet = true;
  } else if (!spec.gateway.empty() || !spec.ip_range.empty()) {
    throw Error(fmt::format("network {}: a gateway or ip_range needs a subnet", spec.name));
  }
  if (!spec.ip_range.empty()) {
    const Cidr range = Cidr::parse(spec.ip_range);
    const Cidr subnet = Cidr::parse(record.subnet);
    if (!subnet.contains(range.first()) || !subnet.contains(range.last())) {
      throw Error(fmt::format("network {}: ip_range {} is not inside subnet {}", spec.name,
                              range.str(), subnet.str()));
    }
    record.ip_range = range.str();
  }

  // The name is claimed with O_EXCL: of two concurrent creates, one wins.
  const std::string names_dir = m_options.root + "/networks/names";
  stdfs::create_directories(names_dir);
  const std::string name_path = names_dir + "/" + spec.name;
  int name_fd = ::open(name_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (name_fd < 0 && errno == EEXIST && stale_name_claim(name_path)) {
    ::unlink(name_path.c_str());
    name_fd = ::open(name_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  }
  if (name_fd < 0) {
    if (errno == EEXIST) throw Error(fmt::format("network with name {} already exists", spec.name));
    throw Error(fmt::format("{}: {}", name_path, std::strerror(errno)));
  }
  failpoint("network-name-claimed");
  const bool named = ::write(name_fd, record.id.data(), record.id.size()) ==
                     static_cast<ssize_t>(record.id.size());
  ::close(name_fd);
  try {
    if (!named) throw Error(name_path + ": cannot write");
    stdfs::create_directories(network_dir(record.id));
    fs::write_file_atomic(network_dir(record.id) + "/network.json", to_json(record).dump(2));
  } catch (...) {
    std::error_code ignored;
    stdfs::remove_all(network_dir(record.id), ignored);
    ::unlink(name_path.c_str());
    throw;
  }
  return record;
}

std::map<std::string, Connection> NetworkStore::connections(const NetworkRecord& record) const {
  std::map<std::string, Connection> result;
  std::error_code error;
  for (stdfs::directory_iterator it(network_dir(record.id) + "/endpoints", error), end;
       !error && it != end; it.increment(error)) {
    const std::string path = it->path().string();
    if (!path.ends_with(".json")) continue;
    const auto text = fs::read_file_if_exists(path);
    if (!text) continue;
    try {
      result.emplace(it->path().stem().string(), connection_from_json(json::parse(*text)));
    } catch (const json::exception& e) {
      throw Error(fmt::format("{}: {}", path, e.what()));
    }
  }
  return result;
}

bool NetworkStore::active(const NetworkRecord& record) const {
  return fs::is_file(run_dir(record.id) + "/active.json");
}

NetworkRecord NetworkStore::current(const NetworkRecord& record) const {
  const std::string path = run_dir(record.id) + "/active.json";
  const auto text = fs::read_file_if_exists(path);
  if (!text) return record;
  try {
    return network_record_from_json(json::parse(*text));
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
}

void NetworkStore::remove(const NetworkRecord& record) {
  {
    const FileLock lock(network_dir(record.id) + "/network.lock");
    if (!connections(record).empty()) {
      throw Error(fmt::format("error while removing network: network {} id {} has active endpoints",
                              record.name, record.id));
    }
    deactivate(record);  // nothing to do unless a killed berth left it active
  }
  std::error_code ignored;
  stdfs::remove_all(network_dir(record.id), ignored);
  stdfs::remove_all(run_dir(record.id), ignored);
  const std::string name_path = m_options.root + "/networks/names/" + record.name;
  if (fs::read_file_if_exists(name_path).value_or("") == record.id) ::unlink(name_path.c_str());
}

NetworkRecord NetworkStore::activate(const NetworkRecord& record) {
  if (active(record) && link_exists(record.bridge)) return current(record);
  NetworkRecord live = record;
  bool bridge_made = false;
  bool rules_made = false;
  try {
    {
      const FileLock lock = host_network_lock();
      const std::vector<Cidr> taken = host_claims();
      if (live.fixed_subnet) {
        const Cidr subnet = Cidr::parse(live.subnet);
        for (const auto& claim : taken) {
          if (claim.prefix > 0 && claim.overlaps(subnet)) {
            throw Error(
                fmt::format("network {}: subnet {} overlaps {}, already in use on this host",
                            live.name, subnet.str(), claim.str()));
          }
        }
      } else {
        const auto chosen = choose_subnet(default_pool(), taken);
        if (!chosen) {
          throw Error(fmt::format(
              "network {}: berth's address pool is exhausted on this host; remove unused "
              "networks or give this one a subnet",
              live.name));
        }
        live.subnet = chosen->str();
        live.gateway = format_ip(chosen->first() + 1);
      }
      const Cidr subnet = Cidr::parse(live.subnet);
      delete_link(live.bridge);  // one a killed berth left
      create_bridge(Bridge{live.bridge, fmt::format("{}/{}", live.gateway, subnet.prefix),
                           mac_for(parse_ip(live.gateway))});
      bridge_made = true;
      failpoint("bridge-created");
    }
    enable_ip_forwarding();
    ensure_chains();
    rules_made = true;
    remove_owner(live.id);  // rules a killed berth left
    apply(network_batch(NetworkRules{live.id, live.bridge, live.subnet, live.internal}, true));
    failpoint("network-rules-applied");
    stdfs::create_directories(run_dir(live.id));
    fs::write_file_atomic(run_dir(live.id) + "/active.json", to_json(live).dump());
    // A fresh activation starts without leases (a killed berth may have left some).
    std::error_code ignored;
    stdfs::remove(network_dir(live.id) + "/leases.json", ignored);
    if (live.dns) {
      write_dns_config(live);
      if (!m_options.dns_program.empty()) start_dns(live);
      failpoint("dns-started");
    }
  } catch (...) {
    try {
      stop_dns(live);
      if (rules_made) remove_owner(live.id);
      if (bridge_made) delete_link(live.bridge);
    } catch (const std::exception&) {
    }
    ::unlink((run_dir(live.id) + "/active.json").c_str());
    throw;
  }
  return live;
}

void NetworkStore::deactivate(const NetworkRecord& record) {
  stop_dns(record);
  remove_owner(record.id);
  delete_link(record.bridge);
  remove_chains_if_unused();
  ::unlink((run_dir(record.id) + "/active.json").c_str());
  ::unlink((network_dir(record.id) + "/leases.json").c_str());
}

std::pair<Connection, NetworkRecord> NetworkStore::connect(
    const NetworkRecord& record, const std::string& container_id, const std::string& netns,
    const std::string& ifname, bool gateway_route, const std::vector<std::string>& names,
    std::optional<std::string> requested_address) {
  auto made =
      connect_locked(record, container_id, netns, ifname, gateway_route, names, requested_address);
  // Outside this network's lock: a network's lock is never held while taking another's.
  refresh_neighbours(record, container_id);
  return made;
}

std::pair<Connection, NetworkRecord> NetworkStore::connect_locked(
    const NetworkRecord& record, const std::string& container_id, const std::string& netns,
    const std::string& ifname, bool gateway_route, const std::vector<std::string>& names,
    std::optional<std::string> requested_address) {
  const std::string dir = network_dir(record.id);
  stdfs::create_directories(dir + "/endpoints");
  const FileLock lock(dir + "/network.lock");
  if (requested_address && !record.fixed_subnet) {
    throw Error(fmt::format(
        "user specified IP address is supported only when connecting to networks with user "
        "configured subnets (network {})",
        record.name));
  }
  const NetworkRecord live = activate(record);
  const Cidr subnet = Cidr::parse(live.subnet);
  std::optional<Cidr> range;
  if (!live.ip_range.empty()) range = Cidr::parse(live.ip_range);
  AddressBook book(dir, subnet, parse_ip(live.gateway), range);
  std::optional<std::uint32_t> requested;
  if (requested_address) requested = parse_ip(*requested_address);

  Connection connection;
  connection.network_id = live.id;
  connection.ifname = ifname;
  connection.host_ifname = host_ifname(container_id, live.id);
  try {
    const std::uint32_t ip = book.lease(container_id, requested);
    connection.address = format_ip(ip);
    connection.mac = mac_for(ip);
    for (const auto& name : names) {
      if (!name.empty()) connection.names.push_back(name);
    }
    delete_link(connection.host_ifname);  // one a killed berth left
    attach_endpoint(Endpoint{netns, live.bridge, connection.host_ifname, ifname,
                             fmt::format("{}/{}", connection.address, subnet.prefix),
                             connection.mac, gateway_route ? live.gateway : ""});
    failpoint("endpoint-attached");
    fs::write_file_atomic(dir + "/endpoints/" + container_id + ".json",
                          connection_to_json(connection).dump());
    if (live.dns) {
      write_dns_config(live);
      // Again, should the responder have died since.
      if (!m_options.dns_program.empty()) start_dns(live);
    }
  } catch (...) {
    try {
      delete_link(connection.host_ifname);
      ::unlink((dir + "/endpoints/" + container_id + ".json").c_str());
      book.release(container_id);
      if (connections(record).empty()) deactivate(live);
    } catch (const std::exception&) {
    }
    throw;
  }
  return {connection, live};
}

void NetworkStore::disconnect(const NetworkRecord& record, const std::string& container_id,
                              bool namespace_deleted) {
  disconnect_locked(record, container_id, namespace_deleted);
  refresh_neighbours(record, container_id);
}

void NetworkStore::disconnect_locked(const NetworkRecord& record, const std::string& container_id,
                                     bool namespace_deleted) {
  const std::string dir = network_dir(record.id);
  if (!fs::is_directory(dir)) return;
  const FileLock lock(dir + "/network.lock");
  const auto before = connections(record);
  const bool connected = before.contains(container_id);
  // Without its endpoint file too: a berth killed between the veth and that file left the
  // lease and the host end under these names.
  if (!namespace_deleted) delete_link(host_ifname(container_id, record.id));
  ::unlink((dir + "/endpoints/" + container_id + ".json").c_str());
  if (!active(record)) return;
  if (before.size() == (connected ? 1U : 0U)) {
    deactivate(record);
    return;
  }
  const NetworkRecord live = current(record);
  std::optional<Cidr> range;
  if (!live.ip_range.empty()) range = Cidr::parse(live.ip_range);
  AddressBook(dir, Cidr::parse(live.subnet), parse_ip(live.gateway), range).release(container_id);
  if (live.dns && connected) write_dns_config(live);
}

void NetworkStore::deactivate_if_unused(const NetworkRecord& record) {
  const std::string dir = network_dir(record.id);
  if (!fs::is_directory(dir)) return;
  const FileLock lock(dir + "/network.lock");
  if (!connections(record).empty()) return;
  // A berth killed while activating may have made the bridge but not yet active.json.
  if (active(record) || link_exists(record.bridge) ||
      fs::is_file(run_dir(record.id) + "/dns.pid")) {
    deactivate(record);
  }
}

std::vector<std::string> NetworkStore::upstreams() const {
  return m_options.dns_upstreams.empty() ? host_resolvers() : m_options.dns_upstreams;
}

namespace {

/// Adds each of `connection`'s names with its address to `names` (lowercased, no duplicate).
void add_names(std::map<std::string, std::vector<std::string>>& names,
               const Connection& connection) {
  for (const auto& name : connection.names) {
    std::string key = name;
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto& addresses = names[key];
    if (std::find(addresses.begin(), addresses.end(), connection.address) == addresses.end()) {
      addresses.push_back(connection.address);
    }
  }
}

}  // namespace

void NetworkStore::write_dns_config(const NetworkRecord& record) const {
  // Callers hold the network's lock: two containers joining at once both end up in the file.
  DnsConfig config;
  config.listen = record.gateway;
  config.upstreams = upstreams();
  const auto own = connections(record);
  for (const auto& [id, connection] : own) add_names(config.names, connection);
  // A container that is on other networks too asks this responder only (its first network's
  // is in its resolv.conf, and this one may be it): it sees those networks' names as well,
  // through a view that lists its address here. The other networks' files are read without
  // their locks: each is replaced atomically, and a change there refreshes this file after.
  for (const auto& other : list()) {
    if (other.id == record.id || !other.dns) continue;
    const auto theirs = connections(other);
    DnsView view;
    for (const auto& [id, connection] : own) {
      if (theirs.contains(id)) view.clients.push_back(connection.address);
    }
    if (view.clients.empty()) continue;
    for (const auto& [id, connection] : theirs) add_names(view.names, connection);
    config.views.push_back(std::move(view));
  }
  stdfs::create_directories(run_dir(record.id));
  fs::write_file_atomic(run_dir(record.id) + "/dns.json", to_json(config).dump());
}

void NetworkStore::refresh_neighbours(const NetworkRecord& changed,
                                      const std::string& container_id) const {
  if (!changed.dns) return;
  std::set<std::string> members;
  for (const auto& [id, connection] : connections(changed)) members.insert(id);
  members.insert(container_id);
  for (const auto& other : list()) {
    if (other.id == changed.id || !other.dns || !active(other)) continue;
    const auto theirs = connections(other);
    if (std::none_of(theirs.begin(), theirs.end(),
                     [&](const auto& entry) { return members.contains(entry.first); })) {
      continue;
    }
    const FileLock lock(network_dir(other.id) + "/network.lock");
    if (active(other)) write_dns_config(current(other));
  }
}

void NetworkStore::start_dns(const NetworkRecord& record) const {
  const std::string dir = run_dir(record.id);
  const std::string pid_path = dir + "/dns.pid";
  if (const auto text = fs::read_file_if_exists(pid_path)) {
    int pid = 0;
    unsigned long long start = 0;
    if (std::sscanf(text->c_str(), "%d %llu", &pid, &start) == 2 &&
        same_process_alive(pid, start)) {
      return;
    }
  }
  if (!fs::is_file(dir + "/dns.json")) write_dns_config(record);

  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) throw Error(fmt::format("pipe: {}", std::strerror(errno)));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, ready[1], 3);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  std::string program = m_options.dns_program;
  std::string config = dir + "/dns.json";
  std::string ready_flag = "--ready-fd";
  std::string ready_fd = "3";
  char* argv[] = {program.data(), config.data(), ready_flag.data(), ready_fd.data(), nullptr};
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, program.c_str(), &actions, &attributes, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(ready[1]);
  if (spawned != 0) {
    ::close(ready[0]);
    throw Error(fmt::format("network {}: cannot start {}: {}", record.name, program,
                            std::strerror(spawned)));
  }
  std::string verdict;
  char buffer[256];
  for (ssize_t n; (n = ::read(ready[0], buffer, sizeof buffer)) > 0;) {
    verdict.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(ready[0]);
  while (!verdict.empty() && verdict.back() == '\n') verdict.pop_back();
  if (verdict != "ok") {
    ::kill(pid, SIGTERM);
    throw Error(fmt::format(
        "network {}: DNS responder on {}: {}", record.name, record.gateway,
        verdict.starts_with("error: ") ? verdict.substr(7) : "exited before it was ready"));
  }
  fs::write_file_atomic(pid_path, fmt::format("{} {}\n", pid, process_start_time(pid).value_or(0)));
}

void NetworkStore::stop_dns(const NetworkRecord& record) const {
  const std::string dir = run_dir(record.id);
  // The responder exits once its config is gone; a signal makes sure of it.
  ::unlink((dir + "/dns.json").c_str());
  const auto text = fs::read_file_if_exists(dir + "/dns.pid");
  int pid = 0;
  unsigned long long start = 0;
  if (text && std::sscanf(text->c_str(), "%d %llu", &pid, &start) == 2) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (same_process_alive(pid, start) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (same_process_alive(pid, start)) ::kill(pid, SIGKILL);
  }
  ::unlink((dir + "/dns.pid").c_str());
}

}  // namespace berth::network
