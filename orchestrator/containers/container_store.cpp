#include "orchestrator/containers/container_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "orchestrator/containers/observe.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/random.h"

namespace berth::containers {

namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

constexpr std::array k_adjectives = {
    "admiring", "brave",   "calm",     "clever",  "eager", "festive", "focused", "gallant", "happy",
    "jolly",    "keen",    "lucid",    "modest",  "nifty", "quirky",  "relaxed", "serene",  "sharp",
    "stoic",    "vibrant", "wizardly", "zealous", "bold",  "elegant", "frosty"};
constexpr std::array k_names = {"turing",  "hopper",   "lovelace", "ritchie",   "thompson",
                                "knuth",   "dijkstra", "hamilton", "liskov",    "torvalds",
                                "babbage", "shannon",  "kay",      "lamport",   "wirth",
                                "cerf",    "perlman",  "allen",    "goldberg",  "stroustrup",
                                "backus",  "mccarthy", "hoare",    "tanenbaum", "bartik"};

bool valid_name(std::string_view name) {
  auto ok = [](char c, bool first) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || (!first && (c == '_' || c == '.' || c == '-'));
  };
  if (name.empty() || !ok(name[0], true)) return false;
  for (char c : name.substr(1)) {
    if (!ok(c, false)) return false;
  }
  return true;
}

json mount_json(const runtime::MountSpec& mount) {
  static constexpr const char* k_types[] = {"bind", "volume", "tmpfs"};
  json out = {{"type", k_types[static_cast<int>(mount.type)]},
              {"source", mount.source},
              {"target", mount.target},
              {"read_only", mount.read_only},
              {"options", mount.options}};
  if (mount.tmpfs_size) out["tmpfs_size"] = *mount.tmpfs_size;
  if (mount.tmpfs_mode) out["tmpfs_mode"] = *mount.tmpfs_mode;
  if (mount.anonymous) out["anonymous"] = true;
  if (mount.nocopy) out["nocopy"] = true;
  if (!mount.subpath.empty()) out["subpath"] = mount.subpath;
  if (mount.create_host_path) out["create_host_path"] = true;
  return out;
}

runtime::MountSpec mount_from(const json& value) {
  runtime::MountSpec mount;
  const std::string type = value.value("type", "bind");
  mount.type = type == "tmpfs"    ? runtime::MountSpec::Type::tmpfs
               : type == "volume" ? runtime::MountSpec::Type::volume
                                  : runtime::MountSpec::Type::bind;
  mount.source = value.value("source", "");
  mount.target = value.value("target", "");
  mount.read_only = value.value("read_only", false);
  mount.options = value.value("options", std::vector<std::string>{});
  if (value.contains("tmpfs_size")) mount.tmpfs_size = value["tmpfs_size"].get<std::int64_t>();
  if (value.contains("tmpfs_mode")) mount.tmpfs_mode = value["tmpfs_mode"].get<std::uint32_t>();
  mount.anonymous = value.value("anonymous", false);
  mount.nocopy = value.value("nocopy", false);
  mount.subpath = value.value("subpath", "");
  mount.create_host_path = value.value("create_host_path", false);
  return mount;
}

template <typename T>
void put_optional(json& out, const char* key, const std::optional<T>& value) {
  if (value) out[key] = *value;
}

template <typename T>
void get_optional(const json& in, const char* key, std::optional<T>& value) {
  if (in.contains(key) && !in[key].is_null()) value = in[key].get<T>();
}

}  // namespace

