#include "runtime/monitor.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "runtime/attach_protocol.h"
#include "runtime/cgroups.h"
#include "runtime/console_socket.h"
#include "runtime/container_state.h"
#include "runtime/event_journal.h"
#include "runtime/oci_runtime.h"
#include "runtime/rootfs.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/trash.h"
#include "util/unique_fd.h"

extern char** environ;

namespace berth::runtime {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

/// Docker's json-file driver splits a line longer than its 16 KiB read buffer.
constexpr std::size_t k_max_record = 16 * 1024;
/// Docker keeps this much of a probe's output, and this many results.
constexpr std::size_t k_max_probe_output = 4096;
constexpr std::size_t k_health_log_size = 5;
/// How long a runtime gets to return once its command was killed.
constexpr auto k_probe_grace = milliseconds(1000);
/// How long the pipes may stay open after the container's init exited (a process that
/// escaped the container's pid namespace could hold them forever).
constexpr auto k_drain_limit = seconds(2);
constexpr auto k_first_restart_delay = milliseconds(100);
constexpr auto k_max_restart_delay = milliseconds(60'000);
constexpr auto k_restart_delay_reset = seconds(10);

constexpr std::string_view k_stream_names[] = {"stdout", "stderr"};
/// Output queued for a slow attached command, above which the container's streams are no
/// longer read (the container then waits on its full pipe, as with a slow terminal): no
/// output is ever dropped, and the monitor's memory stays bounded.
constexpr std::size_t k_client_backlog = 1024 * 1024;
/// How long the runtime may take to hand over the terminal it made.
constexpr int k_console_timeout_ms = 10'000;

std::string errno_text(std::string_view what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/// Both ends close-on-exec: the runtime must not inherit what it was not given explicitly.
std::pair<Fd, Fd> make_pipe() {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) {
    throw Error(errno_text("pipe"));
  }
  return {Fd(ends[0]), Fd(ends[1])};
}

Fd pidfd_open(int pid) {
  return Fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

/// Writes all of `data`, retrying short writes; false on an error.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// The exit code a shell would report for a wait(2) status.
int exit_code_of(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return 255;
}

/// The exit code Docker gives a container that could not start, from the runtime's words.
int start_failure_exit_code(const std::string& message) {
  std::string lower = message;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("not found") != std::string::npos ||
      lower.find("no such file or directory") != std::string::npos) {
    return 127;
  }
  if (lower.find("permission denied") != std::string::npos) {
    return 126;
  }
  return 128;
}

/// `text` on one line: the sync pipe and the state's error field hold one line.
std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

/// Go's Duration.String(), which Docker's healthcheck timeout message uses ("300ms", "1m30s").
std::string go_duration(nanoseconds duration) {
  std::int64_t ns = duration.count();
  if (ns == 0) {
    return "0s";
  }
  auto decimal = [](std::int64_t value, std::int64_t unit, int digits) {
    std::string fraction = fmt::format("{:0{}}", value % unit, digits);
    while (!fraction.empty() && fraction.back() == '0') {
      fraction.pop_back();
    }
    return fraction.empty() ? fmt::format("{}", value / unit)
                            : fmt::format("{}.{}", value / unit, fraction);
  };
  if (ns < 1'000) {
    return fmt::format("{}ns", ns);
  }
  if (ns < 1'000'000) {
    return decimal(ns, 1'000, 3) + "\u00b5s";
  }
  if (ns < 1'000'000'000) {
    return decimal(ns, 1'000'000, 6) + "ms";
  }
  std::string out;
  const std::int64_t hours = ns / 3'600'000'000'000;
  ns -= hours * 3'600'000'000'000;
  const std::int64_t minutes = ns / 60'000'000'000;
  ns -= minutes * 60'000'000'000;
  if (hours > 0) {
    out += fmt::format("{}h", hours);
  }
  if (hours > 0 || minutes > 0) {
    out += fmt::format("{}m", minutes);
  }
  return out + decimal(ns, 1'000'000'000, 9) + "s";
}

std::string now_rfc3339() {
  return rfc3339_nanos(std::chrono::system_clock::now());
}

// --- monitor.json -------------------------------------------------------------------------

constexpr std::pair<RestartPolicy::Name, std::string_view> k_restart_names[] = {
    {RestartPolicy::Name::no, "no"},
    {RestartPolicy::Name::always, "always"},
    {RestartPolicy::Name::on_failure, "on-failure"},
    {RestartPolicy::Name::unless_stopped, "unless-stopped"},
};

std::string_view restart_name(RestartPolicy::Name name) {
  for (const auto& [value, text] : k_restart_names) {
    if (value == name) {
      return text;
    }
  }
  return "no";
}

RestartPolicy::Name parse_restart_name(const std::string& text) {
  for (const auto& [value, name] : k_restart_names) {
    if (name == text) {
      return value;
    }
  }
  throw Error(fmt::format("unknown restart policy \"{}\"", text));
}

json healthcheck_to_json(const Healthcheck& check) {
  return json{{"test", check.test},
              {"interval", check.interval.count()},
              {"timeout", check.timeout.count()},
              {"start_period", check.start_period.count()},
              {"start_interval", check.start_interval.count()},
              {"retries", check.retries}};
}

Healthcheck healthcheck_from_json(const json& value) {
  Healthcheck check;
  check.test = value.at("test").get<std::vector<std::string>>();
  check.interval = nanoseconds(value.value("interval", check.interval.count()));
  check.timeout = nanoseconds(value.value("timeout", check.timeout.count()));
  check.start_period = nanoseconds(value.value("start_period", check.start_period.count()));
  check.start_interval = nanoseconds(value.value("start_interval", check.start_interval.count()));
  check.retries = value.value("retries", check.retries);
  if (check.test.empty() || check.test.front() == "NONE") {
    return check;
  }
  if (check.test.front() != "CMD" && check.test.front() != "CMD-SHELL") {
    throw Error(fmt::format("healthcheck test must start with CMD or CMD-SHELL, not \"{}\"",
                            check.test.front()));
  }
  if (check.test.size() < 2 || (check.test.front() == "CMD-SHELL" && check.test.size() != 2)) {
    throw Error(fmt::format("healthcheck test {} has no command", json(check.test).dump()));
  }
  // Zero means Docker's default, as in an image's config.
  const Healthcheck defaults;
  for (auto [value, fallback] :
       {std::pair{&check.interval, defaults.interval}, std::pair{&check.timeout, defaults.timeout},
        std::pair{&check.start_interval, defaults.start_interval}}) {
    if (value->count() <= 0) {
      *value = fallback;
    }
  }
  check.start_period = std::max(check.start_period, nanoseconds(0));
  check.retries = check.retries > 0 ? check.retries : defaults.retries;
  return check;
}

/// The argv a healthcheck test runs.
std::vector<std::string> probe_args(const Healthcheck& check) {
  if (check.test.front() == "CMD-SHELL") {
    return {"/bin/sh", "-c", check.test[1]};
  }
  return {check.test.begin() + 1, check.test.end()};
}

/// Whether the memory cgroup counted an OOM kill (v1 memory.oom_control, v2 memory.events).
bool cgroup_saw_oom_kill(const std::string& cgroups_path) {
  try {
    for (const auto& dir : cgroup_dirs(cgroups_path)) {
      for (const char* file : {"/memory.oom_control", "/memory.events"}) {
        const auto text = fs::read_file_if_exists(dir + file);
        if (!text) {
          continue;
        }
        const std::string_view key = "oom_kill ";
        for (std::size_t at = 0; at < text->size();) {
          const std::size_t end = std::min(text->find('\n', at), text->size());
          const std::string_view line = std::string_view(*text).substr(at, end - at);
          if (line.starts_with(key) && line.substr(key.size()) != "0") {
            return true;
          }
          at = end + 1;
        }
      }
    }
  } catch (const std::exception&) {
    // Best effort: a missing controller only costs the flag.
  }
  return false;
}

// --- the log ------------------------------------------------------------------------------

/// The container's log: complete lines of each stream become one record each, appended with
/// one write(2) so a reader never sees half a record.
class LogWriter {
 public:
  explicit LogWriter(std::string path) : m_path(std::move(path)) {}

  void open() {
    m_fd.reset(::open(m_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!m_fd) {
      throw Error(errno_text(m_path));
    }
  }

  void feed(int stream, std::string_view data) {
    std::string& pending = m_pending[stream];
    while (!data.empty()) {
      const std::size_t room = k_max_record - pending.size();
      const std::size_t newline = data.substr(0, room).find('\n');
      if (newline == std::string_view::npos && data.size() < room) {
        pending.append(data);
        return;
      }
      // A whole line, or a full record's worth of a longer one (emitted without newline).
      const std::size_t take = newline == std::string_view::npos ? room : newline + 1;
      if (pending.empty()) {
        emit(stream, data.substr(0, take));
      } else {
        pending.append(data.substr(0, take));
        emit(stream, pending);
        pending.clear();
      }
      data.remove_prefix(take);
    }
  }

  /// At the end of a stream: its last line, even without a newline.
  void flush(int stream) {
    std::string& pending = m_pending[stream];
    if (!pending.empty()) {
      emit(stream, pending);
      pending.clear();
    }
    pending.shrink_to_fit();
  }

 private:
  void emit(int stream, std::string_view text) {
    // A full disk loses lines rather than stopping the container.
    write_all(m_fd.get(), log_record(text, k_stream_names[stream], now_rfc3339()));
  }

  std::string m_path;
  Fd m_fd;
  std::string m_pending[2];
};

/// Appends the children of every thread of `pid` (runc, in Go, forks from any thread).
void append_children(int pid, std::vector<int>& out) {
  const std::string tasks = fmt::format("/proc/{}/task", pid);
  DIR* dir = ::opendir(tasks.c_str());
  if (dir == nullptr) {
    return;
  }
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') {
      continue;
    }
    std::optional<std::string> children;
    try {
      children = fs::read_file_if_exists(fmt::format("{}/{}/children", tasks, entry->d_name));
    } catch (const Error&) {
      continue;  // the thread ended meanwhile
    }
    std::string_view rest = children.value_or("");
    for (int child = 0;;) {
      rest.remove_prefix(std::min(rest.find_first_not_of(' '), rest.size()));
      const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), child);
      if (error != std::errc()) {
        break;
      }
      out.push_back(child);
      rest.remove_prefix(static_cast<std::size_t>(end - rest.data()));
    }
  }
  ::closedir(dir);
}

// --- the monitor --------------------------------------------------------------------------

struct Probe {
  Clock::time_point began;
  pid_t pid = 0;  // our child, leader of its own process group (with the runtime's exec)
  Fd pidfd;
  Fd out;
  std::string output;
  HealthResult result;
  bool timed_out = false;  // its command was killed; the runtime has a grace period to return
};

class Monitor {
 public:
  Monitor(MonitorConfig config, std::string run_dir, int attach_fd)
      : m_config(std::move(config)),
        m_run_dir(std::move(run_dir)),
        m_log(m_config.log_path),
        m_client(attach_fd) {}

