#include "orchestrator/containers/lifecycle.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "image/import.h"
#include "image/pull.h"
#include "network/netlink.h"
#include "orchestrator/containers/attach.h"
#include "orchestrator/containers/events.h"
#include "orchestrator/containers/networking.h"
#include "orchestrator/containers/observe.h"
#include "orchestrator/containers/state_watch.h"
#include "orchestrator/containers/volumes.h"
#include "runtime/cgroups.h"
#include "runtime/console_socket.h"
#include "runtime/monitor.h"
#include "runtime/oci_runtime.h"
#include "runtime/oci_spec.h"
#include "runtime/rootfs.h"
#include "runtime/seccomp_bpf.h"
#include "util/error.h"
#include "util/file_lock.h"
#include "util/fs.h"
#include "util/terminal.h"
#include "util/trash.h"

namespace berth::containers {

namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

constexpr auto k_default_stop_timeout = std::chrono::seconds(10);

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw Error(path + ": cannot write");
}

std::string short_id(const std::string& id) {
  return id.substr(0, 12);
}

bool is_active(const std::string& status) {
  return status == "running" || status == "restarting" || status == "paused";
}

/// The image's /etc/passwd or /etc/group: the topmost layer that has it wins.
std::string image_file(const std::vector<std::string>& lower_dirs, const std::string& relative) {
  for (const auto& dir : lower_dirs) {
    if (auto text = fs::read_file_if_exists(dir + "/" + relative)) return *text;
  }
  return "";
}

/// /etc/hostname, /etc/hosts and /etc/resolv.conf for the container, bind-mounted by the
/// spec; regenerated at each start.
void write_etc_files(const ContainerPaths& paths, const ContainerRecord& record,
                     const std::string& hostname, const network::ContainerNetwork* state) {
  stdfs::create_directories(paths.etc());
  write_file(paths.etc() + "/hostname", hostname + "\n");
  write_file(paths.etc() + "/hosts", hosts_file(hostname, state, record.spec.extra_hosts));
  // With the host's network the host's resolver applies; without a network there is none.
  std::string resolv;
  if (state) {
    resolv = network::resolv_conf(*state, record.spec.dns, record.spec.dns_search,
                                  record.spec.dns_options);
  } else if (record.spec.network == "host") {
    resolv = fs::read_file_if_exists("/etc/resolv.conf").value_or("");
  }
  write_file(paths.etc() + "/resolv.conf", resolv);
}

constexpr std::string_view k_container_mode = "container:";

/// The container named by `--network container:X` (its id, once created); nullopt for the
/// other network modes.
std::optional<std::string> joined_container(const runtime::ContainerSpec& spec) {
  if (!spec.network.starts_with(k_container_mode)) return std::nullopt;
  return spec.network.substr(k_container_mode.size());
}

/// What a container joining another's network namespace takes from it.
struct JoinedNetwork {
  std::string id;        // the other container's
  std::string network;   // the spec's: the namespace's path, or "host"
  std::string hostname;  // the other container's, as Docker gives it
  std::string etc_dir;   // the other container's hostname, hosts and resolv.conf
};

/// The namespace of the container `target` (a name or id), which must run: its named
/// namespace when it has berth networks, the host's when it uses the host's, else its
/// init's (--network none, or itself in a third container's namespace).
JoinedNetwork joined_network(const ContainerStore& store, const std::string& target) {
  const ContainerRecord other = store.find(target);
  const auto live = store.live_state(other.id);
  if (live.state.status == "restarting") {
    throw Error(fmt::format("Container {} is restarting, wait until the container is running",
                            other.name));  // Docker's words
  }
  if ((live.state.status != "running" && live.state.status != "paused") || live.state.pid <= 0) {
    throw Error(fmt::format("cannot join network of a non running container: {}", other.name));
  }
  JoinedNetwork joined;
  joined.id = other.id;
  joined.etc_dir = store.paths(other.id).etc();
  if (other.spec.network == "host") {
    joined.network = "host";
  } else if (const auto state = container_network(store, other.id)) {
    joined.network = network::netns_path(state->netns);
  } else {
    joined.network = fmt::format("/proc/{}/ns/net", live.state.pid);
  }
  joined.hostname = fs::read_file_if_exists(joined.etc_dir + "/hostname").value_or("");
  while (!joined.hostname.empty() && joined.hostname.back() == '\n') joined.hostname.pop_back();
  if (joined.hostname.empty()) {
    joined.hostname = other.spec.hostname.empty() ? short_id(other.id) : other.spec.hostname;
  }
  return joined;
}

