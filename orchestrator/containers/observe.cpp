#include "orchestrator/containers/observe.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "orchestrator/containers/events.h"
#include "runtime/cgroups.h"
#include "util/error.h"
#include "util/fs.h"

namespace berth::containers {

namespace {

using nlohmann::json;

std::unique_ptr<runtime::OciRuntime> runtime_of(const ContainerStore& store,
                                                const ContainerRecord& record) {
  return runtime::OciRuntime::make(record.runtime, store.runtime_root(record.runtime));
}

[[noreturn]] void throw_not_running(const ContainerRecord& record) {
  throw Error("Container " + record.id + " is not running");
}

[[noreturn]] void throw_restarting(const ContainerRecord& record) {
  throw Error("Container " + record.id + " is restarting, wait until the container is running");
}

/// Closes the descriptor when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return m_fd; }
  void reset() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = -1;
  }

 private:
  int m_fd = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

Pipe make_pipe() {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) {
    throw Error(std::string("pipe: ") + std::strerror(errno));
  }
  return Pipe{Fd(ends[0]), Fd(ends[1])};
}

std::string joined(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& word : words) {
    text += (text.empty() ? "" : " ") + word;
  }
  return text;
}

/// Runs `argv` (found through PATH) with no input and returns its standard output;
/// berth::Error naming the command, with the first line it wrote to standard error, when it
/// cannot start or exits non-zero.
std::string output_of(const std::vector<std::string>& argv) {
  Pipe out = make_pipe();
  Pipe err = make_pipe();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write.get(), STDERR_FILENO);
  std::vector<std::string> strings = argv;
  std::vector<char*> pointers;
  for (auto& word : strings) {
    pointers.push_back(word.data());
  }
  pointers.push_back(nullptr);
  pid_t pid = -1;
  const int spawned =
      ::posix_spawnp(&pid, pointers[0], &actions, nullptr, pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    throw Error(joined(argv) + ": " + std::strerror(spawned));
  }
  out.write.reset();
  err.write.reset();
  // Both streams at once: a full stderr pipe must not stall the reader of stdout.
  std::string stdout_text;
  std::string stderr_text;
  pollfd streams[2] = {{out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}};
  std::string* texts[2] = {&stdout_text, &stderr_text};
  for (int open_streams = 2; open_streams > 0;) {
    if (::poll(streams, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (streams[i].fd < 0 || streams[i].revents == 0) {
        continue;
      }
      char buffer[8192];
      const ssize_t n = ::read(streams[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        texts[i]->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        streams[i].fd = -1;
        --open_streams;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string why = stderr_text.substr(0, stderr_text.find('\n'));
    if (why.empty()) {
      why = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                              : "killed by signal " + std::to_string(WTERMSIG(status));
    }
    throw Error(joined(argv) + ": " + why);
  }
  return stdout_text;
}

std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string word; in >> word;) {
    words.push_back(word);
  }
  return words;
}

std::optional<long long> integer_of(std::string_view text) {
  long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

/// `ps` output cut to the rows whose PID is in `pids`; a thread row ("-" as PID, from ps's
/// `m` option) goes with the process row above it.
ProcessList processes_in(const std::string& ps_output, const std::set<long long>& pids) {
  std::istringstream lines(ps_output);
  std::string line;
  std::getline(lines, line);
  ProcessList list;
  list.titles = words_of(line);
  const auto pid_column = std::find(list.titles.begin(), list.titles.end(), "PID");
  if (pid_column == list.titles.end()) {
    throw Error("Couldn't find PID field in ps output");
  }
  const auto pid_index = static_cast<std::size_t>(pid_column - list.titles.begin());
  bool previous_kept = false;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields = words_of(line);
    if (fields.size() <= pid_index) {
      continue;
    }
    bool keep = false;
    if (fields[pid_index] == "-") {
      keep = previous_kept;
    } else {
      const auto pid = integer_of(fields[pid_index]);
      if (!pid) {
        throw Error("unexpected PID \"" + fields[pid_index] + "\" in ps output");
      }
      keep = pids.contains(*pid);
      previous_kept = keep;
    }
    if (!keep) {
      continue;
    }
    // The last column (the command) may hold spaces.
    if (fields.size() > list.titles.size()) {
      std::vector<std::string> rest(fields.begin() + static_cast<long>(list.titles.size()) - 1,
                                    fields.end());
      fields.resize(list.titles.size() - 1);
      fields.push_back(joined(rest));
    }
    list.rows.push_back(std::move(fields));
  }
  return list;
}

// ---- stats ----

std::optional<std::uint64_t> unsigned_of(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

/// The number in the first of `dirs` holding the single-value file `name`.
std::optional<std::uint64_t> file_value(const std::vector<std::string>& dirs,
                                        const std::string& name) {
  for (const auto& dir : dirs) {
    if (const auto text = fs::read_file_if_exists(dir + "/" + name)) {
      return unsigned_of(*text);
    }
  }
  return std::nullopt;
}

/// `key`'s number in the first "key value" file `name` of `dirs` that has it (v1's cpu.stat
/// lacks usage_usec, which cgroup2's has).
std::optional<std::uint64_t> keyed_value(const std::vector<std::string>& dirs,
                                         const std::string& name, const std::string& key) {
  for (const auto& dir : dirs) {
    const auto text = fs::read_file_if_exists(dir + "/" + name);
    if (!text) {
      continue;
    }
    std::istringstream lines(*text);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with(key + " ")) {
        return unsigned_of(std::string_view(line).substr(key.size() + 1));
      }
    }
  }
  return std::nullopt;
}