  int run(int sync_fd);

 private:
  void prepare();
  void start_container();
  void supervise();
  bool wait_before_restart(milliseconds delay);
  void record_start_failure(const std::string& message);
  void save();
  void event(std::string_view action, std::map<std::string, std::string> extra = {});
  std::vector<std::string> remove_leftovers();
  void run_final_exit_command();

  void read_client();
  void queue_to_client(attach::Kind kind, std::string_view payload);
  void flush_client();
  void finish_client();
  void drop_client();
  void write_stdin();
  void end_stdin();
  void apply_window();

  void pump(int stream);
  void drain();
  int collect_exit_code();
  void reap_strays();
  void kill_strays();

  void arm_timer(nanoseconds delay);
  void schedule_probe();
  void launch_probe();
  void read_probe_output();
  void time_out_probe();
  void kill_probe_command();
  void kill_probe_process();
  void finish_probe();
  void record_health(HealthResult result, Clock::time_point began);
  void stop_probe();

  MonitorConfig m_config;
  std::string m_run_dir;
  std::unique_ptr<OciRuntime> m_runtime;
  ContainerState m_state;
  LogWriter m_log;
  Fd m_devnull;
  std::string m_probe_process_path;  // empty: no healthcheck

  // The attached command, while it is there, and what waits to be sent to it.
  Fd m_client;
  std::deque<std::string> m_client_queue;
  std::size_t m_client_queued = 0;
  // The container's input (a pipe, or the terminal's master) and what waits to go in.
  Fd m_stdin;
  std::string m_stdin_pending;
  bool m_stdin_ending = false;  // close it once the pending input is written
  std::optional<ConsoleSocket> m_console;
  std::optional<std::pair<unsigned, unsigned>> m_window;  // rows, columns the command asked for