json to_json(const runtime::ContainerSpec& spec) {
  json out;
  out["name"] = spec.name;
  out["image"] = spec.image;
  put_optional(out, "entrypoint", spec.entrypoint);
  put_optional(out, "command", spec.command);
  out["env"] = spec.env;
  out["working_dir"] = spec.working_dir;
  out["user"] = spec.user;
  out["group_add"] = spec.group_add;
  out["hostname"] = spec.hostname;
  out["domainname"] = spec.domainname;
  out["labels"] = spec.labels;
  out["tty"] = spec.tty;
  out["interactive"] = spec.interactive;
  out["read_only"] = spec.read_only;
  out["privileged"] = spec.privileged;
  out["init"] = spec.init;
  out["no_new_privileges"] = spec.no_new_privileges;
  out["cap_add"] = spec.cap_add;
  out["cap_drop"] = spec.cap_drop;
  out["security_opt"] = spec.security_opt;
  out["mounts"] = json::array();
  for (const auto& mount : spec.mounts) out["mounts"].push_back(mount_json(mount));
  if (!spec.volumes_from.empty()) out["volumes_from"] = spec.volumes_from;
  out["devices"] = json::array();
  for (const auto& device : spec.devices) {
    out["devices"].push_back({{"host_path", device.host_path},
                              {"container_path", device.container_path},
                              {"permissions", device.permissions}});
  }
  out["sysctls"] = spec.sysctls;
  out["ulimits"] = json::array();
  for (const auto& ulimit : spec.ulimits) {
    out["ulimits"].push_back({{"name", ulimit.name}, {"soft", ulimit.soft}, {"hard", ulimit.hard}});
  }
  put_optional(out, "memory", spec.memory);
  put_optional(out, "memory_swap", spec.memory_swap);
  put_optional(out, "cpus", spec.cpus);
  put_optional(out, "cpu_shares", spec.cpu_shares);
  put_optional(out, "pids_limit", spec.pids_limit);
  put_optional(out, "shm_size", spec.shm_size);
  out["stop_signal"] = spec.stop_signal;
  if (spec.stop_timeout) out["stop_timeout"] = spec.stop_timeout->count();
  out["restart"] = {{"name", static_cast<int>(spec.restart.name)},
                    {"max_retries", spec.restart.max_retries}};
  if (spec.healthcheck) {
    const auto& check = *spec.healthcheck;
    out["healthcheck"] = {{"test", check.test},
                          {"interval", check.interval.count()},
                          {"timeout", check.timeout.count()},
                          {"start_period", check.start_period.count()},
                          {"start_interval", check.start_interval.count()},
                          {"retries", check.retries}};
  }
  out["network"] = spec.network;
  json networks = json::array();
  for (const auto& n : spec.networks) {
    networks.push_back(
        {{"network", n.network}, {"aliases", n.aliases}, {"ipv4_address", n.ipv4_address}});
  }
  out["networks"] = networks;
  out["publish"] = spec.publish;
  out["expose"] = spec.expose;
  out["publish_all"] = spec.publish_all;
  out["dns"] = spec.dns;
  out["dns_search"] = spec.dns_search;
  out["dns_options"] = spec.dns_options;
  out["extra_hosts"] = spec.extra_hosts;
  return out;
}

