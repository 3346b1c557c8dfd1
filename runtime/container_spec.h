// What a user asks of one container, from `berth container run` flags or (later) a compose
// service: the input of the OCI spec builder. Docker's semantics throughout.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::runtime {

struct MountSpec {
  enum class Type { bind, volume, tmpfs };
  Type type = Type::bind;
  /// The host path (bind) or the volume's name (volume: its directory is found at each
  /// start); empty for tmpfs.
  std::string source;
  std::string target;  // absolute path in the container
  bool read_only = false;
  std::vector<std::string> options;        // extra mount options ("nosuid", "rprivate", ...)
  std::optional<std::int64_t> tmpfs_size;  // bytes
  std::optional<std::uint32_t> tmpfs_mode;
  /// Volume: made for this container (`-v /path`, the image's VOLUME), so removed with it by
  /// `rm -v` and `--rm`.
  bool anonymous = false;
  bool nocopy = false;  // volume: no copy-up of the image's content
  std::string subpath;  // volume: only this path of it is mounted
  /// Bind: a missing source is made a directory at start (`-v`, compose's short syntax);
  /// otherwise it is an error, as with `--mount`.
  bool create_host_path = false;
};

/// A file berth writes for a container at create and mounts read-only at `target` (the
/// content of a compose secret or config). Its content never enters the container's record;
/// the file is kept beside it, in a directory only root can enter.
struct InjectedFile {
  std::string target;  // absolute path in the container
  std::string content;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint32_t mode = 0444;
};

struct Ulimit {
  std::string name;  // "nofile", "nproc", ... (Docker's names, without RLIMIT_)
  std::int64_t soft = 0;
  std::int64_t hard = 0;
};

struct DeviceSpec {
  std::string host_path;
  std::string container_path;
  std::string permissions = "rwm";
};

struct RestartPolicy {
  enum class Name { no, always, on_failure, unless_stopped };
  Name name = Name::no;
  int max_retries = 0;  // on-failure[:max]; 0 = unlimited
};

struct Healthcheck {
  std::vector<std::string> test;  // ["CMD", ...] or ["CMD-SHELL", "..."]; ["NONE"] disables
  std::chrono::nanoseconds interval{std::chrono::seconds(30)};
  std::chrono::nanoseconds timeout{std::chrono::seconds(30)};
  std::chrono::nanoseconds start_period{0};
  std::chrono::nanoseconds start_interval{std::chrono::seconds(5)};
  int retries = 3;
};

/// One network a container joins (`--network NAME --network-alias A --ip X`).
struct NetworkAttachment {
  std::string network;  // a name or id
  std::vector<std::string> aliases;
  std::string ipv4_address;  // "" for the next free one
};

struct ContainerSpec {
  std::string name;   // unique; generated when the user gives none
  std::string image;  // as typed by the user ("redis:7")

  /// nullopt: the image's. An empty vector: none (`--entrypoint ""`).
  std::optional<std::vector<std::string>> entrypoint;
  /// nullopt: the image's CMD, except that an overridden entrypoint drops the image's CMD
  /// (Docker's rule).
  std::optional<std::vector<std::string>> command;
  std::vector<std::string> env;  // "KEY=VALUE", applied over the image's ENV in order
  std::string working_dir;       // empty: the image's, else "/"
  std::string user;              // "name", "uid", "uid:gid", "name:group"; empty: the image's
  std::vector<std::string> group_add;
  std::string hostname;  // empty: the container id's first 12 hex digits
  std::string domainname;
  std::map<std::string, std::string> labels;

  bool tty = false;
  bool interactive = false;
  bool read_only = false;
  bool privileged = false;
  bool init = false;  // run a real init (catatonit) as PID 1
  bool no_new_privileges = false;
  std::vector<std::string> cap_add;  // "NET_ADMIN" or "CAP_NET_ADMIN"; "ALL"
  std::vector<std::string> cap_drop;
  std::vector<std::string> security_opt;  // "seccomp=unconfined", "no-new-privileges"

  std::vector<MountSpec> mounts;
  /// --volumes-from entries as given ("other[:ro|:rw]"); create copies their mounts into
  /// `mounts`, so this is kept for inspect only.
  std::vector<std::string> volumes_from;
  std::vector<DeviceSpec> devices;
  std::map<std::string, std::string> sysctls;
  std::vector<Ulimit> ulimits;

  std::optional<std::int64_t> memory;       // bytes
  std::optional<std::int64_t> memory_swap;  // bytes, memory + swap; -1 unlimited
  std::optional<double> cpus;
  std::optional<std::int64_t> cpu_shares;
  std::optional<std::int64_t> pids_limit;
  std::optional<std::int64_t> shm_size;  // bytes; default 64 MiB

  std::string stop_signal;                           // empty: the image's, else SIGTERM
  std::optional<std::chrono::seconds> stop_timeout;  // default 10 s
  RestartPolicy restart;
  std::optional<Healthcheck> healthcheck;  // nullopt: the image's

  /// "none", "host", "bridge" (the networks below, or berth's default network "bridge" when
  /// there are none), "container:<id>" (another container's network namespace, joined at
  /// start), or the path of a network namespace to join.
  std::string network = "none";
  std::vector<NetworkAttachment> networks;  // the first one has the default route
  std::vector<std::string> publish;         // `-p` entries (network/ports.h parses them)
  std::vector<std::string> expose;          // --expose, one "80/tcp" per port
  bool publish_all = false;      // -P: every exposed port (the image's too) on a free host port
  std::vector<std::string> dns;  // --dns servers
  std::vector<std::string> dns_search;
  std::vector<std::string> dns_options;
  std::vector<std::string> extra_hosts;  // "name:ip" (--add-host)
};

}  // namespace berth::runtime