  // The current run of the container.
  int m_pid = 0;
  Fd m_pidfd;
  Fd m_streams[2];
  Clock::time_point m_started;
  std::optional<int> m_wait_status;  // the init's, when reaped among strays

  Fd m_timer;
  std::optional<Probe> m_probe;
  std::optional<int> m_probe_status;  // the probe child's, when reaped among strays
  bool m_cgroup_removed = false;      // by the last run's runtime removal
};

int Monitor::run(int sync_fd) {
  m_state.monitor_pid = ::getpid();
  m_state.monitor_start_time = process_start_time(m_state.monitor_pid).value_or(0);
  try {
    prepare();
    start_container();
  } catch (const std::exception& e) {
    record_start_failure(one_line(e.what()));
    event("die", {{"exitCode", std::to_string(m_state.exit_code)}});
    m_state.status = "exited";
    save();
    write_all(sync_fd, fmt::format("error: {}\n", m_state.error));
    ::close(sync_fd);
    return 1;
  }
  event("start");
  save();
  write_all(sync_fd, "ok\n");
  ::close(sync_fd);

  milliseconds delay{0};
  bool running = true;  // false after a restart that failed to start
  for (;;) {
    nanoseconds ran_for{0};
    if (running) {
      const Clock::time_point started = m_started;
      supervise();
      ran_for = Clock::now() - started;
      // Before the state says the container ended: a `stop` waiting for that appends its
      // own event after this one, as Docker orders them (kill, die, stop).
      if (m_state.oom_killed) {
        event("oom");
      }
      event("die", {{"exitCode", std::to_string(m_state.exit_code)},
                    {"execDuration",
                     std::to_string(std::chrono::duration_cast<seconds>(ran_for).count())}});
    }
    if (!should_restart(m_config.restart, m_state.exit_code, m_state.restart_count,
                        exists(m_config.stopping_path))) {
      break;  // the attached command hears of the end once the state is final, below
    }
    // Docker's attached run returns at the container's first end, whatever the policy.
    finish_client();
    delay = next_restart_delay(delay, ran_for);
    ++m_state.restart_count;
    m_state.status = "restarting";
    save();
    if (!wait_before_restart(delay)) {
      break;
    }
    try {
      start_container();
      running = true;
      event("start");
      save();
    } catch (const std::exception& e) {
      // Counted as a run that ended at once: the policy decides again, with a longer delay.
      record_start_failure(one_line(e.what()));
      event("die", {{"exitCode", std::to_string(m_state.exit_code)}});
      running = false;
    }
  }
  // The end is recorded first: a `stop` (and a dependency-ordered `down`) goes on as soon
  // as the processes are gone, while the network is released here; what needs that done
  // (rm, start) waits for this process to exit.
  m_state.status = "exited";
  save();
  run_final_exit_command();
  if (!m_state.error.empty()) {
    save();  // the release failed: its message goes with the state
  }
  std::vector<std::string> trashed;
  if (m_config.auto_remove) {
    trashed = remove_leftovers();
    if (!m_config.remove_paths.empty() && !exists(m_config.remove_paths.front())) {
      event("destroy");
    }
  } else if (!m_config.rootfs.empty()) {
    // A stopped container holds no mount, as with Docker; `start` mounts it again.
    try {
      unmount_rootfs(m_config.rootfs);
    } catch (const std::exception&) {
      // `rm` tries again.
    }
  }
  finish_client();
  for (const auto& path : trashed) {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  return 0;
}

/// What does not change between runs: the runtime, the log, the cgroup, the probe's process.
void Monitor::prepare() {
  m_devnull.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!m_devnull) {
    throw Error(errno_text("/dev/null"));
  }
  m_runtime = OciRuntime::make(m_config.runtime, m_config.runtime_root);
  m_log.open();

  if (m_config.tty) {
    m_console.emplace(m_run_dir, "init");
  }

  if (m_config.healthcheck && !m_config.healthcheck->test.empty() &&
      m_config.healthcheck->test.front() != "NONE") {
    const std::string config_path = m_config.bundle + "/config.json";
    json spec;
    try {
      spec = json::parse(fs::read_file(config_path));
    } catch (const json::exception& e) {
      throw Error(fmt::format("{}: {}", config_path, e.what()));
    }
    // The container's own process (user, env, cwd, capabilities) with the test's argv, as
    // Docker's exec does.
    json process = spec.value("process", json::object());
    process["args"] = probe_args(*m_config.healthcheck);
    process["terminal"] = false;
    process.erase("consoleSize");
    m_probe_process_path = m_run_dir + "/healthcheck-process.json";
    const std::string text = process.dump();
    const std::string temp = m_probe_process_path + ".tmp";
    Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd || !write_all(fd.get(), text)) {
      throw Error(errno_text(temp));
    }
    fd.reset();
    if (::rename(temp.c_str(), m_probe_process_path.c_str()) != 0) {
      throw Error(errno_text(m_probe_process_path));
    }
    m_timer.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (!m_timer) {
      throw Error(errno_text("timerfd"));
    }
  }
}