/// A container in another's network namespace resolves and names itself as that one does:
/// copies of its generated files (Docker mounts the very same files).
void copy_etc_files(const ContainerPaths& paths, const JoinedNetwork& joined) {
  stdfs::create_directories(paths.etc());
  for (const char* name : {"hostname", "hosts", "resolv.conf"}) {
    write_file(paths.etc() + "/" + name, fs::read_file(joined.etc_dir + "/" + name));
  }
}

/// The files of CreateOptions::files, as `<dir>/<index>` with their owners and modes, in a
/// directory only root enters: a secret is readable inside the container, never by the
/// host's other users.
void write_injected_files(const std::string& dir, const std::vector<runtime::InjectedFile>& files) {
  if (files.empty()) return;
  stdfs::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string path = fmt::format("{}/{}", dir, i);
    const int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw Error(fmt::format("{}: {}", path, std::strerror(errno)));
    const std::string& content = files[i].content;
    bool written = true;
    for (std::size_t done = 0; done < content.size();) {
      const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        written = false;
        break;
      }
      done += static_cast<std::size_t>(n);
    }
    const bool owned =
        ::fchown(fd, files[i].uid, files[i].gid) == 0 && ::fchmod(fd, files[i].mode) == 0;
    ::close(fd);
    if (!written || !owned) throw Error(fmt::format("{}: {}", path, std::strerror(errno)));
  }
}

/// What the spec builder needs; `with_seccomp` false skips reading the profile (see create).
runtime::SpecContext spec_context(const ContainerStore& store, const ContainerRecord& record,
                                  const std::string& etc_dir, bool with_seccomp = true) {
  runtime::SpecContext context;
  context.container_id = record.id;
  context.rootfs = store.paths(record.id).rootfs();
  context.cgroups_path = cgroups_path(record.id);
  context.etc_dir = etc_dir;
  context.image_passwd = image_file(record.lower_dirs, "etc/passwd");
  context.image_group = image_file(record.lower_dirs, "etc/group");
  if (with_seccomp) {
    context.seccomp_profile = fs::read_file_if_exists(runtime::k_seccomp_profile_path).value_or("");
  }
  if (record.spec.init) {
    if (!fs::is_file(runtime::k_host_init_path)) {
      throw Error(std::string("--init needs ") + runtime::k_host_init_path +
                  " (Debian's catatonit package)");
    }
    context.init_path = runtime::k_host_init_path;
  }
  context.cgroup_v1 = runtime::cgroup_v1_host();
  context.host = runtime::read_host_facts();
  return context;
}

