// The per-container monitor (conmon's model): one small process per container that outlives
// the berth command which started it. It creates and starts the container through the OCI
// runtime, keeps its log, records its state and exit, restarts it by its policy and runs its
// healthcheck. Started as `berth-monitor <run dir>` with the verdict pipe on fd 3.
//
// Signals: the monitor ignores SIGTERM, SIGINT and SIGHUP. A container's life is decided by
// berth commands through the runtime (stop = stopping marker + signal to the container); the
// monitor exits by itself once the container has exited and no restart is due. SIGKILL leaves
// the container running without a monitor, which `berth` notices (monitor_pid no longer alive)
// and cleans up at stop or rm.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/container_spec.h"

namespace berth::runtime {

/// What the monitor is told, as `<runroot>/containers/<id>/monitor.json`. Paths are absolute.
struct MonitorConfig {
  std::string id;                // the container id, also the runtime's
  std::string runtime = "crun";  // "crun" or "runc"
  std::string runtime_root;      // the runtime's --root
  std::string bundle;            // the directory holding config.json
  // The spec's linux.cgroupsPath and root.path (empty: no mount to undo), given here so that
  // the monitor reads config.json only for a healthcheck's process.
  std::string cgroups_path;
  std::string rootfs;
  std::string log_path;
  std::string state_path;
  std::string stopping_path;  // exists while a user-requested stop is under way
  RestartPolicy restart;
  std::optional<Healthcheck> healthcheck;  // nullopt: none
  // What `berth stop` sends; kept here for the record, the monitor never signals the container.
  std::string stop_signal = "SIGTERM";
  bool tty = false;         // the spec asks for a terminal: receive its master, log its output
  bool stdin_open = false;  // -i: keep a pipe (or the terminal) open to the container's input
  bool stdin_once = false;  // close that input when the attached command's input ends
  // --rm: once the container has ended for good, remove what is left of it (the root
  // filesystem's mount, the cgroup, then these paths in order) before telling the attached
  // command, so that it returns to a host without the container.
  bool auto_remove = false;
  std::vector<std::string> remove_paths;
  // Where those paths are moved first (runtime/trash.h), so that the attached command hears
  // of the end once they are out of sight and the deleting follows. Empty: deleted in place.
  std::string trash_dir;
  // Run at the container's final exit, before the final state is saved: berth releases the
  // container's networking this way (a stopped container publishes no port and holds no
  // address), so the small monitor carries no network code. Its exit status other than 0
  // and the last line of its standard error become the state's error. Empty: nothing.
  std::vector<std::string> final_exit_command;
  // The events journal (runtime/event_journal.h) where the monitor appends the events it
  // sees (start, die, oom, health_status, destroy with --rm), and the attributes every event
  // of the container carries (its labels, name and image). Empty path: no events.
  std::string events_path;
  std::map<std::string, std::string> event_attributes;
};

/// monitor.json's content for `config`; durations in nanoseconds.
nlohmann::json to_json(const MonitorConfig& config);
/// The inverse of to_json; throws berth::Error (one line) on a missing or mistyped field.
MonitorConfig monitor_config_from_json(const nlohmann::json& value);
/// Reads and parses `path`; throws berth::Error naming it.
MonitorConfig read_monitor_config(const std::string& path);

/// The healthcheck an image config (`raw["config"]`) declares, with Docker's defaults for the
/// zero durations; nullopt when it declares none, an empty test, or ["NONE"].
std::optional<Healthcheck> healthcheck_from_image(const nlohmann::json& image_config);

/// Docker's rule: whether a container that exited with `exit_code` after `restart_count`
/// restarts is restarted again. Never after a user's stop.
bool should_restart(const RestartPolicy& policy, int exit_code, int restart_count,
                    bool stopped_by_user);
/// Docker's back-off: 100 ms, doubled at each restart up to one minute, back to 100 ms once
/// a run lasted 10 s. `previous` is zero before the first restart.
std::chrono::milliseconds next_restart_delay(std::chrono::milliseconds previous,
                                             std::chrono::nanoseconds ran_for);

/// One line of the log file (Docker's json-file format, newline included):
/// {"log":"<text>","stream":"<stream>","time":"<time>"}. Invalid UTF-8 becomes U+FFFD.
std::string log_record(std::string_view text, std::string_view stream, std::string_view time);
/// `time` as RFC 3339 in UTC with nine fraction digits ("2026-11-23T22:01:26.123456789Z").
std::string rfc3339_nanos(std::chrono::system_clock::time_point time);

/// Runs the monitor of the container whose run directory (holding monitor.json) is
/// `container_run_dir`. Forks at once: the calling process returns 0 (its caller exits), the
/// child becomes the monitor in a new session and answers on `sync_fd` with "ok\n" once the
/// container runs (state.json saved), or "error: <why>\n" (state "exited" with the error).
/// The monitor's own return value is its exit status. It adds two files to the run
/// directory: init.pid (the runtime's --pid-file) and healthcheck-process.json.
/// `attach_fd` (-1: none) is the command's end of an attach channel (attach_protocol.h): it
/// gets the container's output from its start and its exit code at its first end, and
/// feeds its input.
int run_monitor(const std::string& container_run_dir, int sync_fd, int attach_fd = -1);

}  // namespace berth::runtime