/// `create` + `start` with fresh pipes (or a fresh terminal); the state says running
/// afterwards (not yet saved).
void Monitor::start_container() {
  m_cgroup_removed = false;  // the runtime makes it anew
  const bool tty = m_console.has_value();
  Fd out_read, out_write, err_read, err_write, in_read, in_write;
  if (!tty) {
    std::tie(out_read, out_write) = make_pipe();
    std::tie(err_read, err_write) = make_pipe();
    if (m_config.stdin_open) {
      std::tie(in_read, in_write) = make_pipe();
    }
  }
  const std::string pid_file = m_run_dir + "/init.pid";
  ::unlink(pid_file.c_str());

  auto abandon = [&] {
    try {
      m_runtime->remove(m_config.id, true);
    } catch (const std::exception&) {
      // Nothing more to do: the error that got us here is the one to report.
    }
    reap_strays();
  };

  // `create` then `start`, not `run --detach` (one runtime start less): crun's intermediate
  // process may reap an init that exits at once before the init is re-parented to us, and
  // its exit status would be lost. A created init waits for `start`, by which time it is
  // ours.
  try {
    const FileLock creating = cgroup_creation_lock();
    m_runtime->create(
        m_config.id, m_config.bundle,
        Stdio{in_read ? in_read.get() : m_devnull.get(), tty ? m_devnull.get() : out_write.get(),
              tty ? m_devnull.get() : err_write.get()},
        tty ? m_console->address() : "", pid_file);
  } catch (...) {
    abandon();
    throw;
  }
  out_write.reset();
  err_write.reset();
  in_read.reset();

  Fd master;
  if (tty) {
    master.reset(m_console->receive_master(k_console_timeout_ms));
    if (!master) {
      abandon();
      throw Error(fmt::format("container {}: the runtime handed over no terminal", m_config.id));
    }
  }

  int pid = 0;
  if (const auto text = fs::read_file_if_exists(pid_file)) {
    std::from_chars(text->data(), text->data() + text->size(), pid);
  }
  Fd pidfd = pid > 0 ? pidfd_open(pid) : Fd();
  if (!pidfd) {
    const std::string message = fmt::format("container {}: no init process after start ({})",
                                            m_config.id, std::strerror(errno));
    abandon();
    throw Error(message);
  }
  const auto pid_start_time = process_start_time(pid).value_or(0);
  try {
    m_runtime->start(m_config.id);
  } catch (...) {
    abandon();
    // The init was killed by the forced delete; collect it.
    pollfd gone{pidfd.get(), POLLIN, 0};
    ::poll(&gone, 1, 1000);
    ::waitpid(pid, nullptr, WNOHANG);
    throw;
  }

  if (tty) {
    // One descriptor to read the terminal, one to write it: each is polled on its own.
    out_read.reset(::fcntl(master.get(), F_DUPFD_CLOEXEC, 3));
    if (m_config.stdin_open) {
      in_write = std::move(master);
    }
  }
  set_nonblocking(out_read.get());
  if (err_read) {
    set_nonblocking(err_read.get());
  }
  if (in_write) {
    set_nonblocking(in_write.get());
  }
  m_streams[0] = std::move(out_read);
  m_streams[1] = std::move(err_read);
  m_stdin = std::move(in_write);
  m_stdin_pending.clear();
  m_stdin_ending = false;
  apply_window();
  m_pid = pid;
  m_pidfd = std::move(pidfd);
  m_wait_status.reset();
  m_started = Clock::now();

  m_state.status = "running";
  m_state.pid = pid;
  m_state.pid_start_time = pid_start_time;
  m_state.exit_code = 0;
  m_state.oom_killed = false;
  m_state.started_at = now_rfc3339();
  m_state.finished_at.clear();
  m_state.error.clear();
  if (!m_probe_process_path.empty()) {
    m_state.health = "starting";
    m_state.failing_streak = 0;
    schedule_probe();
  }
  reap_strays();  // the runtime's intermediate processes, re-parented to us
}

/// Until the container's init exits: the log, the healthcheck. Then the state records the
/// end (not yet saved) and the runtime's container is deleted.
void Monitor::supervise() {
  for (;;) {
    // A slow attached command holds the output back rather than losing it.
    const short output_events = m_client_queued < k_client_backlog ? POLLIN : 0;
    // Input is taken from the command only as fast as the container reads it.
    const short client_events = static_cast<short>((m_stdin_pending.empty() ? POLLIN : 0) |
                                                   (m_client_queue.empty() ? 0 : POLLOUT));
    pollfd fds[] = {
        {m_streams[0].get(), output_events, 0},
        {m_streams[1].get(), output_events, 0},
        {m_pidfd.get(), POLLIN, 0},
        {m_timer.get(), POLLIN, 0},
        {m_probe ? m_probe->out.get() : -1, POLLIN, 0},
        {m_probe ? m_probe->pidfd.get() : -1, POLLIN, 0},
        {m_client.get(), client_events, 0},
        {m_stdin_pending.empty() ? -1 : m_stdin.get(), POLLOUT, 0},
    };
    if (::poll(fds, std::size(fds), -1) < 0) {
      continue;  // EINTR (an ignored signal) or ENOMEM: try again
    }
    for (int stream = 0; stream < 2; ++stream) {
      if (fds[stream].revents != 0) {
        pump(stream);
      }
    }
    if ((fds[6].revents & POLLOUT) != 0) {
      flush_client();
    }
    if ((fds[6].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      read_client();
    }
    if (fds[7].revents != 0) {
      write_stdin();
    }
    if (fds[4].revents != 0) {
      read_probe_output();
    }
    if (fds[5].revents != 0) {
      finish_probe();
    }
    // Re-armed meanwhile (a probe ended at its deadline), the timer has nothing to read.
    std::uint64_t expirations = 0;
    if (fds[3].revents != 0 &&
        ::read(m_timer.get(), &expirations, sizeof expirations) == sizeof expirations) {
      if (!m_probe) {
        launch_probe();
      } else if (!m_probe->timed_out) {
        time_out_probe();
      } else {
        finish_probe();
      }
    }
    if (fds[2].revents != 0) {
      break;
    }
    reap_strays();
  }

  stop_probe();
  arm_timer(nanoseconds(0));
  drain();
  m_state.exit_code = collect_exit_code();
  m_state.oom_killed = cgroup_saw_oom_kill(m_config.cgroups_path);
  m_state.finished_at = now_rfc3339();
  m_state.pid = 0;
  m_state.pid_start_time = 0;
  m_pidfd.reset();
  // It must be created anew to run again; deleting also frees the id for `berth start`.
  try {
    m_runtime->remove_exited(m_config.id, m_config.cgroups_path);
    m_cgroup_removed = true;
  } catch (const std::exception& e) {
    m_state.error = one_line(e.what());
  }
  reap_strays();
}

/// Sleeps `delay` unless a user's stop begins meanwhile (false then).
bool Monitor::wait_before_restart(milliseconds delay) {
  Fd watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (watch) {
    ::inotify_add_watch(watch.get(), fs::dirname(m_config.stopping_path).c_str(),
                        IN_CREATE | IN_MOVED_TO);
  }
  const auto deadline = Clock::now() + delay;
  for (;;) {
    if (exists(m_config.stopping_path)) {
      return false;
    }
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return true;
    }
    // Without inotify, look at the marker every 100 ms.
    pollfd event{watch.get(), POLLIN, 0};
    ::poll(&event, 1, static_cast<int>(watch ? left.count() : std::min<long>(left.count(), 100)));
    char buffer[512];
    while (watch && ::read(watch.get(), buffer, sizeof buffer) > 0) {
    }
  }
}

/// The end of a run that never began; the status is the caller's to set.
void Monitor::record_start_failure(const std::string& message) {
  m_state.error = message;
  m_state.exit_code = start_failure_exit_code(message);
  m_state.pid = 0;
  m_state.pid_start_time = 0;
  m_state.finished_at = now_rfc3339();
}