/// Blocks until `pid` exits (it is not our child): pidfd where the kernel has it.
void wait_for_exit(int pid, std::chrono::milliseconds limit) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd descriptor{pidfd, POLLIN, 0};
    ::poll(&descriptor, 1, static_cast<int>(limit.count()));
    ::close(pidfd);
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (::kill(pid, 0) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

/// Starts `berth-monitor <run_dir> [4]` (next to the berth binary) detached, and reads its
/// verdict from the pipe it gets as fd 3: "ok" once the container runs, or "error: <why>". An
/// attach socket goes along as fd 4.
void launch_monitor(const std::string& berth_executable, const std::string& run_dir,
                    int attach_fd) {
  int sync[2];
  if (::pipe2(sync, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sync[1], 3);
  if (attach_fd >= 0) posix_spawn_file_actions_adddup2(&actions, attach_fd, 4);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);  // no terminal's signals reach it
  const std::string monitor = fs::dirname(berth_executable) + "/berth-monitor";
  std::vector<std::string> argv_strings{monitor, run_dir};
  if (attach_fd >= 0) argv_strings.push_back("4");
  std::vector<char*> argv;
  for (auto& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(sync[1]);
  if (spawned != 0) {
    ::close(sync[0]);
    throw Error("cannot start the monitor " + monitor + ": " + std::strerror(spawned));
  }
  std::string verdict;
  char buffer[512];
  for (ssize_t n; (n = ::read(sync[0], buffer, sizeof buffer)) > 0;)
    verdict.append(buffer, static_cast<std::size_t>(n));
  ::close(sync[0]);
  // The monitor forks itself away from us once it has answered; reap the first process.
  ::waitpid(pid, nullptr, 0);
  while (!verdict.empty() && verdict.back() == '\n') verdict.pop_back();
  if (verdict == "ok") return;
  if (verdict.starts_with("error: ")) throw Error(verdict.substr(7));
  throw Error("the container's monitor stopped before it started the container" +
              (verdict.empty() ? std::string() : ": " + verdict));
}

/// `exec -t`, the way conmon does it: the runtime starts the process detached and hands its
/// terminal over (runc takes a console socket only with --detach); the process is then
/// re-parented to us as a subreaper, so its exit status is ours to collect.
int exec_with_terminal(runtime::OciRuntime& runtime, const std::string& id,
                       const std::string& run_dir, const std::string& process_path,
                       bool interactive) {
  const std::string tag = ContainerStore::new_id().substr(0, 12);
  const std::string pid_file = run_dir + "/exec-" + tag + ".pid";
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  runtime::ConsoleSocket console(run_dir, "exec-" + tag);
  try {
    runtime.exec(id, process_path, runtime::Stdio{}, true, console.address(), pid_file);
  } catch (...) {
    ::unlink(pid_file.c_str());
    throw;
  }
  int pid = 0;
  const std::string text = fs::read_file_if_exists(pid_file).value_or("");
  ::unlink(pid_file.c_str());
  std::from_chars(text.data(), text.data() + text.size(), pid);
  if (pid <= 0) throw Error("exec in container " + short_id(id) + ": the runtime gave no pid");
  const int master = console.receive_master(10'000);
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (master >= 0) relay_terminal(master, interactive, pidfd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (master >= 0) ::close(master);
  if (pidfd >= 0) ::close(pidfd);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

}  // namespace

std::vector<std::string> exposed_ports(const ContainerRecord& record) {
  std::set<std::string> ports;
  const json image_ports = record.image_config.value("ExposedPorts", json::object());
  if (image_ports.is_object()) {
    for (const auto& [key, ignored] : image_ports.items()) {
      // Docker's keys are "80/tcp"; a bare "80" is tcp.
      ports.insert(key.find('/') == std::string::npos ? key + "/tcp" : key);
    }
  }
  ports.insert(record.spec.expose.begin(), record.spec.expose.end());
  for (const auto& entry : record.spec.publish) {
    for (const auto& port : network::parse_ports(entry)) {
      ports.insert(network::port_and_protocol(port));
    }
  }
  return {ports.begin(), ports.end()};
}

std::vector<std::string> published_ports(const ContainerRecord& record) {
  std::vector<std::string> entries = record.spec.publish;
  if (!record.spec.publish_all) return entries;
  std::set<std::string> published;
  for (const auto& entry : record.spec.publish) {
    for (const auto& port : network::parse_ports(entry)) {
      published.insert(network::port_and_protocol(port));
    }
  }
  for (const auto& key : exposed_ports(record)) {
    if (published.contains(key)) continue;
    try {
      network::parse_exposed_ports(key);
    } catch (const Error& e) {
      throw Error(fmt::format("-P: cannot publish the exposed port {}: {}", key, e.what()));
    }
    entries.push_back(key);  // "80/tcp": a free host port on every address
  }
  return entries;
}

ContainerRecord create_container(const image::ImageStore& images, const ContainerStore& store,
                                 runtime::ContainerSpec spec, const CreateOptions& options) {
  if (options.runtime != "crun" && options.runtime != "runc") {
    throw Error("unknown runtime \"" + options.runtime + "\": expected crun or runc");
  }
  sweep_trash(store.trash_dir());
  ContainerRecord record;
  if (options.image) {
    record.image_id = options.image->id;
    record.lower_dirs = options.image->lower_dirs;
    record.image_config = options.image->config;
  } else {
    auto found = images.find(spec.image);
    if (!found && options.pull_missing) {
      std::cerr << "Unable to find image '" << spec.image << "' locally\n";
      image::Progress progress(image::Progress::detect(false, stderr), stderr);
      image::PullOptions pull;
      pull.progress = &progress;
      found = image::pull_image(images, image::parse_reference(spec.image), pull);
    }
    if (!found) throw Error("No such image: " + spec.image);
    const image::Manifest manifest = images.manifest(*found);
    const image::ImageConfig config = images.config(manifest);
    record.image_id = manifest.config.digest.str();
    record.lower_dirs = images.layer_stack(config);
    record.image_config = config.raw.value("config", json::object());
  }
  if (const auto target = joined_container(spec)) {
    // Kept by id, so that a later container taking the name does not change whose it is.
    // Whether it runs is a matter for start, as in Docker: compose creates a service's
    // containers before it starts the ones they join (network_mode: service:x).
    spec.network = std::string(k_container_mode) + store.find(*target).id;
  }

  record.id = ContainerStore::new_id();
  record.name = spec.name.empty() ? store.new_name() : spec.name;
  spec.name = record.name;
  record.created = image::now_rfc3339();
  record.image = spec.image;
  record.runtime = options.runtime;
  record.auto_remove = options.auto_remove;
  record.spec = std::move(spec);
  // The injected files' mounts, whose sources are written once the record's directory is.
  const std::string files_dir = store.paths(record.id).record_dir + "/files";
  std::vector<runtime::MountSpec> injected;
  for (std::size_t i = 0; i < options.files.size(); ++i) {
    runtime::MountSpec mount;
    mount.source = fmt::format("{}/{}", files_dir, i);
    mount.target = options.files[i].target;
    mount.read_only = true;
    injected.push_back(std::move(mount));
  }
  // Built once now, so a mistake in the spec is reported by create, not by a later start.
  // Without the seccomp profile: it is berth's data, not the user's, and parsing it is the
  // dearest part of the build, which start does again anyway.
  runtime::ContainerSpec checked = record.spec;
  checked.mounts.insert(checked.mounts.end(), injected.begin(), injected.end());
  for (auto& mount : checked.mounts) {
    // Volumes are found or made below and resolved at start; any absolute path serves.
    if (mount.type == runtime::MountSpec::Type::volume) {
      mount.type = runtime::MountSpec::Type::bind;
      mount.source = "/nonexistent";
    }
  }
  if (joins_networks(checked))
    checked.network = network::netns_path(network::netns_name(record.id));
  // Whose namespace is joined is known at start; any path serves the check.
  if (joined_container(checked)) checked.network = "/proc/self/ns/net";
  runtime::build_oci_spec(checked, record.image_config,
                          spec_context(store, record, "/nonexistent", false));
  if (record.spec.publish_all && !joins_networks(record.spec)) {
    throw Error(fmt::format("-P needs a container network, not --network {}", record.spec.network));
  }
  published_ports(record);  // an exposed port -P cannot publish is an error now, not at start
  check_networks(store, record.spec);

  // Held until the record names its volumes: a `volume rm` in between would take one.
  const volume::VolumeStore volumes = volume_store(store);
  const FileLock volumes_lock = volumes.lock_shared();
  const std::vector<std::string> made_volumes =
      prepare_volumes(store, volumes, record.spec, record.image_config);
  record.spec.mounts.insert(record.spec.mounts.end(), injected.begin(), injected.end());
  bool name_claimed = false;
  try {
    store.claim_name(record.name, record.id);
    name_claimed = true;
    const ContainerPaths paths = store.paths(record.id);
    stdfs::create_directories(paths.upper());
    stdfs::create_directories(paths.work());
    write_injected_files(files_dir, options.files);
    store.save(record);
  } catch (...) {
    if (name_claimed) {
      store.release_name(record.name);
      store.remove_dirs(record.id);
    }
    for (const auto& name : made_volumes) {
      try {
        volumes.remove(name);
      } catch (const std::exception&) {
      }
    }
    throw;
  }
  record_event(store, record, "create");
  return record;
}

namespace {

/// The bundle, the root filesystem and the monitor of a start whose networking is made;
/// `oci_input` is the spec with the network namespace to join.
void launch(const ContainerStore& store, const ContainerRecord& record,
            const runtime::ContainerSpec& oci_input, const std::string& berth_executable,
            const StartOptions& options, bool networked) {
  const ContainerPaths paths = store.paths(record.id);
  runtime::unmount_rootfs(paths.rootfs());
  runtime::mount_overlay(record.lower_dirs, paths.upper(), paths.work(), paths.rootfs(),
                         paths.links());
  try {
    // Volumes after the root: copy-up reads the image's content through it.
    runtime::ContainerSpec resolved = oci_input;
    resolved.mounts = resolve_mounts(store, record, paths.rootfs());
    json spec = runtime::build_oci_spec(resolved, record.image_config,
                                        spec_context(store, record, paths.etc()));
    if (record.spec.tty && options.console_size) {
      spec["process"]["consoleSize"] = {{"height", options.console_size->first},
                                        {"width", options.console_size->second}};
    }
    if (record.runtime == "crun") {
      runtime::add_precompiled_seccomp(spec, store.root() + "/seccomp");
    }
    write_file(paths.bundle() + "/config.json", spec.dump());

    runtime::MonitorConfig monitor;
    monitor.id = record.id;
    monitor.runtime = record.runtime;
    monitor.runtime_root = store.runtime_root(record.runtime);
    monitor.bundle = paths.bundle();
    monitor.cgroups_path = cgroups_path(record.id);
    monitor.rootfs = paths.rootfs();
    monitor.log_path = paths.log();
    monitor.state_path = paths.state();
    monitor.stopping_path = paths.stopping();
    monitor.restart = record.spec.restart;
    monitor.stop_signal = spec["process"].value("stopSignal", "SIGTERM");
    if (record.spec.healthcheck &&
        record.spec.healthcheck->test != std::vector<std::string>{"NONE"}) {
      monitor.healthcheck = record.spec.healthcheck;
    } else if (!record.spec.healthcheck) {
      monitor.healthcheck = runtime::healthcheck_from_image(record.image_config);
    }
    monitor.tty = record.spec.tty;
    monitor.stdin_open = record.spec.interactive;
    monitor.stdin_once = options.stdin_once;
    if (networked || volumes_need_release(store, record) ||
        (record.auto_remove && has_anonymous_volumes(record))) {
      monitor.final_exit_command = {berth_executable, "--root",    store.root(), "--runroot",
                                    store.runroot(),  "container", "_release",   record.id};
    }
    if (record.auto_remove) {
      // What remove_container does after the unmount, in its order: the record first, so
      // that a removal cut short leaves nothing listed under the name.
      monitor.auto_remove = true;
      monitor.remove_paths = {paths.record_dir, store.name_path(record.name), paths.run_dir};
      monitor.trash_dir = store.trash_dir();
    }
    monitor.events_path = events_journal(store);
    monitor.event_attributes = event_attributes(record);
    write_file(paths.run_dir + "/monitor.json", runtime::to_json(monitor).dump());
    launch_monitor(berth_executable, paths.run_dir, options.attach_fd);
  } catch (...) {
    release_container(store, record);
    throw;
  }
}

}  // namespace

void start_container(const ContainerStore& store, const ContainerRecord& record,
                     const std::string& berth_executable, const StartOptions& options) {
  if (record.runtime == "crun") {
    if (const auto blocker = runtime::crun_blocker()) throw Error(*blocker);
  }
  const ContainerPaths paths = store.paths(record.id);
  for (const auto& dir : record.lower_dirs) {
    if (!fs::is_directory(dir)) {
      throw Error("the image " + record.image + " of container " + record.name +
                  " is gone from the store (layer " + dir + ")");
    }
  }
  stdfs::create_directories(paths.bundle());
  stdfs::create_directories(paths.rootfs());
  ::unlink(paths.stopping().c_str());
  // The last run's monitor may still be exiting; it must not unmount the new root, nor tear
  // down the new networking. One that died (killed -9) left its mount behind: never stack a
  // second one on it.
  if (const auto last = runtime::read_state(paths.state());
      last && last->monitor_pid > 0 && !is_active(last->status) &&
      runtime::same_process_alive(last->monitor_pid, last->monitor_start_time)) {
    wait_for_exit(last->monitor_pid, std::chrono::seconds(5));
  }
  const std::string hostname =
      record.spec.hostname.empty() ? short_id(record.id) : record.spec.hostname;
  std::optional<JoinedNetwork> joined;
  if (const auto target = joined_container(record.spec)) joined = joined_network(store, *target);
  // Until the monitor runs the container, `network prune` leaves its networking alone.
  std::optional<NetworkSetupLock> setup_lock;
  if (joins_networks(record.spec)) setup_lock.emplace(store, record.id);
  std::optional<network::ContainerNetwork> networking;
  runtime::ContainerSpec oci_input = record.spec;
  if (joins_networks(record.spec)) {
    ContainerRecord publishing = record;
    publishing.spec.publish = published_ports(record);
    networking = connect_container(store, publishing, berth_executable);
    oci_input.network = network::netns_path(networking->netns);
  } else if (joined) {
    // It owns nothing of the namespace: no set-up, and no teardown at its exit.
    oci_input.network = joined->network;
    oci_input.hostname = joined->hostname;
  }
  try {
    if (joined) {
      copy_etc_files(paths, *joined);
    } else {
      write_etc_files(paths, record, hostname, networking ? &*networking : nullptr);
    }
    launch(store, record, oci_input, berth_executable, options, networking.has_value());
  } catch (...) {
    if (networking) {
      try {
        disconnect_container(store, record.id);
      } catch (const std::exception&) {
      }
    }
    throw;
  }
}

void kill_container(const ContainerStore& store, const ContainerRecord& record, int signal) {
  const auto live = store.live_state(record.id);
  if (live.state.status != "running" && live.state.status != "paused") {
    throw Error("Cannot kill container: " + record.name + ": container is not running");
  }
  const auto runtime =
      runtime::OciRuntime::make(record.runtime, store.runtime_root(record.runtime));
  // Before the signal, so that it comes before the die the monitor may append at once.
  record_event(store, record, "kill", {{"signal", std::to_string(signal)}});
  signal_container(*runtime, record.id, signal, live.state.status == "paused");
}

void stop_container_processes(const ContainerStore& store, const ContainerRecord& record,
                              std::optional<std::chrono::seconds> timeout) {
  const ContainerPaths paths = store.paths(record.id);
  auto live = store.live_state(record.id);
  if (!is_active(live.state.status)) return;
  write_file(paths.stopping(), "");  // the monitor must not restart it
  const auto runtime =
      runtime::OciRuntime::make(record.runtime, store.runtime_root(record.runtime));
  const auto grace = timeout.value_or(record.spec.stop_timeout.value_or(k_default_stop_timeout));

  StateWatch watch(paths.run_dir);
  if (live.state.status == "running" || live.state.status == "paused") {
    const std::string signal_name = record.spec.stop_signal.empty()
                                        ? record.image_config.value("StopSignal", "SIGTERM")
                                        : record.spec.stop_signal;
    int signal = SIGTERM;
    for (int number = 1; number < NSIG; ++number) {
      const char* abbrev = ::sigabbrev_np(number);
      if (abbrev != nullptr &&
          (signal_name == abbrev || signal_name == std::string("SIG") + abbrev))
        signal = number;
    }
    // Docker's stop is a kill with the stop signal: its event first, then the monitor's die.
    record_event(store, record, "kill", {{"signal", std::to_string(signal)}});
    try {
      if (live.state.status == "paused") runtime->resume(record.id);
      runtime->kill(record.id, signal);
    } catch (const Error&) {
      // Already gone between our look and the signal: the wait below sees it.
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (is_active((live = store.live_state(record.id)).state.status) &&
         std::chrono::steady_clock::now() < deadline) {
    if (live.state.status == "restarting") break;  // nothing runs; the marker stops the restart
    watch.wait(std::chrono::milliseconds(100));
  }
  if (live.state.status == "running" || live.state.status == "paused") {
    record_event(store, record, "kill", {{"signal", std::to_string(SIGKILL)}});
    try {
      runtime->kill(record.id, SIGKILL, true);
    } catch (const Error&) {
    }
  }
  // The monitor records the end (then releases what the container held, and exits).
  while (is_active((live = store.live_state(record.id)).state.status) && !live.monitor_lost) {
    watch.wait(std::chrono::milliseconds(100));
  }
  // Without a monitor (killed -9) nobody else will: the processes go now.
  if (live.monitor_lost) finish_stopped_container(store, record);
  record_event(store, record, "stop");
}

void finish_stopped_container(const ContainerStore& store, const ContainerRecord& record) {
  const auto live = store.live_state(record.id);
  // The monitor releases the network and mounts after it records the end, then exits.
  if (live.state.monitor_pid > 0 && !live.monitor_lost &&
      runtime::same_process_alive(live.state.monitor_pid, live.state.monitor_start_time)) {
    wait_for_exit(live.state.monitor_pid, std::chrono::seconds(5));
  }
  if (live.monitor_lost) {
    if (live.state.pid > 0 &&
        runtime::same_process_alive(live.state.pid, live.state.pid_start_time)) {
      ::kill(live.state.pid, SIGKILL);
      wait_for_exit(live.state.pid, std::chrono::seconds(5));
    }
    runtime::OciRuntime::make(record.runtime, store.runtime_root(record.runtime))
        ->remove(record.id, true);
  }
  release_container(store, record);
}

void stop_container(const ContainerStore& store, const ContainerRecord& record,
                    std::optional<std::chrono::seconds> timeout) {
  if (!is_active(store.live_state(record.id).state.status)) return;
  stop_container_processes(store, record, timeout);
  finish_stopped_container(store, record);
}

int wait_container(const ContainerStore& store, const ContainerRecord& record) {
  const ContainerPaths paths = store.paths(record.id);
  StateWatch watch(paths.run_dir);
  auto live = store.live_state(record.id);
  while (is_active(live.state.status) && !live.monitor_lost) {
    watch.wait(std::chrono::milliseconds(200));
    live = store.live_state(record.id);
  }
  return live.state.exit_code;
}

int exec_in_container(const ContainerStore& store, const ContainerRecord& record,
                      const ExecOptions& options) {
  const ContainerPaths paths = store.paths(record.id);
  const auto live = store.live_state(record.id);
  if (live.state.status == "paused") {
    // Docker's words; an exec into frozen processes would hang.
    throw Error("Container " + record.id + " is paused, unpause the container before exec");
  }
  if (live.state.status != "running") {
    throw Error("container " + record.name + " is not running");
  }
  if (options.args.empty()) throw Error("exec needs a command");
  const json bundle = json::parse(fs::read_file(paths.bundle() + "/config.json"));
  // The container's own process settings, with the command and what the user overrides.
  if (options.tty && options.detach) {
    throw Error("exec -d -t: a detached process's terminal would have no reader; drop -t");
  }
  json process = bundle.at("process");
  process["args"] = options.args;
  process["terminal"] = options.tty;
  process.erase("consoleSize");
  if (options.tty) {
    if (const auto size = util::terminal_size(STDIN_FILENO)) {
      process["consoleSize"] = {{"height", size->first}, {"width", size->second}};
    }
  }
  json env = process.value("env", json::array());
  for (const auto& entry : options.env) {
    const std::string key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (auto& existing : env) {
      const std::string text = existing.get<std::string>();
      if (text.substr(0, text.find('=')) == key) {
        existing = entry;
        replaced = true;
      }
    }
    if (!replaced) env.push_back(entry);
  }
  process["env"] = env;
  if (!options.working_dir.empty()) process["cwd"] = options.working_dir;
  if (!options.user.empty()) {
    const auto user =
        runtime::resolve_user(options.user, {}, image_file(record.lower_dirs, "etc/passwd"),
                              image_file(record.lower_dirs, "etc/group"));
    process["user"] = {
        {"uid", user.uid}, {"gid", user.gid}, {"additionalGids", user.additional_gids}};
  }
  // One file per exec: several may run at once.
  const std::string exec_id = ContainerStore::new_id();
  const std::string process_path = paths.run_dir + "/exec-" + exec_id.substr(0, 12) + ".json";
  write_file(process_path, process.dump());
  const auto runtime =
      runtime::OciRuntime::make(record.runtime, store.runtime_root(record.runtime));
  // Docker's exec events name the command; its end is known only to an exec that waits.
  const std::string command = fmt::format("{}", fmt::join(options.args, " "));
  record_event(store, record, "exec_create: " + command, {{"execID", exec_id}});
  record_event(store, record, "exec_start: " + command, {{"execID", exec_id}});
  int code = 0;
  try {
    if (options.tty) {
      code =
          exec_with_terminal(*runtime, record.id, paths.run_dir, process_path, options.interactive);
    } else {
      runtime::Stdio stdio;
      stdio.in = options.interactive ? STDIN_FILENO : -1;
      stdio.out = STDOUT_FILENO;
      stdio.err = STDERR_FILENO;
      code = runtime->exec(record.id, process_path, stdio, options.detach);
    }
  } catch (...) {
    ::unlink(process_path.c_str());
    throw;
  }
  ::unlink(process_path.c_str());
  if (!options.detach) {
    record_event(store, record, "exec_die",
                 {{"execID", exec_id}, {"exitCode", std::to_string(code)}});
  }
  return options.detach ? 0 : code;
}

void release_container(const ContainerStore& store, const ContainerRecord& record) {
  const ContainerPaths paths = store.paths(record.id);
  runtime::unmount_rootfs(paths.rootfs());
  runtime::remove_cgroup(cgroups_path(record.id));
  disconnect_container(store, record.id);
  release_volumes(store, record);
}

void remove_container(const ContainerStore& store, const ContainerRecord& record, bool force,
                      bool remove_volumes) {
  const auto live = store.live_state(record.id);
  if (is_active(live.state.status)) {
    if (!force) {
      throw Error("You cannot remove a " + live.state.status + " container " + record.id +
                  ". Stop the container before attempting removal or force remove");
    }
    stop_container(store, record, std::chrono::seconds(0));
  } else if (live.state.monitor_pid > 0) {
    // The monitor may still be finishing its last write; it exits right after.
    wait_for_exit(live.state.monitor_pid, std::chrono::seconds(5));
  }
  // A monitor deletes the runtime's container itself once it has exited; only one that died
  // first leaves that work (and one more runtime exec on the --rm path) to us.
  if (live.monitor_lost) {
    runtime::OciRuntime::make(record.runtime, store.runtime_root(record.runtime))
        ->remove(record.id, true);
  }
  release_container(store, record);
  store.release_name(record.name);
  store.remove_dirs(record.id);
  record_event(store, record, "destroy");
  if (remove_volumes) {
    for (const auto& line : remove_anonymous_volumes(store, record)) {
      std::cerr << "warning: " << line << "\n";
    }
  }
  // What a --rm monitor killed while deleting left behind.
  sweep_trash(store.trash_dir());
}

}  // namespace berth::containers
