// A container's live state on disk (<runroot>/containers/<id>/state.json), written by its
// monitor and read by every berth command, so any later process sees the same truth.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/process.h"

namespace berth::runtime {

struct HealthResult {
  std::string start;  // RFC 3339
  std::string end;
  int exit_code = 0;
  std::string output;  // at most 4 KiB, as Docker keeps
};

struct ContainerState {
  /// "created", "running", "paused", "restarting", "exited", "dead" (Docker's words).
  std::string status = "created";
  int pid = 0;                       // the container's init on the host; 0 when none
  std::uint64_t pid_start_time = 0;  // /proc/<pid>/stat field 22, so a reused pid is not it
  int monitor_pid = 0;
  std::uint64_t monitor_start_time = 0;
  int exit_code = 0;
  bool oom_killed = false;
  std::string started_at;   // RFC 3339, empty when never started
  std::string finished_at;  // RFC 3339, empty while running or never run
  int restart_count = 0;
  std::string error;  // why the last start failed, if it did

  std::string health;  // "", "starting", "healthy", "unhealthy"
  int failing_streak = 0;
  std::vector<HealthResult> health_log;  // the last 5 results
};

/// Reads `path`; nullopt when it does not exist; berth::Error naming it when malformed.
std::optional<ContainerState> read_state(const std::string& path);
/// Writes `path` atomically (temp file + rename in the same directory).
void write_state(const std::string& path, const ContainerState& state);

// process_start_time() and same_process_alive(), used with the state's pids.
using berth::process_start_time;
using berth::same_process_alive;

}  // namespace berth::runtime