void Monitor::save() {
  try {
    write_state(m_config.state_path, m_state);
  } catch (const std::exception&) {
    // Nobody to tell: the monitor has no terminal. The next write may succeed.
  }
}

/// Appends an event of the container to the journal; one that cannot be written is lost,
/// never the container's business.
void Monitor::event(std::string_view action, std::map<std::string, std::string> extra) {
  if (m_config.events_path.empty()) {
    return;
  }
  JournalEvent record;
  record.action = action;
  record.id = m_config.id;
  record.attributes = m_config.event_attributes;
  for (auto& [key, value] : extra) {
    record.attributes[key] = std::move(value);
  }
  append_event(m_config.events_path, std::move(record));
}

/// Moves what a container stream has into the log; at its end, closes it. A bounded amount
/// per call, so that a chatty stream does not starve the other one or the healthcheck.
void Monitor::pump(int stream) {
  char buffer[16 * 1024];
  for (int reads = 0; reads < 16; ++reads) {
    const ssize_t n = ::read(m_streams[stream].get(), buffer, sizeof buffer);
    if (n > 0) {
      const std::string_view data(buffer, static_cast<std::size_t>(n));
      m_log.feed(stream, data);
      if (m_client) {
        queue_to_client(stream == 0 ? attach::Kind::stdout_data : attach::Kind::stderr_data, data);
      }
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      return;
    }
    m_log.flush(stream);
    m_streams[stream].reset();
    return;
  }
}

/// After the init exited: what the pipes still hold, until every writer is gone.
void Monitor::drain() {
  const auto deadline = Clock::now() + k_drain_limit;
  while (m_streams[0] || m_streams[1]) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      break;
    }
    pollfd fds[] = {{m_streams[0].get(), POLLIN, 0}, {m_streams[1].get(), POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    for (int stream = 0; stream < 2; ++stream) {
      if (fds[stream].revents != 0) {
        pump(stream);
      }
    }
  }
  for (int stream = 0; stream < 2; ++stream) {
    m_log.flush(stream);
    m_streams[stream].reset();
  }
}

int Monitor::collect_exit_code() {
  if (!m_wait_status) {
    int status = 0;
    pid_t reaped = -1;
    do {
      reaped = ::waitpid(m_pid, &status, 0);
    } while (reaped < 0 && errno == EINTR);
    if (reaped == m_pid) {
      m_wait_status = status;
    }
  }
  // Not our child (the runtime did not leave it to its subreaper): the status is lost.
  return m_wait_status ? exit_code_of(*m_wait_status) : 255;
}

/// As a subreaper we inherit the runtime's orphans; collect them without losing the status
/// of the two children that matter.
void Monitor::reap_strays() {
  int status = 0;
  for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
    if (pid == m_pid) {
      m_wait_status = status;
    } else if (m_probe && pid == m_probe->pid) {
      m_probe_status = status;
    }
  }
}

/// After killing a probe's runtime: whatever it left to us (its command, re-parented).
void Monitor::kill_strays() {
  const auto deadline = Clock::now() + seconds(1);
  while (Clock::now() < deadline) {
    reap_strays();
    std::vector<int> children;
    append_children(::getpid(), children);
    std::erase(children, m_pid);
    if (children.empty()) {
      return;
    }
    for (const int pid : children) {
      ::kill(pid, SIGKILL);
    }
    ::usleep(10'000);
  }
}

/// The final-exit command (MonitorConfig): run to its end with /dev/null as input and
/// output, its standard error kept for the state's error when it fails.
void Monitor::run_final_exit_command() {
  const auto& command = m_config.final_exit_command;
  if (command.empty()) {
    return;
  }
  Fd errors(::memfd_create("final-exit-stderr", MFD_CLOEXEC));
  std::vector<char*> argv;
  std::vector<std::string> args = command;
  for (auto& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, m_devnull.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, m_devnull.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, errors ? errors.get() : m_devnull.get(),
                                   STDERR_FILENO);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  std::string failure;
  if (spawned != 0) {
    failure = fmt::format("{}: {}", command.front(), std::strerror(spawned));
  } else {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::string text;
      if (errors && ::lseek(errors.get(), 0, SEEK_SET) == 0) {
        char buffer[4096];
        for (ssize_t n; (n = ::read(errors.get(), buffer, sizeof buffer)) > 0;) {
          text.append(buffer, static_cast<std::size_t>(n));
        }
      }
      while (!text.empty() && text.back() == '\n') {
        text.pop_back();
      }
      failure = text.empty() ? fmt::format("{} failed", command.front())
                             : text.substr(text.rfind('\n') + 1);
    }
  }
  if (!failure.empty() && m_state.error.empty()) {
    m_state.error = one_line(failure);
  }
}