runtime::ContainerSpec spec_from_json(const json& in) {
  runtime::ContainerSpec spec;
  spec.name = in.value("name", "");
  spec.image = in.value("image", "");
  get_optional(in, "entrypoint", spec.entrypoint);
  get_optional(in, "command", spec.command);
  spec.env = in.value("env", std::vector<std::string>{});
  spec.working_dir = in.value("working_dir", "");
  spec.user = in.value("user", "");
  spec.group_add = in.value("group_add", std::vector<std::string>{});
  spec.hostname = in.value("hostname", "");
  spec.domainname = in.value("domainname", "");
  spec.labels = in.value("labels", std::map<std::string, std::string>{});
  spec.tty = in.value("tty", false);
  spec.interactive = in.value("interactive", false);
  spec.read_only = in.value("read_only", false);
  spec.privileged = in.value("privileged", false);
  spec.init = in.value("init", false);
  spec.no_new_privileges = in.value("no_new_privileges", false);
  spec.cap_add = in.value("cap_add", std::vector<std::string>{});
  spec.cap_drop = in.value("cap_drop", std::vector<std::string>{});
  spec.security_opt = in.value("security_opt", std::vector<std::string>{});
  for (const auto& mount : in.value("mounts", json::array()))
    spec.mounts.push_back(mount_from(mount));
  spec.volumes_from = in.value("volumes_from", std::vector<std::string>{});
  for (const auto& device : in.value("devices", json::array())) {
    spec.devices.push_back({device.value("host_path", ""), device.value("container_path", ""),
                            device.value("permissions", "rwm")});
  }
  spec.sysctls = in.value("sysctls", std::map<std::string, std::string>{});
  for (const auto& ulimit : in.value("ulimits", json::array())) {
    spec.ulimits.push_back({ulimit.value("name", ""), ulimit.value("soft", std::int64_t{0}),
                            ulimit.value("hard", std::int64_t{0})});
  }
  get_optional(in, "memory", spec.memory);
  get_optional(in, "memory_swap", spec.memory_swap);
  get_optional(in, "cpus", spec.cpus);
  get_optional(in, "cpu_shares", spec.cpu_shares);
  get_optional(in, "pids_limit", spec.pids_limit);
  get_optional(in, "shm_size", spec.shm_size);
  spec.stop_signal = in.value("stop_signal", "");
  if (in.contains("stop_timeout"))
    spec.stop_timeout = std::chrono::seconds(in["stop_timeout"].get<long>());
  if (in.contains("restart")) {
    spec.restart.name = static_cast<runtime::RestartPolicy::Name>(in["restart"].value("name", 0));
    spec.restart.max_retries = in["restart"].value("max_retries", 0);
  }
  if (in.contains("healthcheck")) {
    const json& check = in["healthcheck"];
    runtime::Healthcheck healthcheck;
    healthcheck.test = check.value("test", std::vector<std::string>{});
    healthcheck.interval = std::chrono::nanoseconds(check.value("interval", std::int64_t{0}));
    healthcheck.timeout = std::chrono::nanoseconds(check.value("timeout", std::int64_t{0}));
    healthcheck.start_period =
        std::chrono::nanoseconds(check.value("start_period", std::int64_t{0}));
    healthcheck.start_interval =
        std::chrono::nanoseconds(check.value("start_interval", std::int64_t{0}));
    healthcheck.retries = check.value("retries", 3);
    spec.healthcheck = healthcheck;
  }
  spec.network = in.value("network", "none");
  for (const auto& n : in.value("networks", json::array())) {
    spec.networks.push_back({n.value("network", ""), n.value("aliases", std::vector<std::string>{}),
                             n.value("ipv4_address", "")});
  }
  using strings = std::vector<std::string>;
  spec.publish = in.value("publish", strings{});
  spec.expose = in.value("expose", strings{});
  spec.publish_all = in.value("publish_all", false);
  spec.dns = in.value("dns", strings{});
  spec.dns_search = in.value("dns_search", strings{});
  spec.dns_options = in.value("dns_options", strings{});
  spec.extra_hosts = in.value("extra_hosts", strings{});
  return spec;
}

ContainerStore::ContainerStore(std::string root, std::string runroot)
    : m_root(std::move(root)), m_runroot(std::move(runroot)) {}

ContainerPaths ContainerStore::paths(const std::string& id) const {
  return ContainerPaths{m_root + "/containers/" + id, m_runroot + "/containers/" + id};
}

std::string ContainerStore::runtime_root(const std::string& runtime) const {
  return m_runroot + "/" + runtime;
}

std::string ContainerStore::new_id() {
  return random_hex(64);
}

std::string ContainerStore::new_name() const {
  std::random_device device;
  for (int attempt = 0;; ++attempt) {
    std::string name = fmt::format("{}_{}", k_adjectives[device() % k_adjectives.size()],
                                   k_names[device() % k_names.size()]);
    if (attempt > 20) name += std::to_string(device() % 100);  // as Docker, after collisions
    if (!fs::is_file(m_root + "/containers/names/" + name)) return name;
  }
}

void ContainerStore::claim_name(const std::string& name, const std::string& id) const {
  if (!valid_name(name)) {
    throw Error("Invalid container name (" + name +
                "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  }
  const std::string dir = m_root + "/containers/names";
  stdfs::create_directories(dir);
  const std::string path = dir + "/" + name;
  // O_EXCL makes the claim atomic between concurrent berth processes.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) {
      const std::string owner = fs::read_file_if_exists(path).value_or("");
      throw Error("Conflict. The container name \"/" + name +
                  "\" is already in use by container \"" + owner +
                  "\". You have to remove (or rename) that container to be able to reuse that "
                  "name.");
    }
    throw Error(path + ": " + std::strerror(errno));
  }
  const bool written = ::write(fd, id.data(), id.size()) == static_cast<ssize_t>(id.size());
  ::close(fd);
  if (!written) throw Error(path + ": cannot write");
}

void ContainerStore::release_name(const std::string& name) const {
  ::unlink(name_path(name).c_str());
}

std::string cgroups_path(const std::string& id) {
  return "/berth/" + id;
}

std::string ContainerStore::name_path(const std::string& name) const {
  return m_root + "/containers/names/" + name;
}

