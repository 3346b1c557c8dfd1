#include "runtime/oci_runtime.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include <fmt/format.h>
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <nlohmann/json.hpp>

#include "runtime/cgroups.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/unique_fd.h"

namespace berth::runtime {
namespace {

namespace bp = boost::process;

/// An anonymous file for what the runtime prints: unlike a pipe, it never fills up, and
/// nothing has to read it while the runtime runs.
Fd capture_file(const char* name) {
  const int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) {
    throw Error(fmt::format("memfd_create {}: {}", name, std::strerror(errno)));
  }
  return Fd(fd);
}

/// A sealed in-memory copy of `program`, to be executed through /proc/self/fd. crun protects
/// the host binary from a container that would overwrite it (CVE-2019-5736) by re-executing
/// itself from a read-only copy at every start, which costs a second exec and dynamic link
/// (3-4 ms of crun's 8 here); a copy that is already sealed against writing is exactly what
/// it would make, so it skips that step. Copying its 0.5 MB takes 0.1 ms.
Fd sealed_copy(const std::string& program) {
  Fd copy(::memfd_create("crun", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  const Fd source(::open(program.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat info {};
  if (copy.get() < 0 || source.get() < 0 || ::fstat(source.get(), &info) != 0) {
    return Fd();
  }
  for (off_t offset = 0; offset < info.st_size;) {
    if (::sendfile(copy.get(), source.get(), &offset,
                   static_cast<std::size_t>(info.st_size - offset)) <= 0) {
      return Fd();
    }
  }
  if (::fcntl(copy.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) !=
      0) {
    return Fd();
  }
  // Above the descriptors ChildStdio puts in place (0 to 3) before the exec opens this one.
  return Fd(::fcntl(copy.get(), F_DUPFD_CLOEXEC, 10));
}

std::string read_from_start(int fd) {
  std::string text;
  char buffer[4096];
  for (off_t offset = 0;;) {
    const ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return text;
    }
    text.append(buffer, static_cast<std::size_t>(n));
    offset += n;
  }
}

/// Gives the runtime the descriptors `fds` as its 0, 1, 2 (and 3 when a log is asked for), in
/// the child between fork and exec. Every source is first copied above 3, so a source that is
/// itself 0 to 3 (a caller passing its own stdout as the container's stderr) is not
/// overwritten before it is used. The child also gets a clean signal state: a blocked or
/// ignored signal in berth (a monitor reading signals through signalfd) would otherwise pass
/// through exec to the container.
struct ChildStdio : bp::extend::handler {
  explicit ChildStdio(const std::array<int, 4>& sources) : fds(sources) {}
  std::array<int, 4> fds;  // fds[3] == -1: no log

  template <class Executor>
  void on_exec_setup(Executor& /*executor*/) const {
    int moved[4] = {-1, -1, -1, -1};
    for (int i = 0; i < 4; ++i) {
      if (fds[i] >= 0 && (moved[i] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 4)) < 0) {
        ::_exit(127);
      }
    }
    for (int i = 0; i < 4; ++i) {
      if (moved[i] >= 0 && ::dup2(moved[i], i) < 0) {
        ::_exit(127);
      }
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
  }
};

/// The runtime's own words for a failure: the last error entry of its JSON log lines, or
/// failing that its last line of plain text.
std::string error_message(const std::string& text) {
  std::string json_error;
  std::string plain;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    const auto entry = nlohmann::json::parse(line, nullptr, false);
    if (entry.is_object()) {
      const auto level = entry.value("level", "");
      if (level == "error" || level == "fatal") {
        json_error = entry.value("msg", "");
      }
      continue;
    }
    plain = line;
  }
  std::string message = json_error.empty() ? plain : json_error;
  // runc repeats its command ("runc create failed: ..."), which berth's message already names.
  if (message.starts_with("runc ")) {
    const auto failed = message.find(" failed: ");
    if (failed != std::string::npos && message.find(' ', 5) == failed) {
      message.erase(0, failed + 9);
    }
  }
  return message;
}

std::string short_id(const std::string& id) {
  return id.substr(0, 12);
}

class CommandLineRuntime final : public OciRuntime {
 public:
  CommandLineRuntime(std::string name, std::string program, std::string root)
      : m_name(std::move(name)),
        m_program(std::move(program)),
        m_root(std::move(root)),
        m_null(::open("/dev/null", O_RDWR | O_CLOEXEC)) {
    if (m_null.get() < 0) {
      throw Error(fmt::format("/dev/null: {}", std::strerror(errno)));
    }
  }

  const std::string& name() const override { return m_name; }

  void create(const std::string& id, const std::string& bundle, const Stdio& stdio,
              const std::string& console_socket, const std::string& pid_file) override {
    // crun reports a missing bundle on its stderr only, which here is the container's.
    if (!fs::is_directory(bundle)) {
      throw Error(fmt::format("{} create {}: bundle {}: {}", m_name, short_id(id), bundle,
                              std::strerror(ENOENT)));
    }
    std::vector<std::string> args{"create", "--bundle", bundle};
    add_process_options(args, console_socket, pid_file);
    args.push_back(id);
    const Result result = run_with_stdio(args, stdio);
    if (result.status != 0) {
      fail("create", id, result);
    }
  }

  void start(const std::string& id) override {
    if (m_name == "crun" && release_crun_init(id)) {
      return;
    }
    check("start", id, run({"start", id}, false));
  }

  std::optional<RuntimeState> state(const std::string& id) override {
    const Result result = run({"state", id}, true);
    if (result.status != 0) {
      if (unknown_container(id, result)) {
        return std::nullopt;
      }
      fail("state", id, result);
    }
    const auto json = nlohmann::json::parse(result.out, nullptr, false);
    if (!json.is_object() || !json.contains("status")) {
      throw Error(fmt::format("{} state {}: unexpected output: {}", m_name, short_id(id),
                              result.out.substr(0, 200)));
    }
    RuntimeState state;
    state.status = json.value("status", "");
    state.pid = state.status == "stopped" ? 0 : json.value("pid", 0);
    return state;
  }

  void kill(const std::string& id, int signal, bool all) override {
    std::vector<std::string> args{"kill"};
    if (all) {
      args.push_back("--all");
    }
    args.insert(args.end(), {id, std::to_string(signal)});
    check("kill", id, run(args, false));
  }

  void remove(const std::string& id, bool force) override {
    std::vector<std::string> args{"delete"};
    if (force) {
      args.push_back("--force");
    }
    args.push_back(id);
    const Result result = run(args, false);
    if (result.status != 0 && !unknown_container(id, result)) {
      fail("delete", id, result);
    }
  }

  void remove_exited(const std::string& id, const std::string& cgroups_path) override {
    try {
      remove_cgroup(cgroups_path);
    } catch (const Error&) {
      remove(id, true);
      return;
    }
    std::error_code error;
    std::filesystem::remove_all(m_root + "/" + id, error);
    if (error) {
      throw Error(fmt::format("{} delete {}: {}/{}: {}", m_name, short_id(id), m_root, id,
                              error.message()));
    }
  }

  int exec(const std::string& id, const std::string& process_json_path, const Stdio& stdio,
           bool detach, const std::string& console_socket, const std::string& pid_file) override {
    std::vector<std::string> args{"exec", "--process", process_json_path};
    if (detach) {
      args.push_back("--detach");
    }
    add_process_options(args, console_socket, pid_file);
    args.push_back(id);
    const Result result = run_with_stdio(args, stdio);
    // Without --detach the runtime exits with the command's code, so only its log tells its
    // own failure (no such container, no such executable) from the command's.
    if (!result.error.empty() || (detach && result.status != 0)) {
      fail("exec", id, result);
    }
    return detach ? -1 : result.status;
  }

  void pause(const std::string& id) override { check("pause", id, run({"pause", id}, false)); }

  void resume(const std::string& id) override { check("resume", id, run({"resume", id}, false)); }

  std::vector<int> processes(const std::string& id) override {
    const Result result = run({"ps", "--format", "json", id}, true);
    if (result.status != 0) {
      fail("ps", id, result);
    }
    const auto json = nlohmann::json::parse(result.out, nullptr, false);
    std::vector<int> pids;
    if (json.is_array()) {
      for (const auto& pid : json) {
        if (pid.is_number_integer()) {
          pids.push_back(pid.get<int>());
        }
      }
    } else if (!json.is_null()) {  // runc prints "null" for none
      throw Error(fmt::format("{} ps {}: unexpected output: {}", m_name, short_id(id),
                              result.out.substr(0, 200)));
    }
    return pids;
  }

 private:
  struct Result {
    int status = 0;     // exit code, or 128 + signal
    std::string out;    // captured stdout (commands that print something)
    std::string error;  // the runtime's error message, empty when it logged none
  };

  /// --console-socket and --pid-file, shared by create and exec; empty: not given.
  static void add_process_options(std::vector<std::string>& args, const std::string& console_socket,
                                  const std::string& pid_file) {
    if (!console_socket.empty()) {
      args.insert(args.end(), {"--console-socket", console_socket});
    }
    if (!pid_file.empty()) {
      args.insert(args.end(), {"--pid-file", pid_file});
    }
  }

  std::vector<std::string> global_args() const {
    std::vector<std::string> args{"--root", m_root, "--log-format=json"};
    if (m_name == "crun") {
      args.push_back("--cgroup-manager=cgroupfs");  // runc's default already
    }
    return args;
  }

  /// A command whose standard streams are the runtime's only: stdout captured when asked,
  /// stderr captured for the error message.
  Result run(const std::vector<std::string>& command, bool capture_out) {
    const Fd err = capture_file("runtime-stderr");
    const Fd out = capture_out ? capture_file("runtime-stdout") : Fd();
    std::vector<std::string> args = global_args();
    args.insert(args.end(), command.begin(), command.end());
    Result result;
    result.status =
        spawn(args, {m_null.get(), capture_out ? out.get() : m_null.get(), err.get(), -1});
    if (capture_out) {
      result.out = read_from_start(out.get());
    }
    if (result.status != 0) {
      result.error = error_message(read_from_start(err.get()));
    }
    return result;
  }

  /// create and exec: the runtime's 0/1/2 are the container's (crun hands its own over), so
  /// the runtime's messages go to a log file instead. The file is anonymous, so nothing is
  /// left behind whatever happens to berth; the runtime inherits it as fd 3 and opens it by
  /// that name. (The runtimes close every fd above 2 before they start a container process.)
  Result run_with_stdio(const std::vector<std::string>& command, const Stdio& stdio) {
    const Fd log = capture_file("runtime-log");
    std::vector<std::string> args = global_args();
    if (m_name == "crun") {
      args.push_back("--log=file:/proc/self/fd/3");
    } else {
      args.insert(args.end(), {"--log", "/proc/self/fd/3"});
    }
    args.insert(args.end(), command.begin(), command.end());
    const auto or_null = [&](int fd) { return fd >= 0 ? fd : m_null.get(); };
    Result result;
    result.status =
        spawn(args, {or_null(stdio.in), or_null(stdio.out), or_null(stdio.err), log.get()});
    result.error = error_message(read_from_start(log.get()));
    return result;
  }

  /// Runs the runtime to its end; never reads its output while it runs.
  int spawn(const std::vector<std::string>& args, const std::array<int, 4>& fds) {
    // Without a copy (no memfd here), the runtime protects itself the slow way.
    const Fd copy = m_name == "crun" ? sealed_copy(m_program) : Fd();
    const std::string exe =
        copy.get() >= 0 ? fmt::format("/proc/self/fd/{}", copy.get()) : m_program;
    std::error_code error;
    bp::child child(bp::exe = exe, bp::args = args, ChildStdio(fds), error);
    if (!error) {
      child.wait(error);
    }
    if (error) {
      throw Error(fmt::format("cannot run {}: {}", m_program, error.message()));
    }
    const int status = child.native_exit_code();
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  }

  /// What `crun start` does, without starting crun (5-6 ms of a 50 ms `run --rm` here):
  /// crun's create leaves the init blocked reading `<root>/<id>/exec.fifo`, and start opens
  /// the FIFO for writing, unlinks it (crun's "created" means the FIFO exists) and writes one
  /// byte. Every crun from 0.x to 1.x does exactly this; the rest of its start runs
  /// poststart hooks, which berth's specs never have. False, for crun to start it and report
  /// in its own words, when the FIFO is not there or no init reads it (ENOENT, ENXIO).
  /// runc's FIFO works the other way round, so runc always starts itself.
  bool release_crun_init(const std::string& id) const {
    const std::string fifo = m_root + "/" + id + "/exec.fifo";
    const Fd fd(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) {
      return false;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISFIFO(st.st_mode) || ::unlink(fifo.c_str()) != 0) {
      return false;
    }
    const char go = '0';
    ssize_t written;
    do {
      written = ::write(fd.get(), &go, 1);
    } while (written < 0 && errno == EINTR);
    if (written != 1) {
      throw Error(fmt::format("{} start {}: write {}: {}", m_name, short_id(id), fifo,
                              std::strerror(errno)));
    }
    return true;
  }

  bool unknown_container(const std::string& id, const Result& result) const {
    if (m_name == "runc") {
      return result.error == "container does not exist";
    }
    // crun names the state directory it could not open: "<root>/<id>/status" or "<root>/<id>".
    const std::string dir = m_root + "/" + id;
    return result.error.find(dir) != std::string::npos &&
           result.error.find(std::strerror(ENOENT)) != std::string::npos;
  }

  void check(std::string_view command, const std::string& id, const Result& result) const {
    if (result.status != 0) {
      fail(command, id, result);
    }
  }

  [[noreturn]] void fail(std::string_view command, const std::string& id,
                         const Result& result) const {
    const std::string reason =
        result.error.empty() ? fmt::format("exited with status {}", result.status) : result.error;
    throw Error(fmt::format("{} {} {}: {}", m_name, command, short_id(id), reason));
  }

  std::string m_name;
  std::string m_program;
  std::string m_root;
  Fd m_null;
};

}  // namespace

std::unique_ptr<OciRuntime> OciRuntime::make(const std::string& name,
                                             const std::string& state_root) {
  if (name != "crun" && name != "runc") {
    throw Error(fmt::format("unknown OCI runtime \"{}\" (berth drives crun or runc)", name));
  }
  // Not Boost's search_path: it builds the user's locale, mapping some 200 KiB of locale
  // data into every berth process and each long-lived monitor.
  const auto program = fs::find_executable(name);
  if (!program) {
    throw Error(fmt::format("runtime \"{}\" not found in PATH", name));
  }
  // The runtime chdirs into the bundle, and error texts name this path: make it absolute.
  const std::string root = fs::absolute(
      state_root, state_root.starts_with('/') ? std::string("/") : fs::current_directory());
  return std::make_unique<CommandLineRuntime>(name, *program, root);
}

}  // namespace berth::runtime