/// --rm: what the container leaves once it has ended for good. Each step is best effort:
/// a later `berth container rm` finds and finishes whatever one could not do. Returns the
/// paths moved into the trash, to delete once the attached command has been told.
std::vector<std::string> Monitor::remove_leftovers() {
  try {
    if (!m_config.rootfs.empty()) {
      unmount_rootfs(m_config.rootfs);
    }
    // Gone with the runtime's state, unless that removal failed.
    if (!m_cgroup_removed) {
      remove_cgroup(m_config.cgroups_path);
    }
  } catch (const std::exception&) {
    return {};  // still mounted: the record must stay, so that rm can retry
  }
  std::vector<std::string> trashed;
  for (const auto& path : m_config.remove_paths) {
    if (!m_config.trash_dir.empty()) {
      if (auto moved = move_to_trash(path, m_config.trash_dir)) {
        trashed.push_back(std::move(*moved));
        continue;
      }
    }
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  return trashed;
}

// --- the attached command -----------------------------------------------------------------

void Monitor::read_client() {
  char buffer[attach::k_max_packet];
  const ssize_t n = ::recv(m_client.get(), buffer, sizeof buffer, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    return;
  }
  if (n <= 0) {
    drop_client();
    return;
  }
  const std::string_view payload(buffer + 1, static_cast<std::size_t>(n) - 1);
  switch (static_cast<attach::Kind>(buffer[0])) {
    case attach::Kind::stdin_data:
      if (m_stdin && !m_stdin_ending) {
        m_stdin_pending.append(payload);
        write_stdin();
      }
      break;
    case attach::Kind::stdin_end: end_stdin(); break;
    case attach::Kind::resize: {
      unsigned rows = 0;
      unsigned columns = 0;
      const auto space = payload.find(' ');
      if (space != std::string_view::npos &&
          std::from_chars(payload.data(), payload.data() + space, rows).ec == std::errc() &&
          std::from_chars(payload.data() + space + 1, payload.data() + payload.size(), columns)
                  .ec == std::errc()) {
        m_window = {rows, columns};
        apply_window();
      }
      break;
    }
    default: break;  // nothing else comes from a command; an unknown kind is ignored
  }
}

void Monitor::queue_to_client(attach::Kind kind, std::string_view payload) {
  std::string packet = attach::packet(kind, payload);
  m_client_queued += packet.size();
  m_client_queue.push_back(std::move(packet));
  flush_client();
}

/// Sends what the command's socket takes now.
void Monitor::flush_client() {
  while (m_client && !m_client_queue.empty()) {
    const std::string& packet = m_client_queue.front();
    const ssize_t sent =
        ::send(m_client.get(), packet.data(), packet.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0 && (errno == EAGAIN || errno == EINTR)) {
      return;
    }
    if (sent < 0) {
      drop_client();
      return;
    }
    m_client_queued -= packet.size();
    m_client_queue.pop_front();
  }
}

/// The container ended: the command gets the rest of the output, the reason if it could not
/// run, and its exit code; then it is let go.
void Monitor::finish_client() {
  if (!m_client) {
    return;
  }
  if (!m_state.error.empty()) {
    queue_to_client(attach::Kind::failure, m_state.error);
  }
  queue_to_client(attach::Kind::exit, std::to_string(m_state.exit_code));
  while (m_client && !m_client_queue.empty()) {
    pollfd writable{m_client.get(), POLLOUT, 0};
    if (::poll(&writable, 1, -1) < 0 && errno != EINTR) {
      break;
    }
    flush_client();
  }
  drop_client();
}

void Monitor::drop_client() {
  if (m_client) {
    // A SEQPACKET socket closed with packets unread in it resets the connection: the
    // command's next recv fails with ECONNRESET before it reaches what we sent last, the exit
    // code (and with --rm no state is left to read it from). The command's input that came
    // after the container's end is such a packet. So no more may come in, what came is
    // dropped, and only then is the socket closed. MSG_TRUNC: a byte read drops the packet.
    ::shutdown(m_client.get(), SHUT_RDWR);
    char byte = 0;
    while (::recv(m_client.get(), &byte, 1, MSG_DONTWAIT | MSG_TRUNC) > 0) {
    }
  }
  m_client.reset();
  m_client_queue.clear();
  m_client_queued = 0;
  if (m_config.stdin_once) {
    end_stdin();
  }
}

void Monitor::write_stdin() {
  while (m_stdin && !m_stdin_pending.empty()) {
    const ssize_t n = ::write(m_stdin.get(), m_stdin_pending.data(), m_stdin_pending.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      return;
    }
    if (n < 0) {
      // The container closed its input: what it did not read is lost, as in a shell pipe.
      m_stdin_pending.clear();
      m_stdin.reset();
      return;
    }
    m_stdin_pending.erase(0, static_cast<std::size_t>(n));
  }
  if (m_stdin_ending && m_stdin_pending.empty()) {
    m_stdin.reset();
  }
}

/// The command's input ended: with stdin_once, so does the container's once it has read
/// what came before. A terminal has no end of input to pass on; it stays.
void Monitor::end_stdin() {
  if (!m_config.stdin_once || m_config.tty) {
    return;
  }
  m_stdin_ending = true;
  write_stdin();
}

void Monitor::apply_window() {
  if (!m_console || !m_window || !m_streams[0]) {
    return;
  }
  winsize size{};
  size.ws_row = static_cast<unsigned short>(m_window->first);
  size.ws_col = static_cast<unsigned short>(m_window->second);
  ::ioctl(m_streams[0].get(), TIOCSWINSZ, &size);
}

// --- healthcheck --------------------------------------------------------------------------

void Monitor::arm_timer(nanoseconds delay) {
  if (!m_timer) {
    return;
  }
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(delay.count() / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(delay.count() % 1'000'000'000);
  ::timerfd_settime(m_timer.get(), 0, &spec, nullptr);
}

/// The next probe: start_interval while starting within the start period, else interval.
void Monitor::schedule_probe() {
  const Healthcheck& check = *m_config.healthcheck;
  const bool early = m_state.health == "starting" && check.start_period.count() > 0 &&
                     Clock::now() - m_started < check.start_period;
  arm_timer(early ? check.start_interval : check.interval);
}

/// Forks a child that runs the runtime's `exec` (which blocks), so the monitor keeps serving
/// the log meanwhile; the child leads its own process group, so a timeout kills it and the
/// runtime together.
void Monitor::launch_probe() {
  // A paused container's processes are frozen: a probe would only hang to its timeout and
  // count as a failure. Docker skips it too.
  if (cgroup_frozen(m_config.cgroups_path)) {
    schedule_probe();
    return;
  }
  Probe probe;
  probe.began = Clock::now();
  probe.result.start = now_rfc3339();
  auto [out_read, out_write] = make_pipe();
  const pid_t child = ::fork();
  if (child == 0) {
    ::setpgid(0, 0);
    int code = 0;
    try {
      code = m_runtime->exec(m_config.id, m_probe_process_path,
                             Stdio{m_devnull.get(), out_write.get(), out_write.get()});
    } catch (const std::exception& e) {
      write_all(out_write.get(), e.what());
      code = 126;
    }
    ::_exit(code < 0 ? 255 : code);
  }
  if (child < 0) {
    probe.result.end = now_rfc3339();
    probe.result.exit_code = -1;
    probe.result.output = errno_text("fork");
    record_health(std::move(probe.result), probe.began);
    return;
  }
  ::setpgid(child, child);
  probe.pid = child;
  probe.pidfd = pidfd_open(child);
  set_nonblocking(out_read.get());
  probe.out = std::move(out_read);
  m_probe_status.reset();
  m_probe = std::move(probe);
  arm_timer(m_config.healthcheck->timeout);
}

void Monitor::read_probe_output() {
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(m_probe->out.get(), buffer, sizeof buffer);
    if (n > 0) {
      const std::size_t room =
          k_max_probe_output - std::min(m_probe->output.size(), k_max_probe_output);
      m_probe->output.append(buffer, std::min(room, static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n == 0 || errno != EAGAIN) {
      m_probe->out.reset();
    }
    return;
  }
}

/// The probe's time is up: kill the command it runs, so that the runtime's `exec` returns and
/// the probe process ends normally (it owns temporary files); a grace period later, if the
/// runtime itself hangs, finish_probe kills the lot.
void Monitor::time_out_probe() {
  m_probe->timed_out = true;
  kill_probe_command();
  arm_timer(k_probe_grace);
}

/// SIGKILL to what the runtime started for the probe: every process two levels or more below
/// the probe process (the runtime's children and their own).
void Monitor::kill_probe_command() {
  std::vector<int> level{m_probe->pid};
  for (int depth = 1; depth <= 8 && !level.empty(); ++depth) {
    std::vector<int> next;
    for (const int pid : level) {
      append_children(pid, next);
    }
    if (depth >= 2) {
      for (const int pid : next) {
        ::kill(pid, SIGKILL);
      }
    }
    level = std::move(next);
  }
}

/// Kills the probe process and the runtime with it, then what they left to us.
void Monitor::kill_probe_process() {
  ::kill(-m_probe->pid, SIGKILL);
  if (!m_probe_status) {
    int status = 0;
    if (::waitpid(m_probe->pid, &status, 0) == m_probe->pid) {
      m_probe_status = status;
    }
  }
  kill_strays();
}

/// The probe process ended (or hangs after its grace period): its result.
void Monitor::finish_probe() {
  Probe& probe = *m_probe;
  if (!m_probe_status) {
    int status = 0;
    if (probe.timed_out && ::waitpid(probe.pid, &status, WNOHANG) != probe.pid) {
      kill_probe_process();
    } else if (!probe.timed_out) {
      while (::waitpid(probe.pid, &status, 0) < 0 && errno == EINTR) {
      }
      m_probe_status = status;
    }
  }
  if (probe.timed_out) {
    probe.result.exit_code = -1;
    probe.output = fmt::format("Health check exceeded timeout ({})",
                               go_duration(m_config.healthcheck->timeout));
  } else {
    probe.result.exit_code = exit_code_of(m_probe_status.value_or(0));
    // The runtime returned, so the command ended; a background child of it may still hold
    // the pipe: take what is there, do not wait for the end.
    if (probe.out) {
      read_probe_output();
    }
  }
  probe.result.end = now_rfc3339();
  probe.result.output = std::move(probe.output);
  HealthResult result = std::move(probe.result);
  const Clock::time_point began = probe.began;
  m_probe.reset();
  record_health(std::move(result), began);
}

/// Docker's rules: a success makes the container healthy; `retries` failures in a row make
/// it unhealthy, except that failures of probes begun within the start period do not count
/// while the container has never been healthy.
void Monitor::record_health(HealthResult result, Clock::time_point began) {
  const Healthcheck& check = *m_config.healthcheck;
  const bool passed = result.exit_code == 0;
  const std::string before = m_state.health;
  m_state.health_log.push_back(std::move(result));
  if (m_state.health_log.size() > k_health_log_size) {
    m_state.health_log.erase(m_state.health_log.begin());
  }
  if (passed) {
    m_state.failing_streak = 0;
    m_state.health = "healthy";
  } else if (!(m_state.health == "starting" && began - m_started < check.start_period)) {
    ++m_state.failing_streak;
    if (m_state.failing_streak >= check.retries) {
      m_state.health = "unhealthy";
    }
  }
  if (m_state.health != before) {
    event("health_status: " + m_state.health);
  }
  save();
  schedule_probe();
}

/// The container ended while a probe ran: end it, keep no result. Its command died with the
/// container's pid namespace; the runtime returns soon after.
void Monitor::stop_probe() {
  if (!m_probe) {
    return;
  }
  kill_probe_command();
  pollfd ended{m_probe->pidfd.get(), POLLIN, 0};
  if (m_probe_status || ::poll(&ended, 1, static_cast<int>(k_probe_grace.count())) == 1) {
    ::waitpid(m_probe->pid, nullptr, 0);
  } else {
    kill_probe_process();
  }
  m_probe.reset();
}

// --- becoming a daemon --------------------------------------------------------------------

void ignore_signal(int) {}

/// Away from whatever started us: signals, terminal, directory, inherited descriptors.
void detach(int sync_fd, int attach_fd) {
  // A handler, not SIG_IGN: dispositions set to SIG_IGN survive exec and the container would
  // inherit them.
  struct sigaction action {};
  action.sa_handler = ignore_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (const int signal : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGUSR1, SIGUSR2}) {
    ::sigaction(signal, &action, nullptr);
  }
  // A caller that ignored SIGCHLD would make the kernel reap the container for us.
  ::signal(SIGCHLD, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  ::umask(022);
  [[maybe_unused]] const int changed = ::chdir("/");
  const int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    for (int fd = 0; fd <= 2; ++fd) {
      ::dup2(null, fd);
    }
    if (null > 2) {
      ::close(null);
    }
  }
  // Every inherited descriptor but the two we were given.
  unsigned next = 3;
  for (const int keep : {std::min(sync_fd, attach_fd), std::max(sync_fd, attach_fd)}) {
    if (keep < static_cast<int>(next)) {
      continue;
    }
    if (static_cast<unsigned>(keep) > next) {
      ::close_range(next, static_cast<unsigned>(keep) - 1, 0);
    }
    next = static_cast<unsigned>(keep) + 1;
  }
  ::close_range(next, ~0U, 0);
}

}  // namespace

// --- public helpers -----------------------------------------------------------------------

json to_json(const MonitorConfig& config) {
  return json{
      {"id", config.id},
      {"runtime", config.runtime},
      {"runtime_root", config.runtime_root},
      {"bundle", config.bundle},
      {"cgroups_path", config.cgroups_path},
      {"rootfs", config.rootfs},
      {"log_path", config.log_path},
      {"state_path", config.state_path},
      {"stopping_path", config.stopping_path},
      {"restart",
       {{"name", restart_name(config.restart.name)}, {"max_retries", config.restart.max_retries}}},
      {"healthcheck", config.healthcheck ? healthcheck_to_json(*config.healthcheck) : json()},
      {"stop_signal", config.stop_signal},
      {"tty", config.tty},
      {"stdin_open", config.stdin_open},
      {"stdin_once", config.stdin_once},
      {"auto_remove", config.auto_remove},
      {"remove_paths", config.remove_paths},
      {"trash_dir", config.trash_dir},
      {"final_exit_command", config.final_exit_command},
      {"events_path", config.events_path},
      {"event_attributes", config.event_attributes},
  };
}

MonitorConfig monitor_config_from_json(const json& value) {
  try {
    MonitorConfig config;
    config.id = value.at("id").get<std::string>();
    config.runtime = value.at("runtime").get<std::string>();
    config.runtime_root = value.at("runtime_root").get<std::string>();
    config.bundle = value.at("bundle").get<std::string>();
    config.cgroups_path = value.at("cgroups_path").get<std::string>();
    config.rootfs = value.value("rootfs", "");
    config.log_path = value.at("log_path").get<std::string>();
    config.state_path = value.at("state_path").get<std::string>();
    config.stopping_path = value.at("stopping_path").get<std::string>();
    if (const auto restart = value.find("restart"); restart != value.end()) {
      config.restart.name = parse_restart_name(restart->value("name", "no"));
      config.restart.max_retries = restart->value("max_retries", 0);
    }
    if (const auto check = value.find("healthcheck"); check != value.end() && !check->is_null()) {
      config.healthcheck = healthcheck_from_json(*check);
    }
    config.stop_signal = value.value("stop_signal", config.stop_signal);
    config.tty = value.value("tty", false);
    config.stdin_open = value.value("stdin_open", false);
    config.stdin_once = value.value("stdin_once", false);
    config.auto_remove = value.value("auto_remove", false);
    config.remove_paths = value.value("remove_paths", std::vector<std::string>{});
    config.trash_dir = value.value("trash_dir", "");
    config.final_exit_command = value.value("final_exit_command", std::vector<std::string>{});
    config.events_path = value.value("events_path", "");
    config.event_attributes = value.value("event_attributes", std::map<std::string, std::string>{});
    return config;
  } catch (const json::exception& e) {
    throw Error(fmt::format("invalid monitor config: {}", e.what()));
  } catch (const Error& e) {
    throw Error(fmt::format("invalid monitor config: {}", e.what()));
  }
}

MonitorConfig read_monitor_config(const std::string& path) {
  const std::string text = fs::read_file(path);
  try {
    return monitor_config_from_json(json::parse(text));
  } catch (const json::parse_error& e) {
    throw Error(fmt::format("{}: invalid monitor config: {}", path, e.what()));
  } catch (const Error& e) {
    wrap(e, path);
  }
}

std::optional<Healthcheck> healthcheck_from_image(const json& image_config) {
  const auto found = image_config.find("Healthcheck");
  if (found == image_config.end() || !found->is_object()) {
    return std::nullopt;
  }
  try {
    Healthcheck check;
    check.test = found->value("Test", std::vector<std::string>{});
    if (check.test.empty() || check.test.front() == "NONE") {
      return std::nullopt;
    }
    // Zero means "Docker's default", which the Healthcheck struct already holds.
    auto duration = [&](const char* key, nanoseconds fallback) {
      const auto ns = found->value(key, std::int64_t{0});
      return ns > 0 ? nanoseconds(ns) : fallback;
    };
    check.interval = duration("Interval", check.interval);
    check.timeout = duration("Timeout", check.timeout);
    check.start_period = duration("StartPeriod", check.start_period);
    check.start_interval = duration("StartInterval", check.start_interval);
    const int retries = found->value("Retries", 0);
    check.retries = retries > 0 ? retries : check.retries;
    return check;
  } catch (const json::exception& e) {
    throw Error(fmt::format("invalid Healthcheck in the image config: {}", e.what()));
  }
}

bool should_restart(const RestartPolicy& policy, int exit_code, int restart_count,
                    bool stopped_by_user) {
  if (stopped_by_user) {
    return false;
  }
  switch (policy.name) {
    case RestartPolicy::Name::no: return false;
    case RestartPolicy::Name::always:
    case RestartPolicy::Name::unless_stopped: return true;
    case RestartPolicy::Name::on_failure:
      return exit_code != 0 && (policy.max_retries <= 0 || restart_count < policy.max_retries);
  }
  return false;
}

milliseconds next_restart_delay(milliseconds previous, nanoseconds ran_for) {
  if (previous.count() == 0 || ran_for >= k_restart_delay_reset) {
    return k_first_restart_delay;
  }
  return std::min(previous * 2, k_max_restart_delay);
}

std::string log_record(std::string_view text, std::string_view stream, std::string_view time) {
  std::string record = R"({"log":)";
  record += json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
  record += R"(,"stream":")";
  record += stream;
  record += R"(","time":")";
  record += time;
  record += "\"}\n";
  return record;
}

std::string rfc3339_nanos(std::chrono::system_clock::time_point time) {
  const auto since_epoch = std::chrono::duration_cast<nanoseconds>(time.time_since_epoch());
  const auto whole = std::chrono::floor<seconds>(since_epoch);
  const std::time_t seconds_since_epoch = static_cast<std::time_t>(whole.count());
  std::tm utc{};
  ::gmtime_r(&seconds_since_epoch, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     (since_epoch - whole).count());
}

int run_monitor(const std::string& container_run_dir, int sync_fd, int attach_fd) {
  // The runtime must not inherit the verdict pipe: the container would hold it open and the
  // caller, reading to its end, would wait for the container's exit.
  if (sync_fd <= 2) {
    sync_fd = ::fcntl(sync_fd, F_DUPFD_CLOEXEC, 3);
  } else {
    ::fcntl(sync_fd, F_SETFD, FD_CLOEXEC);
  }
  if (attach_fd >= 0 && ::fcntl(attach_fd, F_SETFD, FD_CLOEXEC) != 0) {
    attach_fd = -1;  // not open: nobody is attached
  }
  auto fail = [&](const std::string& message) {
    write_all(sync_fd, fmt::format("error: {}\n", one_line(message)));
    ::close(sync_fd);
    return 1;
  };

  std::string run_dir;
  MonitorConfig config;
  try {
    run_dir = fs::absolute(container_run_dir, fs::current_directory());
    config = read_monitor_config(run_dir + "/monitor.json");
  } catch (const Error& e) {
    return fail(e.what());
  }

  // Fork so that the monitor is no process group leader and can start its own session;
  // the caller's process returns at once.
  const pid_t child = ::fork();
  if (child < 0) {
    return fail(errno_text("fork"));
  }
  if (child > 0) {
    ::close(sync_fd);
    return 0;
  }
  ::setsid();
  detach(sync_fd, attach_fd);
  // The container's init is re-parented to us once `create` returns, so we collect its
  // exit status.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  Monitor monitor(std::move(config), std::move(run_dir), attach_fd);
  return monitor.run(sync_fd);
}

}  // namespace berth::runtime