void ContainerStore::save(const ContainerRecord& record) const {
  const ContainerPaths where = paths(record.id);
  stdfs::create_directories(where.record_dir);
  json out;
  out["id"] = record.id;
  out["name"] = record.name;
  out["created"] = record.created;
  out["image"] = record.image;
  out["image_id"] = record.image_id;
  out["runtime"] = record.runtime;
  out["lower_dirs"] = record.lower_dirs;
  out["auto_remove"] = record.auto_remove;
  out["spec"] = to_json(record.spec);
  out["image_config"] = record.image_config;
  fs::write_file_atomic(where.record(), out.dump());
}

namespace {

ContainerRecord record_from(const std::string& path) {
  const std::string text = fs::read_file(path);
  const json in = json::parse(text, nullptr, false);
  if (in.is_discarded() || !in.is_object()) throw Error(path + ": not a container record");
  ContainerRecord record;
  record.id = in.value("id", "");
  record.name = in.value("name", "");
  record.created = in.value("created", "");
  record.image = in.value("image", "");
  record.image_id = in.value("image_id", "");
  record.runtime = in.value("runtime", "crun");
  record.lower_dirs = in.value("lower_dirs", std::vector<std::string>{});
  record.auto_remove = in.value("auto_remove", false);
  record.spec = spec_from_json(in.value("spec", json::object()));
  record.image_config = in.value("image_config", json::object());
  return record;
}

}  // namespace

std::vector<ContainerRecord> ContainerStore::list() const {
  std::vector<ContainerRecord> records;
  std::error_code ignored;
  for (const auto& entry : stdfs::directory_iterator(m_root + "/containers", ignored)) {
    const std::string record = entry.path().string() + "/container.json";
    if (entry.path().filename() == "names" || !fs::is_file(record)) continue;
    try {
      records.push_back(record_from(record));
    } catch (const Error&) {
      // Removed by another berth between the look and the read: it is simply gone.
      if (fs::is_file(record)) throw;
    }
  }
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.created > b.created; });
  return records;
}

ContainerRecord ContainerStore::find(std::string_view name_or_id) const {
  const std::string wanted(name_or_id);
  if (!wanted.empty() && valid_name(wanted)) {
    if (const auto owner = fs::read_file_if_exists(m_root + "/containers/names/" + wanted)) {
      const std::string record = paths(*owner).record();
      if (fs::is_file(record)) return record_from(record);
    }
  }
  std::optional<ContainerRecord> match;
  const bool hex =
      !wanted.empty() && wanted.find_first_not_of("0123456789abcdef") == std::string::npos;
  // A full id names its record directly, without reading every other one.
  if (hex && wanted.size() == 64 && fs::is_file(paths(wanted).record())) {
    return record_from(paths(wanted).record());
  }
  if (hex) {
    for (auto& record : list()) {
      if (!record.id.starts_with(wanted)) continue;
      if (match) throw Error("multiple containers match \"" + wanted + "\"");
      match = std::move(record);
    }
  }
  if (!match) throw Error("No such container: " + wanted);
  return *match;
}

ContainerStore::LiveState ContainerStore::live_state(const std::string& id) const {
  LiveState live;
  live.state = runtime::read_state(paths(id).state()).value_or(runtime::ContainerState{});
  auto& state = live.state;
  const bool active =
      state.status == "running" || state.status == "restarting" || state.status == "paused";
  if (!active) return live;
  const bool monitor_alive =
      state.monitor_pid > 0 &&
      runtime::same_process_alive(state.monitor_pid, state.monitor_start_time);
  const bool container_alive =
      state.pid > 0 && runtime::same_process_alive(state.pid, state.pid_start_time);
  if (!monitor_alive) {
    live.monitor_lost = true;
    if (!container_alive) {
      // Nobody recorded the end: the container's exit status is lost with its monitor.
      state.status = "exited";
      state.exit_code = 255;
      state.pid = 0;
    }
  }
  // The monitor writes "running" and knows nothing of pauses: the cgroup's freezer does.
  if (state.status == "running" && container_alive && container_frozen(id)) {
    state.status = "paused";
  }
  return live;
}

void ContainerStore::remove_dirs(const std::string& id) const {
  const ContainerPaths where = paths(id);
  std::error_code ignored;
  stdfs::remove_all(where.run_dir, ignored);
  stdfs::remove_all(where.record_dir, ignored);
}

}  // namespace berth::containers
