// Looking at running containers and freezing them: pause/unpause (the OCI runtime's freezer),
// top (the host's ps, cut to the container's processes) and stats (its cgroup counters).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/containers/container_store.h"
#include "runtime/oci_runtime.h"

namespace berth::containers {

/// Freezes every process of a running container. berth::Error with Docker's texts:
/// `Container <id> is not running`, `Container <id> is already paused`, `Container <id> is
/// restarting, wait until the container is running`.
void pause_container(const ContainerStore& store, const ContainerRecord& record);
/// Thaws a paused container; berth::Error `Container <id> is not paused` otherwise.
void unpause_container(const ContainerStore& store, const ContainerRecord& record);

/// Sends `signal` to the container `id` through `runtime` and, when it is `paused`, thaws it
/// afterwards (Docker's order): a frozen process does not act on a signal, not even die of
/// SIGKILL, until it is thawed.
void signal_container(runtime::OciRuntime& runtime, const std::string& id, int signal, bool paused);

/// True when the container's cgroup is frozen: the monitor writes "running" and knows
/// nothing of pauses, so the freezer is the truth about them.
bool container_frozen(const std::string& id);

/// What `ps` printed for a container's processes: its column titles and one row per process
/// (words beyond the last title are joined into the last column, as Docker does).
struct ProcessList {
  std::vector<std::string> titles;
  std::vector<std::vector<std::string>> rows;
};

/// Runs the host's `ps` with `ps_args` (empty: `-ef`) and keeps the rows of the container's
/// processes (Docker's `top`). berth::Error `Container <id> is not running` when it is not,
/// `Couldn't find PID field in ps output` when the options drop that column, and the ps
/// command with its message when ps fails.
ProcessList container_top(const ContainerStore& store, const ContainerRecord& record,
                          const std::vector<std::string>& ps_args);

/// One container's resource use, as `docker stats` shows it.
struct ContainerStats {
  std::string id;
  std::string name;
  bool running = false;            // false: every figure is zero
  double cpu_percent = 0;          // of one CPU: a container using two CPUs fully shows 200
  std::uint64_t memory_usage = 0;  // without the inactive file cache, as Docker's CLI counts
  std::uint64_t memory_limit = 0;  // the host's memory when the container has no lower limit
  std::uint64_t net_rx = 0;        // bytes through the container's interfaces, loopback excepted
  std::uint64_t net_tx = 0;
  std::uint64_t block_read = 0;
  std::uint64_t block_write = 0;
  std::uint64_t pids = 0;
};

/// How far apart the two readings of stats' CPU % are. Docker's --no-stream shows a sample
/// whose CPU % spans its daemon's one-second collection period; half a second still spans 50
/// clock ticks of the host's CPU counters (CLK_TCK 100) per CPU, so the figure stays within
/// about a percent, and the command answers twice as fast.
constexpr std::chrono::milliseconds k_stats_interval{500};

/// Reads every container's cgroup counters twice, `interval` apart (all containers within
/// the same interval), and returns their stats in the order given.
std::vector<ContainerStats> sample_stats(const ContainerStore& store,
                                         const std::vector<ContainerRecord>& records,
                                         std::chrono::milliseconds interval = k_stats_interval);

}  // namespace berth::containers
