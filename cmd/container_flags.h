// `berth container run/create` flags, as Docker spells them, turned into a ContainerSpec.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "runtime/container_spec.h"

namespace berth::cmd {

/// The flags as typed; to_spec() checks and converts them.
struct RunFlags {
  std::string name;
  std::vector<std::string> env;
  std::vector<std::string> env_files;
  std::vector<std::string> publish;
  std::vector<std::string> expose;
  bool publish_all = false;
  std::vector<std::string> volumes;
  std::vector<std::string> mounts;
  std::vector<std::string> tmpfs;
  std::vector<std::string> volumes_from;
  std::string workdir;
  std::string user;
  std::vector<std::string> group_add;
  std::string entrypoint;
  bool entrypoint_given = false;
  bool interactive = false;
  bool tty = false;
  bool detach = false;
  bool auto_remove = false;
  std::string restart = "no";
  std::string memory;
  std::string memory_swap;
  double cpus = 0;
  std::int64_t cpu_shares = 0;
  std::int64_t pids_limit = 0;
  bool init = false;
  std::vector<std::string> networks;  // --network, repeatable; none: berth's default network
  std::string mac_address;
  std::vector<std::string> network_aliases;
  std::string ip;
  std::vector<std::string> dns;
  std::vector<std::string> dns_search;
  std::vector<std::string> dns_options;
  std::vector<std::string> add_hosts;
  std::vector<std::string> labels;
  std::string hostname;
  bool read_only = false;
  bool privileged = false;
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  std::vector<std::string> security_opt;
  std::vector<std::string> ulimits;
  std::vector<std::string> sysctls;
  std::string shm_size;
  std::string stop_signal;
  int stop_timeout = -1;
  std::vector<std::string> devices;
  std::string health_cmd;
  std::string health_interval;
  std::string health_timeout;
  std::string health_start_period;
  int health_retries = 0;
  bool no_healthcheck = false;
  std::string runtime = "crun";
  std::string image;
  std::vector<std::string> command;
};

/// Registers the flags of `run` and `create` on `command`.
void add_run_flags(CLI::App& command, RunFlags& flags);
/// Fills the image and command from what the parser of `command` left (IMAGE [COMMAND...]).
void take_positionals(const CLI::App& command, RunFlags& flags);

/// -v [SRC:]DST[:OPTS], Docker's rules: no SRC is an anonymous volume; a SRC that is a path
/// (absolute, or relative to `cwd`) is a bind, created as a directory when missing; a bare
/// name is a named volume, made when it does not exist. berth::Error naming the flag.
runtime::MountSpec volume_of(const std::string& text, const std::string& cwd);

/// The spec the flags ask for; berth::Error naming the flag for anything invalid.
runtime::ContainerSpec to_spec(const RunFlags& flags, const std::string& working_directory);

}  // namespace berth::cmd
