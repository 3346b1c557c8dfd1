// A container's life, from image to removal: create (record, name), start (OCI bundle,
// overlay root, monitor), stop/kill, wait, remove. Every step reads state from disk, so any
// later berth process can take over.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "image/store.h"
#include "orchestrator/containers/container_store.h"

namespace berth::containers {

/// An image that is in no index: a build step's state (its layers so far and its config).
struct ResolvedImage {
  std::string id;                       // "sha256:..." or any stable name of the state
  std::vector<std::string> lower_dirs;  // unpacked layers, top first
  nlohmann::json config;                // the image config's "config" object
};

struct CreateOptions {
  std::string runtime = "crun";  // or "runc"
  bool auto_remove = false;      // --rm: the container goes when it stops
  bool pull_missing = true;      // pull an image that is not in the store, as Docker does
  /// Files written for the container and mounted read-only (compose secrets and configs).
  std::vector<runtime::InjectedFile> files;
  /// The image itself, when it is not in the store's index (a build's RUN step);
  /// `spec.image` then only names it.
  std::optional<ResolvedImage> image;
};

/// Resolves the image (pulling it when missing and allowed), claims the name and saves the
/// record. Nothing runs yet. `--network container:X` is stored as "container:<X's id>"
/// (`No such container: X` when there is none); X must be running already, so that a `run`
/// that could not start leaves nothing behind.
ContainerRecord create_container(const image::ImageStore& images, const ContainerStore& store,
                                 runtime::ContainerSpec spec, const CreateOptions& options);

/// Docker's ExposedPorts of the container, sorted: the image's, --expose and the container
/// side of each -p ("80/tcp").
std::vector<std::string> exposed_ports(const ContainerRecord& record);

/// The -p entries a start publishes: the spec's and, with -P, every exposed port that they
/// leave out, on a free host port of every address.
std::vector<std::string> published_ports(const ContainerRecord& record);

struct StartOptions {
  /// A command's end of an attach channel (runtime/attach_protocol.h), -1 for none: the
  /// monitor streams the container's output to it from the first byte, takes its input and
  /// sends the exit code at the first end (after the removal, with --rm).
  int attach_fd = -1;
  /// The attached command's input ends the container's (Docker's StdinOnce).
  bool stdin_once = false;
  /// The terminal's size (rows, columns) for a container with a tty: set before its first
  /// output, so a full-screen program draws at the right size from the start.
  std::optional<std::pair<unsigned, unsigned>> console_size;
};

/// Builds the bundle, mounts the root filesystem and starts the container under a new
/// monitor; returns once it runs (or throws the reason it could not start, leaving nothing
/// mounted). A container in another's network namespace needs that one running (`cannot
/// join network of a non running container: X`) and takes its hostname, /etc/hosts and
/// /etc/resolv.conf. The monitor is `berth-monitor`, found next to `berth_executable`. With
/// auto_remove, the monitor removes the container once it has ended.
void start_container(const ContainerStore& store, const ContainerRecord& record,
                     const std::string& berth_executable, const StartOptions& options = {});

/// Sends the stop signal, waits up to the grace period (the record's, or `timeout`), then
/// SIGKILL; the restart policy does not bring it back. Returns once the monitor has also
/// released the container's network, mounts and cgroups. A stopped container is left alone.
/// The two halves below, for callers that stop several containers in order.
void stop_container(const ContainerStore& store, const ContainerRecord& record,
                    std::optional<std::chrono::seconds> timeout = std::nullopt);

/// stop_container's first half: back as soon as the container's processes are gone, while
/// its monitor may still be releasing what it held. What an ordered stop waits for before
/// stopping the next service (a dependency need not outlive its dependents' cleanup).
void stop_container_processes(const ContainerStore& store, const ContainerRecord& record,
                              std::optional<std::chrono::seconds> timeout = std::nullopt);

/// stop_container's second half, for a container whose processes are gone: waits for its
/// monitor to finish (or does the monitor's work when it is lost) and releases whatever is
/// left. Idempotent.
void finish_stopped_container(const ContainerStore& store, const ContainerRecord& record);

/// Sends `signal` to the container's init; berth::Error when it is not running.
void kill_container(const ContainerStore& store, const ContainerRecord& record, int signal);

/// Waits until the container is neither running nor restarting; returns its exit code.
int wait_container(const ContainerStore& store, const ContainerRecord& record);

/// Removes a stopped container: runtime state, mounts, cgroups, directories, name. A running
/// one needs `force` (it is killed first), else berth::Error with Docker's text. With
/// `remove_volumes` (rm -v), its anonymous volumes go too, unless another container uses one
/// (a warning on standard error says so).
void remove_container(const ContainerStore& store, const ContainerRecord& record, bool force,
                      bool remove_volumes = false);

struct ExecOptions {
  std::vector<std::string> args;
  std::vector<std::string> env;  // KEY=VALUE over the container's environment
  std::string user;              // empty: the container's user
  std::string working_dir;       // empty: the container's
  bool interactive = false;      // pass standard input through
  bool tty = false;              // a terminal for the process, relayed to ours
  bool detach = false;
};

/// Runs a process in a running container with the caller's standard streams; returns its
/// exit code (0 with `detach`). berth::Error when the container is not running.
int exec_in_container(const ContainerStore& store, const ContainerRecord& record,
                      const ExecOptions& options);

/// Unmounts the root filesystem and removes the cgroups of a container that has stopped,
/// so nothing of it stays mounted while it waits to be started again or removed.
void release_container(const ContainerStore& store, const ContainerRecord& record);

}  // namespace berth::containers
