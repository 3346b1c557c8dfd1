#include "cmd/container_flags.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string_view>

#include "network/ports.h"
#include "orchestrator/compose/units.h"
#include "runtime/restart_policy.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/shell_words.h"
#include "util/strings.h"

namespace berth::cmd {

namespace {

std::int64_t bytes_of(const std::string& flag, const std::string& text) {
  const auto bytes = compose::parse_bytes(text);
  if (!bytes || *bytes < 0)
    throw Error("invalid " + flag + " \"" + text + "\": expected a size like 512m");
  return *bytes;
}

std::chrono::nanoseconds duration_of(const std::string& flag, const std::string& text) {
  const auto nanos = compose::parse_duration(text);
  if (!nanos || *nanos < 0)
    throw Error("invalid " + flag + " \"" + text + "\": expected a duration like 30s");
  return std::chrono::nanoseconds(*nanos);
}

/// KEY=VALUE, or KEY alone: the value from berth's own environment (dropped when unset).
void add_env(std::vector<std::string>& env, const std::string& entry) {
  if (entry.empty() || entry.front() == '=')
    throw Error("invalid -e \"" + entry + "\": no variable name");
  if (entry.find('=') != std::string::npos) {
    env.push_back(entry);
  } else if (const char* value = std::getenv(entry.c_str())) {
    env.push_back(entry + "=" + value);
  }
}

/// Docker's --env-file: one KEY=VALUE (or KEY) per line, '#' comments, no quoting.
void add_env_file(std::vector<std::string>& env, const std::string& path) {
  const std::string text = fs::read_file(path);
  std::size_t number = 0;
  for (auto line : split(text, '\n')) {
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    try {
      add_env(env, std::string(line));
    } catch (const Error& e) {
      throw Error(path + ":" + std::to_string(number) + ": " + e.what());
    }
  }
}

/// The mode words of -v that are mount options, as Docker takes them.
bool propagation_word(std::string_view word) {
  return word == "shared" || word == "rshared" || word == "slave" || word == "rslave" ||
         word == "private" || word == "rprivate";
}

}  // namespace

runtime::MountSpec volume_of(const std::string& text, const std::string& cwd) {
  const auto parts = split(text, ':');
  const auto invalid = [&](const std::string& why) {
    return Error("invalid -v \"" + text + "\": " + why);
  };
  if (parts.size() > 3 ||
      std::any_of(parts.begin(), parts.end(), [](std::string_view part) { return part.empty(); })) {
    throw invalid("expected [SOURCE:]TARGET[:OPTIONS]");
  }
  runtime::MountSpec mount;
  mount.type = runtime::MountSpec::Type::volume;
  std::string_view options;
  if (parts.size() == 1) {
    mount.target = std::string(parts[0]);
  } else {
    const std::string source(parts[0]);
    mount.target = std::string(parts[1]);
    if (parts.size() == 3) options = parts[2];
    if (source.front() == '/' || source.front() == '.' || source.front() == '~') {
      mount.type = runtime::MountSpec::Type::bind;
      mount.source = fs::absolute(source, cwd);
      mount.create_host_path = true;
    } else {
      mount.source = source;
    }
  }
  if (!mount.target.starts_with("/")) throw invalid("the target must be an absolute path");
  for (const std::string_view option : split(options, ',')) {
    if (option.empty() || option == "rw" || option == "z" || option == "Z" ||
        option == "consistent" || option == "cached" || option == "delegated") {
      continue;  // SELinux labels and macOS consistency mean nothing here
    }
    if (option == "ro") {
      mount.read_only = true;
    } else if (option == "nocopy" && mount.type == runtime::MountSpec::Type::volume) {
      mount.nocopy = true;
    } else if (propagation_word(option) && mount.type == runtime::MountSpec::Type::bind) {
      mount.options.emplace_back(option);
    } else {
      throw invalid("invalid mode: " + std::string(option));  // Docker's words
    }
  }
  return mount;
}

namespace {

/// --mount type=volume|bind|tmpfs,source=...,target=...,readonly,volume-nocopy,
/// volume-subpath=...,bind-propagation=...,tmpfs-size=...,tmpfs-mode=...
runtime::MountSpec mount_of(const std::string& text, const std::string& cwd) {
  runtime::MountSpec mount;
  std::string type = "volume";
  const auto invalid = [&](const std::string& why) {
    return Error("invalid --mount \"" + text + "\": " + why);
  };
  const auto flag = [](const std::string& value) {
    return value.empty() || value == "true" || value == "1";
  };
  std::vector<std::string> only_for;  // fields that belong to one type: "volume", "bind", ...
  for (auto field : split(text, ',')) {
    const auto equals = field.find('=');
    const std::string key(field.substr(0, equals));
    const std::string value =
        equals == std::string_view::npos ? "" : std::string(field.substr(equals + 1));
    if (key == "type") {
      type = value;
    } else if (key == "source" || key == "src") {
      mount.source = value;
    } else if (key == "target" || key == "destination" || key == "dst") {
      mount.target = value;
    } else if (key == "readonly" || key == "ro") {
      mount.read_only = flag(value);
    } else if (key == "consistency") {
      continue;
    } else if (key == "volume-nocopy") {
      mount.nocopy = flag(value);
      only_for.emplace_back("volume");
    } else if (key == "volume-subpath") {
      mount.subpath = value;
      only_for.emplace_back("volume");
    } else if (key == "bind-propagation") {
      if (!propagation_word(value)) throw invalid("invalid propagation \"" + value + "\"");
      mount.options.push_back(value);
      only_for.emplace_back("bind");
    } else if (key == "bind-nonrecursive") {
      if (flag(value)) mount.options.emplace_back("bind");
      only_for.emplace_back("bind");
    } else if (key == "tmpfs-size") {
      mount.tmpfs_size = bytes_of("--mount tmpfs-size", value);
      only_for.emplace_back("tmpfs");
    } else if (key == "tmpfs-mode") {
      mount.tmpfs_mode = static_cast<std::uint32_t>(std::stoul(value, nullptr, 8));
      only_for.emplace_back("tmpfs");
    } else {
      throw invalid("unknown field \"" + key + "\"");
    }
  }
  for (const auto& owner : only_for) {
    if (owner != type) throw invalid("a " + owner + " option with type=" + type);
  }
  if (mount.target.empty()) throw invalid("target is required");
  if (!mount.target.starts_with("/")) throw invalid("the target must be an absolute path");
  if (type == "bind") {
    if (mount.source.empty()) throw invalid("source is required");
    mount.source = fs::absolute(mount.source, cwd);
  } else if (type == "tmpfs") {
    if (!mount.source.empty()) throw invalid("a tmpfs mount takes no source");
    mount.type = runtime::MountSpec::Type::tmpfs;
  } else if (type == "volume") {
    mount.type = runtime::MountSpec::Type::volume;
  } else {
    throw invalid("type \"" + type + "\" is not one of volume, bind, tmpfs");
  }
  return mount;
}

runtime::MountSpec tmpfs_of(const std::string& text) {
  runtime::MountSpec mount;
  mount.type = runtime::MountSpec::Type::tmpfs;
  const auto colon = text.find(':');
  mount.target = text.substr(0, colon);
  if (colon != std::string::npos) {
    for (auto option : split(std::string_view(text).substr(colon + 1), ',')) {
      if (option.starts_with("size=")) {
        mount.tmpfs_size = bytes_of("--tmpfs size", std::string(option.substr(5)));
      } else if (option.starts_with("mode=")) {
        mount.tmpfs_mode =
            static_cast<std::uint32_t>(std::stoul(std::string(option.substr(5)), nullptr, 8));
      } else if (option == "ro") {
        mount.read_only = true;
      } else {
        mount.options.emplace_back(option);
      }
    }
  }
  return mount;
}

runtime::Ulimit ulimit_of(const std::string& text) {
  const auto equals = text.find('=');
  runtime::Ulimit ulimit;
  try {
    if (equals == std::string::npos) throw std::invalid_argument("");
    ulimit.name = text.substr(0, equals);
    const std::string values = text.substr(equals + 1);
    const auto colon = values.find(':');
    ulimit.soft = std::stoll(values.substr(0, colon));
    ulimit.hard = colon == std::string::npos ? ulimit.soft : std::stoll(values.substr(colon + 1));
  } catch (const std::exception&) {
    throw Error("invalid --ulimit \"" + text + "\": expected name=soft[:hard]");
  }
  return ulimit;
}

constexpr std::string_view k_container_mode = "container:";

/// Docker's refusals for `--network container:X`: the namespace, with its names, addresses
/// and ports, is the other container's.
void check_joined_network(const RunFlags& flags) {
  if (!flags.hostname.empty()) throw Error("conflicting options: hostname and the network mode");
  if (!flags.dns.empty() || !flags.dns_search.empty() || !flags.dns_options.empty()) {
    throw Error("conflicting options: dns and the network mode");
  }
  if (!flags.add_hosts.empty()) {
    throw Error("conflicting options: custom host-to-IP mapping and the network mode");
  }
  if (!flags.mac_address.empty()) {
    throw Error("conflicting options: mac-address and the network mode");
  }
  if (!flags.publish.empty() || flags.publish_all) {
    throw Error("conflicting options: port publishing and the container type network mode");
  }
  if (!flags.expose.empty()) {
    throw Error("conflicting options: port exposing and the container type network mode");
  }
  if (!flags.network_aliases.empty()) {
    throw Error("network-scoped alias is supported only for containers in user defined networks");
  }
  if (!flags.ip.empty()) {
    throw Error("user specified IP address is supported on user defined networks only");
  }
}

}  // namespace

void add_run_flags(CLI::App& command, RunFlags& flags) {
  // Repeatable flags take one value per occurrence (`-e A=1 IMAGE` must not read IMAGE as a
  // second variable): allow_extra_args(false) below.
  command.set_help_flag("--help", "Print this help");  // -h is --hostname, as in Docker
  command.add_option("--name", flags.name, "Container name");
  command.add_option("-e,--env", flags.env, "Environment variable KEY=VALUE (or KEY)")
      ->allow_extra_args(false);
  command.add_option("--env-file", flags.env_files, "File of environment variables")
      ->allow_extra_args(false);
  command.add_option("-p,--publish", flags.publish, "Publish a port [IP:][HOST:]CONTAINER[/udp]")
      ->allow_extra_args(false);
  command.add_option("--expose", flags.expose, "Expose a port or range PORT[-END][/udp]")
      ->allow_extra_args(false);
  command.add_flag("-P,--publish-all", flags.publish_all,
                   "Publish every exposed port on a free host port");
  command
      .add_option("-v,--volume", flags.volumes, "Volume or bind mount [SOURCE:]TARGET[:OPTIONS]")
      ->allow_extra_args(false);
  command.add_option("--mount", flags.mounts, "Mount (type=volume|bind|tmpfs,...)")
      ->allow_extra_args(false);
  command.add_option("--tmpfs", flags.tmpfs, "tmpfs mount PATH[:OPTIONS]")->allow_extra_args(false);
  command.add_option("--volumes-from", flags.volumes_from, "Mount another container's volumes")
      ->allow_extra_args(false);
  command.add_option("-w,--workdir", flags.workdir, "Working directory in the container");
  command.add_option("-u,--user", flags.user, "User (name|uid[:group|gid])");
  command.add_option("--group-add", flags.group_add, "Additional groups")->allow_extra_args(false);
  command.add_option("--entrypoint", flags.entrypoint, "Override the image's entrypoint")
      ->each([&flags](const std::string&) { flags.entrypoint_given = true; });
  command.add_flag("-i,--interactive", flags.interactive, "Keep standard input open");
  command.add_flag("-t,--tty", flags.tty, "Allocate a pseudo-terminal");
  command.add_flag("--rm", flags.auto_remove, "Remove the container when it exits");
  command.add_option("--restart", flags.restart, "no, always, unless-stopped, on-failure[:max]");
  command.add_option("-m,--memory", flags.memory, "Memory limit (512m, 1g)");
  command.add_option("--memory-swap", flags.memory_swap, "Memory plus swap limit; -1 unlimited");
  command.add_option("--cpus", flags.cpus, "Number of CPUs");
  command.add_option("-c,--cpu-shares", flags.cpu_shares, "CPU shares (relative weight)");
  command.add_option("--pids-limit", flags.pids_limit, "Process limit");
  command.add_flag("--init", flags.init, "Run an init as PID 1 that reaps and forwards signals");
  command
      .add_option("--network,--net", flags.networks,
                  "Network to join (none, host, container:NAME, or a name)")
      ->allow_extra_args(false);
  command.add_option("--mac-address", flags.mac_address, "MAC address (not supported yet)");
  command.add_option("--network-alias", flags.network_aliases, "Name in the network's DNS")
      ->allow_extra_args(false);
  command.add_option("--ip", flags.ip, "IPv4 address on the (first) network");
  command.add_option("--dns", flags.dns, "DNS server")->allow_extra_args(false);
  command.add_option("--dns-search", flags.dns_search, "DNS search domain")
      ->allow_extra_args(false);
  command.add_option("--dns-option", flags.dns_options, "DNS option")->allow_extra_args(false);
  command.add_option("--add-host", flags.add_hosts, "Host entry name:ip")->allow_extra_args(false);
  command.add_option("-l,--label", flags.labels, "Label KEY=VALUE")->allow_extra_args(false);
  command.add_option("-h,--hostname", flags.hostname, "Host name in the container");
  command.add_flag("--read-only", flags.read_only, "Read-only root filesystem");
  command.add_flag("--privileged", flags.privileged, "All capabilities, no seccomp");
  command.add_option("--cap-add", flags.cap_add, "Add a capability")->allow_extra_args(false);
  command.add_option("--cap-drop", flags.cap_drop, "Drop a capability")->allow_extra_args(false);
  command.add_option("--security-opt", flags.security_opt, "Security option")
      ->allow_extra_args(false);
  command.add_option("--ulimit", flags.ulimits, "Resource limit name=soft[:hard]")
      ->allow_extra_args(false);
  command.add_option("--sysctl", flags.sysctls, "Namespaced kernel parameter KEY=VALUE")
      ->allow_extra_args(false);
  command.add_option("--shm-size", flags.shm_size, "Size of /dev/shm");
  command.add_option("--stop-signal", flags.stop_signal, "Signal that stops the container");
  command.add_option("--stop-timeout", flags.stop_timeout, "Seconds to wait before SIGKILL");
  command.add_option("--device", flags.devices, "Host device HOST[:CONTAINER[:PERMISSIONS]]")
      ->allow_extra_args(false);
  command.add_option("--health-cmd", flags.health_cmd, "Command that checks health");
  command.add_option("--health-interval", flags.health_interval, "Time between checks");
  command.add_option("--health-timeout", flags.health_timeout, "Time a check may take");
  command.add_option("--health-start-period", flags.health_start_period, "Grace period at start");
  command.add_option("--health-retries", flags.health_retries, "Failures before unhealthy");
  command.add_flag("--no-healthcheck", flags.no_healthcheck, "Disable the image's healthcheck");
  command.add_option("--runtime", flags.runtime, "OCI runtime: crun or runc")
      ->envname("BERTH_RUNTIME");
  // IMAGE [COMMAND...]: everything from the image on belongs to the container, flags
  // included, so they are not declared as positionals (CLI11 would keep parsing options
  // between them); take_positionals() reads them from what the parser left.
  // (Global flags must then come before the command name: fallthrough would let the parent
  // claim the image as one of its own unknown arguments.)
  command.fallthrough(false);
  command.prefix_command();
}

void take_positionals(const CLI::App& command, RunFlags& flags) {
  const std::vector<std::string> rest = command.remaining();
  if (rest.empty()) throw Error(command.get_name() + " requires an image");
  flags.image = rest.front();
  flags.command.assign(rest.begin() + 1, rest.end());
}

runtime::ContainerSpec to_spec(const RunFlags& flags, const std::string& working_directory) {
  runtime::ContainerSpec spec;
  spec.name = flags.name;
  spec.image = flags.image;
  if (!flags.command.empty()) spec.command = flags.command;
  if (flags.entrypoint_given) {
    spec.entrypoint = flags.entrypoint.empty() ? std::vector<std::string>{}
                                               : std::vector<std::string>{flags.entrypoint};
  }
  for (const auto& file : flags.env_files) add_env_file(spec.env, file);
  for (const auto& entry : flags.env) add_env(spec.env, entry);
  spec.publish = flags.publish;
  for (const auto& entry : flags.expose) {
    for (const auto& port : network::parse_exposed_ports(entry)) {
      const std::string key = network::port_and_protocol(port);
      if (std::find(spec.expose.begin(), spec.expose.end(), key) == spec.expose.end()) {
        spec.expose.push_back(key);
      }
    }
  }
  spec.publish_all = flags.publish_all;
  for (const auto& volume : flags.volumes)
    spec.mounts.push_back(volume_of(volume, working_directory));
  for (const auto& mount : flags.mounts) spec.mounts.push_back(mount_of(mount, working_directory));
  for (const auto& tmpfs : flags.tmpfs) spec.mounts.push_back(tmpfs_of(tmpfs));
  spec.volumes_from = flags.volumes_from;
  spec.working_dir = flags.workdir;
  spec.user = flags.user;
  spec.group_add = flags.group_add;
  spec.interactive = flags.interactive;
  spec.tty = flags.tty;
  try {
    spec.restart = runtime::restart_policy_of(flags.restart);
  } catch (const Error& e) {
    wrap(e, "--restart");
  }
  if (flags.auto_remove && spec.restart.name != runtime::RestartPolicy::Name::no) {
    throw Error("conflicting options: --restart and --rm");
  }
  if (!flags.memory.empty()) spec.memory = bytes_of("--memory", flags.memory);
  if (!flags.memory_swap.empty()) {
    spec.memory_swap =
        flags.memory_swap == "-1" ? -1 : bytes_of("--memory-swap", flags.memory_swap);
  }
  if (flags.cpus < 0) throw Error("invalid --cpus: must be positive");
  if (flags.cpus > 0) spec.cpus = flags.cpus;
  if (flags.cpu_shares > 0) spec.cpu_shares = flags.cpu_shares;
  if (flags.pids_limit != 0) spec.pids_limit = flags.pids_limit;
  spec.init = flags.init;
  spec.network = "bridge";
  for (const auto& network : flags.networks) {
    const bool joins_container = network.starts_with(k_container_mode);
    if (network == "none" || network == "host" || joins_container) {
      if (flags.networks.size() > 1) {
        throw Error("--network " + network + " cannot be combined with other networks");
      }
      if (joins_container && network.size() == k_container_mode.size()) {
        throw Error("invalid network mode: invalid container format container:<name|id>");
      }
      spec.network = network;
    } else {
      spec.networks.push_back({network, {}, {}});
    }
  }
  if (spec.network.starts_with(k_container_mode)) check_joined_network(flags);
  if (!flags.mac_address.empty()) {
    if (spec.network == "host")
      throw Error("conflicting options: mac-address and the network mode");
    throw Error(
        "--mac-address is not supported yet: berth derives an interface's MAC address "
        "from its IP address");
  }
  if (!flags.network_aliases.empty() || !flags.ip.empty()) {
    if (spec.networks.empty()) {
      throw Error("--network-alias and --ip need a user-defined network (--network NAME)");
    }
    spec.networks.front().aliases = flags.network_aliases;
    spec.networks.front().ipv4_address = flags.ip;
  }
  spec.dns = flags.dns;
  spec.dns_search = flags.dns_search;
  spec.dns_options = flags.dns_options;
  spec.extra_hosts = flags.add_hosts;
  for (const auto& label : flags.labels) {
    const auto equals = label.find('=');
    spec.labels[label.substr(0, equals)] =
        equals == std::string::npos ? "" : label.substr(equals + 1);
  }
  spec.hostname = flags.hostname;
  spec.read_only = flags.read_only;
  spec.privileged = flags.privileged;
  spec.cap_add = flags.cap_add;
  spec.cap_drop = flags.cap_drop;
  spec.security_opt = flags.security_opt;
  for (const auto& option : flags.security_opt) {
    if (option == "no-new-privileges" || option == "no-new-privileges:true")
      spec.no_new_privileges = true;
  }
  for (const auto& ulimit : flags.ulimits) spec.ulimits.push_back(ulimit_of(ulimit));
  for (const auto& sysctl : flags.sysctls) {
    const auto equals = sysctl.find('=');
    if (equals == std::string::npos || equals == 0)
      throw Error("invalid --sysctl \"" + sysctl + "\": expected KEY=VALUE");
    spec.sysctls[sysctl.substr(0, equals)] = sysctl.substr(equals + 1);
  }
  if (!flags.shm_size.empty()) spec.shm_size = bytes_of("--shm-size", flags.shm_size);
  spec.stop_signal = flags.stop_signal;
  if (flags.stop_timeout >= 0) spec.stop_timeout = std::chrono::seconds(flags.stop_timeout);
  for (const auto& device : flags.devices) {
    const auto parts = split(device, ':');
    runtime::DeviceSpec spec_device;
    spec_device.host_path = std::string(parts[0]);
    spec_device.container_path = parts.size() > 1 ? std::string(parts[1]) : spec_device.host_path;
    if (parts.size() > 2) spec_device.permissions = std::string(parts[2]);
    spec.devices.push_back(spec_device);
  }
  if (flags.no_healthcheck) {
    spec.healthcheck = runtime::Healthcheck{};
    spec.healthcheck->test = {"NONE"};
  } else if (!flags.health_cmd.empty()) {
    runtime::Healthcheck check;
    check.test = {"CMD-SHELL", flags.health_cmd};
    if (!flags.health_interval.empty())
      check.interval = duration_of("--health-interval", flags.health_interval);
    if (!flags.health_timeout.empty())
      check.timeout = duration_of("--health-timeout", flags.health_timeout);
    if (!flags.health_start_period.empty()) {
      check.start_period = duration_of("--health-start-period", flags.health_start_period);
    }
    if (flags.health_retries > 0) check.retries = flags.health_retries;
    spec.healthcheck = check;
  }
  return spec;
}

}  // namespace berth::cmd