/// The host's memory (MemTotal), in bytes.
std::uint64_t host_memory() {
  std::istringstream lines(fs::read_file_if_exists("/proc/meminfo").value_or(""));
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("MemTotal:")) {
      const auto words = words_of(line.substr(9));
      if (!words.empty()) {
        return unsigned_of(words[0]).value_or(0) * 1024;
      }
    }
  }
  return 0;
}

/// The time all CPUs spent, busy or idle, in nanoseconds (/proc/stat's first line, the seven
/// fields Docker sums: user nice system idle iowait irq softirq).
std::uint64_t system_cpu_ns() {
  const std::string stat = fs::read_file_if_exists("/proc/stat").value_or("");
  const auto words = words_of(stat.substr(0, stat.find('\n')));
  std::uint64_t ticks = 0;
  for (std::size_t i = 1; i < words.size() && i <= 7; ++i) {
    ticks += unsigned_of(words[i]).value_or(0);
  }
  const long per_second = ::sysconf(_SC_CLK_TCK);
  return per_second > 0 ? ticks * (1'000'000'000 / static_cast<std::uint64_t>(per_second)) : 0;
}

std::optional<std::uint64_t> cpu_usage_ns(const std::vector<std::string>& dirs) {
  if (const auto v1 = file_value(dirs, "cpuacct.usage")) {
    return v1;
  }
  if (const auto v2 = keyed_value(dirs, "cpu.stat", "usage_usec")) {
    return *v2 * 1000;
  }
  return std::nullopt;
}

void read_memory(const std::vector<std::string>& dirs, ContainerStats& stats) {
  std::optional<std::uint64_t> usage;
  std::optional<std::uint64_t> inactive;
  std::optional<std::uint64_t> limit;
  if ((usage = file_value(dirs, "memory.usage_in_bytes"))) {
    inactive = keyed_value(dirs, "memory.stat", "total_inactive_file");
    limit = file_value(dirs, "memory.limit_in_bytes");
  } else if ((usage = file_value(dirs, "memory.current"))) {
    inactive = keyed_value(dirs, "memory.stat", "inactive_file");
    limit = file_value(dirs, "memory.max");  // "max" reads as none
  }
  stats.memory_usage = usage.value_or(0);
  // The page cache the kernel can drop at once is not the container's use (Docker's CLI).
  if (inactive && *inactive < stats.memory_usage) {
    stats.memory_usage -= *inactive;
  }
  // No limit reads as a huge number (v1) or "max" (v2): the host's memory is the bound.
  const std::uint64_t host = host_memory();
  stats.memory_limit = limit ? std::min(*limit, host == 0 ? *limit : host) : host;
}

void read_block_io(const std::vector<std::string>& dirs, ContainerStats& stats) {
  for (const auto& dir : dirs) {
    // v1: "8:0 Read 4096" lines (and a "Total" line).
    if (const auto text = fs::read_file_if_exists(dir + "/blkio.throttle.io_service_bytes")) {
      std::istringstream lines(*text);
      for (std::string line; std::getline(lines, line);) {
        const auto words = words_of(line);
        if (words.size() != 3) {
          continue;
        }
        if (words[1] == "Read") {
          stats.block_read += unsigned_of(words[2]).value_or(0);
        } else if (words[1] == "Write") {
          stats.block_write += unsigned_of(words[2]).value_or(0);
        }
      }
      return;
    }
  }
  for (const auto& dir : dirs) {
    // v2: "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 ..." lines.
    if (const auto text = fs::read_file_if_exists(dir + "/io.stat")) {
      for (const auto& word : words_of(*text)) {
        if (word.starts_with("rbytes=")) {
          stats.block_read += unsigned_of(std::string_view(word).substr(7)).value_or(0);
        } else if (word.starts_with("wbytes=")) {
          stats.block_write += unsigned_of(std::string_view(word).substr(7)).value_or(0);
        }
      }
      return;
    }
  }
}

/// Bytes through every interface of `pid`'s network namespace but loopback.
void read_network(int pid, ContainerStats& stats) {
  const auto text = fs::read_file_if_exists("/proc/" + std::to_string(pid) + "/net/dev");
  if (!text) {
    return;
  }
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    // "  eth0: <8 receive counters> <8 transmit counters>"; bytes come first in each group.
    const auto colon = line.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    const auto name = words_of(line.substr(0, colon));
    const auto counters = words_of(line.substr(colon + 1));
    if (name.size() != 1 || name[0] == "lo" || counters.size() < 9) {
      continue;
    }
    stats.net_rx += unsigned_of(counters[0]).value_or(0);
    stats.net_tx += unsigned_of(counters[8]).value_or(0);
  }
}

