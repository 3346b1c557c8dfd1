// The OCI runtime (crun, or runc) as a command-line tool, driven through Boost.Process.
// Only oci_runtime.cpp includes Boost.Process.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace berth::runtime {

/// Where the container's standard streams go: file descriptors owned by the caller (pipes
/// or files), never the CLI's own (a reader would wait until the container exits).
struct Stdio {
  int in = -1;  // -1: /dev/null
  int out = -1;
  int err = -1;
};

struct RuntimeState {
  std::string status;  // "created", "running", "paused", "stopped"
  int pid = 0;         // 0 when not running
};

class OciRuntime {
 public:
  virtual ~OciRuntime() = default;

  /// `crun` or `runc` with state under `state_root` (berth's own, never /run/crun) and the
  /// cgroupfs manager. Throws berth::Error when the program is missing.
  static std::unique_ptr<OciRuntime> make(const std::string& name, const std::string& state_root);

  virtual const std::string& name() const = 0;
  /// `create --bundle <bundle> <id>`; the container's init gets `stdio`. With a console
  /// socket path, the runtime sends the pty master there (`terminal: true` in the spec).
  virtual void create(const std::string& id, const std::string& bundle, const Stdio& stdio,
                      const std::string& console_socket = "", const std::string& pid_file = "") = 0;
  virtual void start(const std::string& id) = 0;
  /// nullopt when the runtime does not know the container.
  virtual std::optional<RuntimeState> state(const std::string& id) = 0;
  virtual void kill(const std::string& id, int signal, bool all = false) = 0;
  /// `delete [--force]`; a container the runtime does not know is not an error.
  virtual void remove(const std::string& id, bool force) = 0;
  /// What `delete` does for a container whose init has exited and been reaped, without
  /// starting the runtime: removes its cgroup `cgroups_path` and its state directory
  /// `<root>/<id>` (both crun and runc keep a container's state there). A runtime start is
  /// 8-10 ms of the ~45 a whole `run --rm` takes here. Falls back to `delete --force` when
  /// the cgroup cannot go (a process still in it).
  virtual void remove_exited(const std::string& id, const std::string& cgroups_path) = 0;
  /// `exec --process <process.json> <id>`; returns the exit code (the command's; -1 with
  /// `detach`). `process_json` is an OCI process object. A console socket needs `detach`
  /// (runc allows it only then); `pid_file` receives the process's pid.
  virtual int exec(const std::string& id, const std::string& process_json_path, const Stdio& stdio,
                   bool detach = false, const std::string& console_socket = "",
                   const std::string& pid_file = "") = 0;
  virtual void pause(const std::string& id) = 0;
  virtual void resume(const std::string& id) = 0;
  /// Host pids of the container's processes.
  virtual std::vector<int> processes(const std::string& id) = 0;
};

}  // namespace berth::runtime