/// What sample_stats keeps of one container between its two readings.
struct Probe {
  std::vector<std::string> cgroup_dirs;
  int pid = 0;
  bool own_network = false;
  std::optional<std::uint64_t> first_cpu_ns;
};

}  // namespace

void pause_container(const ContainerStore& store, const ContainerRecord& record) {
  const auto status = store.live_state(record.id).state.status;
  if (status == "paused") {
    throw Error("Container " + record.id + " is already paused");
  }
  if (status == "restarting") {
    throw_restarting(record);
  }
  if (status != "running") {
    throw_not_running(record);
  }
  runtime_of(store, record)->pause(record.id);
  record_event(store, record, "pause");
}

void unpause_container(const ContainerStore& store, const ContainerRecord& record) {
  if (store.live_state(record.id).state.status != "paused") {
    throw Error("Container " + record.id + " is not paused");
  }
  runtime_of(store, record)->resume(record.id);
  record_event(store, record, "unpause");
}

void signal_container(runtime::OciRuntime& runtime, const std::string& id, int signal,
                      bool paused) {
  runtime.kill(id, signal);
  if (!paused) {
    return;
  }
  try {
    runtime.resume(id);
  } catch (const Error&) {
    // runc thaws a container itself for SIGKILL, which may then be gone before we ask: only
    // a container still frozen is a failure.
    const auto state = runtime.state(id);
    if (state && state->status == "paused") {
      throw;
    }
  }
}

bool container_frozen(const std::string& id) {
  return runtime::cgroup_frozen(cgroups_path(id));
}

ProcessList container_top(const ContainerStore& store, const ContainerRecord& record,
                          const std::vector<std::string>& ps_args) {
  const auto status = store.live_state(record.id).state.status;
  if (status == "restarting") {
    throw_restarting(record);
  }
  // A paused container still has its processes: Docker lists them.
  if (status != "running" && status != "paused") {
    throw_not_running(record);
  }
  const std::vector<int> pids = runtime_of(store, record)->processes(record.id);
  std::vector<std::string> argv{"ps"};
  if (ps_args.empty()) {
    argv.push_back("-ef");
  } else {
    argv.insert(argv.end(), ps_args.begin(), ps_args.end());
  }
  return processes_in(output_of(argv), std::set<long long>(pids.begin(), pids.end()));
}

std::vector<ContainerStats> sample_stats(const ContainerStore& store,
                                         const std::vector<ContainerRecord>& records,
                                         std::chrono::milliseconds interval) {
  std::vector<ContainerStats> all(records.size());
  std::vector<Probe> probes(records.size());
  bool any_running = false;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const ContainerRecord& record = records[i];
    all[i].id = record.id;
    all[i].name = record.name;
    const auto live = store.live_state(record.id);
    if (live.state.status != "running" && live.state.status != "paused") {
      continue;
    }
    all[i].running = true;
    any_running = true;
    probes[i].cgroup_dirs = runtime::cgroup_dirs(cgroups_path(record.id));
    probes[i].pid = live.state.pid;
    // With the host's network, the host's counters are not the container's: Docker shows 0.
    probes[i].own_network = record.spec.network != "host";
  }
  if (!any_running) {
    return all;
  }
  // CPU % is the container's share of all CPUs' time between two readings.
  const std::uint64_t first_system = system_cpu_ns();
  for (auto& probe : probes) {
    probe.first_cpu_ns = cpu_usage_ns(probe.cgroup_dirs);
  }
  std::this_thread::sleep_for(interval);
  const std::uint64_t system_delta = system_cpu_ns() - first_system;
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  for (std::size_t i = 0; i < records.size(); ++i) {
    ContainerStats& stats = all[i];
    const Probe& probe = probes[i];
    if (!stats.running) {
      continue;
    }
    const auto cpu = cpu_usage_ns(probe.cgroup_dirs);
    if (cpu && probe.first_cpu_ns && *cpu > *probe.first_cpu_ns && system_delta > 0) {
      stats.cpu_percent = static_cast<double>(*cpu - *probe.first_cpu_ns) /
                          static_cast<double>(system_delta) *
                          static_cast<double>(std::max(online, 1L)) * 100.0;
    }
    read_memory(probe.cgroup_dirs, stats);
    read_block_io(probe.cgroup_dirs, stats);
    stats.pids = file_value(probe.cgroup_dirs, "pids.current").value_or(0);
    if (probe.own_network && probe.pid > 0) {
      read_network(probe.pid, stats);
    }
  }
  return all;
}

}  // namespace berth::containers
