#include "runtime/monitor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/attach_protocol.h"
#include "runtime/cgroups.h"
#include "runtime/container_state.h"
#include "runtime/oci_runtime.h"
#include "runtime/rootfs.h"
#include "tests/support/busybox_image.h"
#include "tests/support/error_of.h"
#include "tests/support/run_berth.h"
#include "util/fs.h"
#include "util/unique_fd.h"

namespace berth::runtime {
namespace {

using nlohmann::json;
using testing::error_of;
using testing::read_text;
using testing::TempDir;

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;

// --- without a container ------------------------------------------------------------------

MonitorConfig sample_config() {
  MonitorConfig config;
  config.id = std::string(64, 'a');
  config.runtime = "runc";
  config.runtime_root = "/run/berth/runc";
  config.bundle = "/run/berth/containers/a/bundle";
  config.cgroups_path = "/berth/a";
  config.rootfs = "/run/berth/containers/a/rootfs";
  config.log_path = "/var/lib/berth/containers/a/container.log";
  config.state_path = "/run/berth/containers/a/state.json";
  config.stopping_path = "/run/berth/containers/a/stopping";
  config.restart = {RestartPolicy::Name::on_failure, 5};
  Healthcheck check;
  check.test = {"CMD-SHELL", "nc -z 127.0.0.1 80"};
  check.interval = 2s;
  check.timeout = 500ms;
  check.start_period = 10s;
  check.start_interval = 250ms;
  check.retries = 4;
  config.healthcheck = check;
  config.stop_signal = "SIGQUIT";
  return config;
}

TEST(MonitorConfigJson, RoundTripsEveryField) {
  const MonitorConfig config = sample_config();
  const json value = to_json(config);
  EXPECT_EQ(value["restart"], json::parse(R"({"name":"on-failure","max_retries":5})"));
  EXPECT_EQ(value["healthcheck"]["timeout"], 500'000'000);
  const MonitorConfig back = monitor_config_from_json(json::parse(value.dump()));
  EXPECT_EQ(back.id, config.id);
  EXPECT_EQ(back.runtime, "runc");
  EXPECT_EQ(back.runtime_root, config.runtime_root);
  EXPECT_EQ(back.bundle, config.bundle);
  EXPECT_EQ(back.cgroups_path, config.cgroups_path);
  EXPECT_EQ(back.rootfs, config.rootfs);
  EXPECT_EQ(back.log_path, config.log_path);
  EXPECT_EQ(back.state_path, config.state_path);
  EXPECT_EQ(back.stopping_path, config.stopping_path);
  EXPECT_EQ(back.restart.name, RestartPolicy::Name::on_failure);
  EXPECT_EQ(back.restart.max_retries, 5);
  ASSERT_TRUE(back.healthcheck.has_value());
  EXPECT_EQ(back.healthcheck->test, config.healthcheck->test);
  EXPECT_EQ(back.healthcheck->interval, 2s);
  EXPECT_EQ(back.healthcheck->timeout, 500ms);
  EXPECT_EQ(back.healthcheck->start_period, 10s);
  EXPECT_EQ(back.healthcheck->start_interval, 250ms);
  EXPECT_EQ(back.healthcheck->retries, 4);
  EXPECT_EQ(back.stop_signal, "SIGQUIT");
  EXPECT_FALSE(back.tty);
  EXPECT_FALSE(back.auto_remove);

  MonitorConfig attached = config;
  attached.tty = true;
  attached.stdin_open = true;
  attached.stdin_once = true;
  attached.auto_remove = true;
  attached.remove_paths = {"/r/containers/x", "/r/containers/names/n", "/run/x"};
  const MonitorConfig attached_back = monitor_config_from_json(to_json(attached));
  EXPECT_TRUE(attached_back.tty);
  EXPECT_TRUE(attached_back.stdin_open);
  EXPECT_TRUE(attached_back.stdin_once);
  EXPECT_TRUE(attached_back.auto_remove);
  EXPECT_EQ(attached_back.remove_paths, attached.remove_paths);
  attached.trash_dir = "/r/trash";
  EXPECT_EQ(monitor_config_from_json(to_json(attached)).trash_dir, "/r/trash");

  MonitorConfig plain = config;
  plain.healthcheck.reset();
  plain.restart = {RestartPolicy::Name::unless_stopped, 0};
  const MonitorConfig plain_back = monitor_config_from_json(to_json(plain));
  EXPECT_FALSE(plain_back.healthcheck.has_value());
  EXPECT_EQ(plain_back.restart.name, RestartPolicy::Name::unless_stopped);
}

TEST(MonitorConfigJson, ErrorsAreOneLine) {
  json value = to_json(sample_config());
  value.erase("bundle");
  EXPECT_EQ(error_of([&] { monitor_config_from_json(value); }),
            "invalid monitor config: [json.exception.out_of_range.403] key 'bundle' not found");
  value = to_json(sample_config());
  value["restart"]["name"] = "sometimes";
  EXPECT_EQ(error_of([&] { monitor_config_from_json(value); }),
            "invalid monitor config: unknown restart policy \"sometimes\"");
  value = to_json(sample_config());
  value["healthcheck"]["test"] = {"SHELL", "true"};
  EXPECT_EQ(error_of([&] { monitor_config_from_json(value); }),
            "invalid monitor config: healthcheck test must start with CMD or CMD-SHELL, not "
            "\"SHELL\"");
  value["healthcheck"]["test"] = {"CMD"};
  EXPECT_EQ(error_of([&] { monitor_config_from_json(value); }),
            "invalid monitor config: healthcheck test [\"CMD\"] has no command");

  TempDir dir;
  const std::string path = dir.write("monitor.json", "{");
  EXPECT_EQ(error_of([&] { read_monitor_config(path); }),
            path +
                ": invalid monitor config: [json.exception.parse_error.101] parse error at "
                "line 1, column 2: syntax error while parsing object key - unexpected end of "
                "input; expected string literal");
  const std::string mistyped = dir.write("typed.json", R"({"id":7})");
  EXPECT_EQ(error_of([&] { read_monitor_config(mistyped); }),
            mistyped +
                ": invalid monitor config: [json.exception.type_error.302] type must be "
                "string, but is number");
}

TEST(MonitorConfigJson, ZeroHealthcheckDurationsMeanDockersDefaults) {
  json value = to_json(sample_config());
  value["healthcheck"] = {{"test", {"CMD", "true"}},
                          {"interval", 0},
                          {"timeout", 0},
                          {"start_interval", 0},
                          {"retries", 0}};
  const auto check = monitor_config_from_json(value).healthcheck.value();
  EXPECT_EQ(check.interval, 30s);
  EXPECT_EQ(check.timeout, 30s);
  EXPECT_EQ(check.start_period, 0s);
  EXPECT_EQ(check.start_interval, 5s);
  EXPECT_EQ(check.retries, 3);
}

TEST(HealthcheckFromImage, UsesDockersDefaultsForZeros) {
  const auto check = healthcheck_from_image(json::parse(R"({"Healthcheck":{
      "Test":["CMD-SHELL","curl -f http://localhost/"],"Interval":5000000000,"Retries":0}})"));
  ASSERT_TRUE(check.has_value());
  EXPECT_EQ(check->test, (std::vector<std::string>{"CMD-SHELL", "curl -f http://localhost/"}));
  EXPECT_EQ(check->interval, 5s);
  EXPECT_EQ(check->timeout, 30s);
  EXPECT_EQ(check->start_period, 0s);
  EXPECT_EQ(check->start_interval, 5s);
  EXPECT_EQ(check->retries, 3);
}

TEST(HealthcheckFromImage, NoneEmptyOrAbsentIsNoHealthcheck) {
  EXPECT_FALSE(healthcheck_from_image(json::object()).has_value());
  EXPECT_FALSE(healthcheck_from_image(json::parse(R"({"Healthcheck":null})")).has_value());
  EXPECT_FALSE(healthcheck_from_image(json::parse(R"({"Healthcheck":{"Test":[]}})")).has_value());
  EXPECT_FALSE(
      healthcheck_from_image(json::parse(R"({"Healthcheck":{"Test":["NONE"]}})")).has_value());
  EXPECT_EQ(error_of([] { healthcheck_from_image(json::parse(R"({"Healthcheck":{"Test":7}})")); }),
            "invalid Healthcheck in the image config: [json.exception.type_error.302] type must "
            "be array, but is number");
}

TEST(RestartRules, FollowDockersPolicies) {
  using Name = RestartPolicy::Name;
  EXPECT_FALSE(should_restart({Name::no, 0}, 1, 0, false));
  EXPECT_TRUE(should_restart({Name::always, 0}, 0, 100, false));
  EXPECT_TRUE(should_restart({Name::unless_stopped, 0}, 0, 100, false));
  EXPECT_FALSE(should_restart({Name::always, 0}, 1, 0, true));
  EXPECT_FALSE(should_restart({Name::unless_stopped, 0}, 1, 0, true));
  EXPECT_FALSE(should_restart({Name::on_failure, 0}, 0, 0, false));
  EXPECT_TRUE(should_restart({Name::on_failure, 0}, 1, 1000, false));
  EXPECT_TRUE(should_restart({Name::on_failure, 2}, 137, 1, false));
  EXPECT_FALSE(should_restart({Name::on_failure, 2}, 137, 2, false));
  EXPECT_FALSE(should_restart({Name::on_failure, 2}, 1, 0, true));
}

TEST(RestartRules, DelayDoublesFromATenthOfASecondToAMinute) {
  std::vector<long> delays;
  std::chrono::milliseconds delay{0};
  for (int i = 0; i < 12; ++i) {
    delay = next_restart_delay(delay, 1s);
    delays.push_back(delay.count());
  }
  EXPECT_EQ(delays, (std::vector<long>{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200,
                                       60000, 60000}));
  EXPECT_EQ(next_restart_delay(60s, 10s).count(), 100);
  EXPECT_EQ(next_restart_delay(400ms, 9999ms).count(), 800);
}

TEST(LogRecord, IsDockersJsonFileLine) {
  EXPECT_EQ(log_record("hello \"you\"\n", "stdout", "2026-11-23T22:01:26.123456789Z"),
            "{\"log\":\"hello \\\"you\\\"\\n\",\"stream\":\"stdout\","
            "\"time\":\"2026-11-23T22:01:26.123456789Z\"}\n");
  // Invalid UTF-8 becomes U+FFFD, so the line stays valid JSON.
  const std::string invalid = std::string("a\xff") + "b\tc";
  const std::string replaced = std::string("a\xef\xbf\xbd") + "b";
  const std::string record = log_record(invalid, "stderr", "t");
  EXPECT_EQ(record, "{\"log\":\"" + replaced + "\\tc\",\"stream\":\"stderr\",\"time\":\"t\"}\n");
  EXPECT_EQ(json::parse(record)["log"], replaced + "\tc");
}

TEST(LogRecord, TimesHaveNineFractionDigitsInUtc) {
  const auto time = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(1'795'471'286'000'000'120)));
  EXPECT_EQ(rfc3339_nanos(time), "2026-11-23T22:01:26.000000120Z");
  EXPECT_EQ(rfc3339_nanos(std::chrono::system_clock::time_point{}),
            "1970-01-01T00:00:00.000000000Z");
}

TEST(RunMonitor, AMissingConfigIsAnsweredOnTheSyncPipe) {
  TempDir dir;
  int sync[2];
  ASSERT_EQ(::pipe2(sync, O_CLOEXEC), 0);
  EXPECT_EQ(run_monitor(dir.path(), sync[1]), 1);  // closes sync[1]
  std::string verdict(512, '\0');
  const ssize_t n = ::read(sync[0], verdict.data(), verdict.size());
  ::close(sync[0]);
  ASSERT_GT(n, 0);
  verdict.resize(static_cast<std::size_t>(n));
  EXPECT_EQ(verdict, "error: " + dir.path() + "/monitor.json: no such file\n");
}

// --- with a real runtime ------------------------------------------------------------------

std::string random_hex(std::size_t digits) {
  std::random_device random;
  std::string hex;
  while (hex.size() < digits) {
    hex += fmt::format("{:08x}", random());
  }
  return hex.substr(0, digits);
}

/// Polls `condition` for up to `limit`.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

json container_config(const std::string& rootfs, const std::string& cgroups_path,
                      const std::vector<std::string>& args) {
  return {{"ociVersion", "1.0.2"},
          {"process",
           {{"terminal", false},
            {"user", {{"uid", 0}, {"gid", 0}}},
            {"args", args},
            {"env", {"PATH=/bin", "HOME=/root"}},
            {"cwd", "/"},
            {"noNewPrivileges", true}}},
          {"root", {{"path", rootfs}, {"readonly", false}}},
          {"hostname", "berth-monitor-test"},
          {"mounts",
           {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
            {{"destination", "/dev"},
             {"type", "tmpfs"},
             {"source", "tmpfs"},
             {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}}}},
          {"linux",
           {{"cgroupsPath", cgroups_path},
            {"namespaces",
             {{{"type", "pid"}},
              {{"type", "network"}},
              {{"type", "ipc"}},
              {{"type", "uts"}},
              {{"type", "mount"}}}}}}};
}

/// Undoes what a test made even when it fails half-way, in this order: the monitor, the
/// container, the overlay, the cgroup.
class Cleanup {
 public:
  Cleanup(std::string runtime, std::string runtime_root, std::string id, std::string rootfs,
          std::string cgroups_path)
      : m_runtime(std::move(runtime)),
        m_runtime_root(std::move(runtime_root)),
        m_id(std::move(id)),
        m_rootfs(std::move(rootfs)),
        m_cgroups_path(std::move(cgroups_path)) {}
  ~Cleanup() {
    if (m_monitor_pid > 0 && same_process_alive(m_monitor_pid, m_monitor_start_time)) {
      ::kill(m_monitor_pid, SIGKILL);
    }
    reap_monitor();
    try {
      OciRuntime::make(m_runtime, m_runtime_root)->remove(m_id, true);
    } catch (const Error& e) {
      ADD_FAILURE() << "cleanup: " << e.what();
    }
    try {
      unmount_rootfs(m_rootfs);
      remove_cgroup(m_cgroups_path);
    } catch (const Error& e) {
      ADD_FAILURE() << "cleanup: " << e.what();
    }
  }
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;

  void monitor(int pid, std::uint64_t start_time) {
    m_monitor_pid = pid;
    m_monitor_start_time = start_time;
  }

  /// The monitor's parent is gone, so it belongs to the nearest subreaper: the machine's
  /// init, or this process once another test made it one.
  void reap_monitor() {
    if (m_monitor_pid <= 0) {
      return;
    }
    eventually([&] { return !same_process_alive(m_monitor_pid, m_monitor_start_time); }, 5s);
    ::waitpid(m_monitor_pid, nullptr, WNOHANG);
  }

 private:
  std::string m_runtime;
  std::string m_runtime_root;
  std::string m_id;
  std::string m_rootfs;
  std::string m_cgroups_path;
  int m_monitor_pid = 0;
  std::uint64_t m_monitor_start_time = 0;
};

struct LogLine {
  std::string log;
  std::string stream;
  std::string time;
};

class MonitorTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0 || !testing::have_static_busybox()) {
      return;
    }
    s_image = std::make_unique<TempDir>();
    const std::string tar = s_image->path() + "/busybox.tar";
    testing::make_busybox_rootfs_tar(tar);
    stdfs::create_directories(s_image->path() + "/layer");
    const std::string extract = "tar -xf '" + tar + "' -C '" + s_image->path() + "/layer'";
    ASSERT_EQ(std::system(extract.c_str()), 0) << extract;
  }
  static void TearDownTestSuite() { s_image.reset(); }

  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "running containers needs root";
    }
    if (!s_image) {
      GTEST_SKIP() << "no static busybox (Debian's busybox-static) for the test image";
    }
    if (GetParam() == "crun") {
      if (const auto blocker = crun_blocker()) {
        GTEST_SKIP() << *blocker;
      }
    }
    m_config.id = m_id;
    m_config.runtime = GetParam();
    m_config.runtime_root = m_dir.path() + "/run/" + GetParam();
    m_config.bundle = run_dir() + "/bundle";
    m_config.cgroups_path = m_cgroups_path;
    m_config.rootfs = rootfs();
    m_config.log_path = m_dir.path() + "/container.log";
    m_config.state_path = run_dir() + "/state.json";
    m_config.stopping_path = run_dir() + "/stopping";
    m_cleanup.emplace(GetParam(), m_config.runtime_root, m_id, rootfs(), m_cgroups_path);
    mount_overlay({s_image->path() + "/layer"}, m_dir.path() + "/diff", m_dir.path() + "/work",
                  rootfs(), m_dir.path() + "/links");
    stdfs::create_directories(m_config.bundle);
    m_runtime = OciRuntime::make(GetParam(), m_config.runtime_root);
  }

  std::string run_dir() const { return m_dir.path() + "/run/containers/" + m_id; }
  std::string rootfs() const { return m_dir.path() + "/rootfs"; }
  std::string temp_dir() const { return m_dir.path() + "/tmp"; }

  /// Writes the bundle and monitor.json, runs the monitor as `berth _monitor` would be run
  /// (in a child process that returns at once, with `attach_fd` as its attach channel) and
  /// returns its verdict.
  std::string launch(const std::vector<std::string>& args, int attach_fd = -1) {
    json config = container_config(rootfs(), m_cgroups_path, args);
    if (m_memory_limit) {
      config["linux"]["resources"]["memory"] = {{"limit", *m_memory_limit},
                                                {"swap", *m_memory_limit}};
    }
    std::ofstream(m_config.bundle + "/config.json") << config.dump();
    std::ofstream(run_dir() + "/monitor.json") << to_json(m_config).dump();
    int sync[2];
    if (::pipe2(sync, O_CLOEXEC) != 0) {
      return "(no pipe)";
    }
    stdfs::create_directories(temp_dir());
    const pid_t child = ::fork();
    if (child == 0) {
      ::close(sync[0]);
      ::setenv("TMPDIR", temp_dir().c_str(), 1);  // where the runtime driver keeps its logs
      ::_exit(run_monitor(run_dir(), sync[1], attach_fd));
    }
    ::close(sync[1]);
    std::string verdict;
    char buffer[512];
    for (ssize_t n; (n = ::read(sync[0], buffer, sizeof buffer)) > 0;) {
      verdict.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(sync[0]);
    int status = -1;
    ::waitpid(child, &status, 0);
    m_first_process = child;
    m_first_status = status;
    if (const auto state = read_state(m_config.state_path)) {
      m_cleanup->monitor(state->monitor_pid, state->monitor_start_time);
    }
    return verdict;
  }

  ContainerState state() const {
    return read_state(m_config.state_path).value_or(ContainerState{});
  }

  /// The state once the monitor has recorded the end and exited.
  ContainerState final_state() {
    EXPECT_TRUE(eventually([&] {
      const auto now = read_state(m_config.state_path);
      return now && now->status == "exited" &&
             !same_process_alive(now->monitor_pid, now->monitor_start_time);
    })) << "still "
        << state().status;
    m_cleanup->reap_monitor();
    return state();
  }

  /// Waits for `condition` on the state.
  bool state_becomes(const std::function<bool(const ContainerState&)>& condition,
                     std::chrono::milliseconds limit = 15s) {
    return eventually(
        [&] {
          const auto now = read_state(m_config.state_path);
          return now && condition(*now);
        },
        limit);
  }

  std::vector<LogLine> log_lines() const {
    std::vector<LogLine> lines;
    std::ifstream in(m_config.log_path);
    for (std::string line; std::getline(in, line);) {
      const json record = json::parse(line);
      lines.push_back({record.at("log"), record.at("stream"), record.at("time")});
    }
    return lines;
  }

  void stop_by_user() {
    std::ofstream(m_config.stopping_path) << "";
    m_runtime->kill(m_id, SIGKILL);
  }

  inline static std::unique_ptr<TempDir> s_image;

  TempDir m_dir;
  const std::string m_id = random_hex(64);
  const std::string m_cgroups_path = "/berth-test-" + random_hex(16);
  MonitorConfig m_config;
  std::optional<std::int64_t> m_memory_limit;
  std::optional<Cleanup> m_cleanup;
  std::unique_ptr<OciRuntime> m_runtime;
  pid_t m_first_process = 0;
  int m_first_status = -1;
};

TEST_P(MonitorTest, LogsBothStreamsAndRecordsTheExitCode) {
  ASSERT_EQ(launch({"sh", "-c", "echo out; echo err >&2; exit 3"}), "ok\n");
  EXPECT_TRUE(WIFEXITED(m_first_status) && WEXITSTATUS(m_first_status) == 0);
  const ContainerState end = final_state();
  EXPECT_EQ(end.status, "exited");
  EXPECT_EQ(end.exit_code, 3);
  EXPECT_EQ(end.restart_count, 0);
  EXPECT_EQ(end.pid, 0);
  EXPECT_EQ(end.error, "");
  EXPECT_FALSE(end.oom_killed);
  const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)");
  EXPECT_TRUE(std::regex_match(end.started_at, rfc3339)) << end.started_at;
  EXPECT_TRUE(std::regex_match(end.finished_at, rfc3339)) << end.finished_at;
  EXPECT_LE(end.started_at, end.finished_at);

  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& line : log_lines()) {
    seen.insert({line.stream, line.log});
    EXPECT_TRUE(std::regex_match(line.time, rfc3339)) << line.time;
  }
  EXPECT_EQ(seen, (std::set<std::pair<std::string, std::string>>{{"stdout", "out\n"},
                                                                 {"stderr", "err\n"}}));
  // The monitor deleted the runtime's container: it must be created anew to run again.
  EXPECT_FALSE(m_runtime->state(m_id).has_value());
}

TEST_P(MonitorTest, SplitsLongLinesAndKeepsAnUnfinishedLastOne) {
  ASSERT_EQ(launch({"sh", "-c",
                    "busybox head -c 20000 /dev/zero | busybox tr '\\0' a; echo; echo -n tail"}),
            "ok\n");
  EXPECT_EQ(final_state().exit_code, 0);
  const auto lines = log_lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].log, std::string(16384, 'a'));
  EXPECT_EQ(lines[1].log, std::string(20000 - 16384, 'a') + "\n");
  EXPECT_EQ(lines[2].log, "tail");
}

TEST_P(MonitorTest, RecordsAnOomKill) {
  m_memory_limit = 16 << 20;
  // The shell keeps 64 MB in a variable: the kernel kills it inside its 16 MiB.
  ASSERT_EQ(launch({"sh", "-c", "x=$(busybox head -c 64000000 /dev/zero | busybox tr '\\0' a)"}),
            "ok\n");
  const ContainerState end = final_state();
  EXPECT_EQ(end.exit_code, 137);
  EXPECT_TRUE(end.oom_killed);
}

TEST_P(MonitorTest, OutlivesItsParentInItsOwnSessionAndIgnoresTermination) {
  ASSERT_EQ(launch({"sleep", "1000"}), "ok\n");
  const ContainerState running = state();
  EXPECT_EQ(running.status, "running");
  ASSERT_GT(running.monitor_pid, 0);
  // The process the caller started has exited (reaped in launch); the monitor is its child.
  EXPECT_NE(running.monitor_pid, m_first_process);
  EXPECT_TRUE(same_process_alive(running.monitor_pid, running.monitor_start_time));
  EXPECT_EQ(::getsid(running.monitor_pid), running.monitor_pid);
  // The container's init belongs to the monitor, its subreaper, once the runtime's last
  // intermediate process has exited (a moment after `run --detach` returned).
  EXPECT_TRUE(same_process_alive(running.pid, running.pid_start_time));
  EXPECT_TRUE(eventually([&] {
    return read_text(fmt::format("/proc/{}/status", running.pid))
               .find(fmt::format("\nPPid:\t{}\n", running.monitor_pid)) != std::string::npos;
  }));
  const std::string fds = fmt::format("/proc/{}/fd", running.monitor_pid);
  EXPECT_EQ(stdfs::read_symlink(fds + "/0"), "/dev/null");
  EXPECT_EQ(stdfs::read_symlink(fds + "/2"), "/dev/null");

  for (const int signal : {SIGTERM, SIGINT, SIGHUP}) {
    ASSERT_EQ(::kill(running.monitor_pid, signal), 0);
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(same_process_alive(running.monitor_pid, running.monitor_start_time));
  EXPECT_EQ(state().status, "running");

  stop_by_user();
  const ContainerState end = final_state();
  EXPECT_EQ(end.exit_code, 137);
  EXPECT_EQ(end.restart_count, 0);
}

TEST_P(MonitorTest, RestartsOnFailureUpToTheLimit) {
  m_config.restart = {RestartPolicy::Name::on_failure, 2};
  ASSERT_EQ(launch({"sh", "-c", "echo run; exit 1"}), "ok\n");
  const ContainerState end = final_state();
  EXPECT_EQ(end.exit_code, 1);
  EXPECT_EQ(end.restart_count, 2);
  std::vector<std::string> runs;
  for (const auto& line : log_lines()) {
    runs.push_back(line.log);
  }
  EXPECT_EQ(runs, (std::vector<std::string>{"run\n", "run\n", "run\n"}));
  EXPECT_FALSE(m_runtime->state(m_id).has_value());
}

TEST_P(MonitorTest, AlwaysRestartsUntilTheUserStops) {
  m_config.restart = {RestartPolicy::Name::always, 0};
  ASSERT_EQ(launch({"sleep", "1000"}), "ok\n");
  const ContainerState first = state();
  m_runtime->kill(m_id, SIGKILL);
  ASSERT_TRUE(state_becomes([&](const ContainerState& now) {
    return now.status == "running" && now.restart_count == 1 && now.pid != first.pid;
  })) << "status "
      << state().status << ", restarts " << state().restart_count;
  const ContainerState second = state();
  EXPECT_TRUE(same_process_alive(second.pid, second.pid_start_time));
  EXPECT_EQ(second.monitor_pid, first.monitor_pid);

  // The stopping marker: a user's stop, never followed by a restart.
  stop_by_user();
  const ContainerState end = final_state();
  EXPECT_EQ(end.exit_code, 137);
  EXPECT_EQ(end.restart_count, 1);
  EXPECT_FALSE(m_runtime->state(m_id).has_value());
}

TEST_P(MonitorTest, HealthGoesStartingHealthyUnhealthy) {
  Healthcheck check;
  check.test = {"CMD-SHELL", "cat /tmp/healthy"};
  check.interval = 150ms;
  check.timeout = 5s;
  check.start_period = 60s;  // failures before the first success do not count
  check.start_interval = 50ms;
  check.retries = 2;
  m_config.healthcheck = check;
  ASSERT_EQ(launch({"sleep", "1000"}), "ok\n");
  EXPECT_EQ(state().health, "starting");
  ASSERT_TRUE(state_becomes([](const ContainerState& now) { return now.health_log.size() >= 3; }));
  ContainerState now = state();
  EXPECT_EQ(now.health, "starting");
  EXPECT_EQ(now.failing_streak, 0);
  EXPECT_EQ(now.health_log.back().exit_code, 1);
  EXPECT_EQ(now.health_log.back().output,
            "cat: can't open '/tmp/healthy': No such file or directory\n");

  std::ofstream(rootfs() + "/tmp/healthy") << "fine\n";
  ASSERT_TRUE(state_becomes([](const ContainerState& now) { return now.health == "healthy"; }));
  now = state();
  EXPECT_EQ(now.failing_streak, 0);
  EXPECT_EQ(now.health_log.back().exit_code, 0);
  EXPECT_EQ(now.health_log.back().output, "fine\n");

  stdfs::remove(rootfs() + "/tmp/healthy");
  ASSERT_TRUE(state_becomes([](const ContainerState& now) { return now.health == "unhealthy"; }));
  now = state();
  EXPECT_GE(now.failing_streak, 2);
  EXPECT_LE(now.health_log.size(), 5u);
  EXPECT_EQ(now.health_log.back().exit_code, 1);
  EXPECT_LE(now.health_log.back().start, now.health_log.back().end);
  EXPECT_EQ(now.status, "running");

  stop_by_user();
  EXPECT_EQ(final_state().exit_code, 137);
}

/// Host processes whose command line is `args`.
int count_processes(const std::vector<std::string>& args) {
  std::string wanted;
  for (const auto& arg : args) {
    wanted += arg + '\0';
  }
  int count = 0;
  for (const auto& entry : stdfs::directory_iterator("/proc")) {
    try {
      count += fs::read_file_if_exists(entry.path().string() + "/cmdline") == wanted ? 1 : 0;
    } catch (const Error&) {
      // Gone meanwhile, or not a process.
    }
  }
  return count;
}

TEST_P(MonitorTest, AProbeOverItsTimeoutIsKilled) {
  const std::vector<std::string> probe{"sleep",
                                       std::to_string(86000 + std::random_device()() % 1000)};
  Healthcheck check;
  check.test = {"CMD", probe[0], probe[1]};
  check.interval = 100ms;
  check.timeout = 300ms;
  check.retries = 2;
  m_config.healthcheck = check;
  ASSERT_EQ(launch({"sleep", "1000"}), "ok\n");
  ASSERT_TRUE(state_becomes([](const ContainerState& now) { return now.health == "unhealthy"; }));
  const ContainerState now = state();
  EXPECT_EQ(now.health_log.back().exit_code, -1);
  EXPECT_EQ(now.health_log.back().output, "Health check exceeded timeout (300ms)");
  // Each timed-out probe was killed (the runtime's exec made it a session leader of its own,
  // out of reach of a process-group kill): at most the one under way is left.
  std::this_thread::sleep_for(500ms);
  EXPECT_LE(count_processes(probe), 1);
  // Nor does the monitor collect zombies: its children are the init and the probe under way.
  const std::string children =
      read_text(fmt::format("/proc/{0}/task/{0}/children", now.monitor_pid));
  EXPECT_LE(std::count(children.begin(), children.end(), ' '), 2) << children;

  stop_by_user();
  EXPECT_EQ(final_state().exit_code, 137);
  EXPECT_EQ(count_processes(probe), 0);
  // The probe processes ended normally, so the runtime driver removed its temporary files.
  EXPECT_TRUE(stdfs::is_empty(temp_dir()));
}

TEST_P(MonitorTest, AnAttachedReaderGetsTheExitCodeWhateverInputCameAfterTheEnd) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
  const Fd ours(pair[0]);
  Fd theirs(pair[1]);
  m_config.stdin_open = true;
  m_config.stdin_once = true;
  // The final-exit command holds the monitor between the container's end and the exit code
  // until the test lets it go.
  const std::string release = m_dir.path() + "/release";
  m_config.final_exit_command = {"/bin/sh", "-c",
                                 "until [ -e '" + release + "' ]; do sleep 0.01; done"};
  ASSERT_EQ(launch({"sh", "-c", "echo done; exit 4"}, theirs.get()), "ok\n");
  theirs.reset();
  ASSERT_TRUE(state_becomes([](const ContainerState& now) { return now.status == "exited"; }));
  // The end of our input, sent once the container has ended (as a slow command's is): the
  // monitor never reads it. A socket closed with unread packets resets the connection, and a
  // reader's next recv would fail before it reached the output and the exit code.
  const std::string end = attach::packet(attach::Kind::stdin_end, "");
  ASSERT_EQ(::send(ours.get(), end.data(), end.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(end.size()));
  std::ofstream(release) << "";
  // A plain reader, as a build step's: every packet, then the end.
  std::string output;
  std::optional<int> code;
  std::string buffer(attach::k_max_packet, '\0');
  for (;;) {
    const ssize_t n = ::recv(ours.get(), buffer.data(), buffer.size(), 0);
    ASSERT_GE(n, 0) << std::strerror(errno) << " after \"" << output << "\"";
    if (n == 0) {
      break;
    }
    const std::string payload = buffer.substr(1, static_cast<std::size_t>(n) - 1);
    if (buffer[0] == static_cast<char>(attach::Kind::stdout_data)) {
      output += payload;
    } else if (buffer[0] == static_cast<char>(attach::Kind::exit)) {
      code = std::stoi(payload);
    }
  }
  EXPECT_EQ(output, "done\n");
  EXPECT_EQ(code, 4);
  EXPECT_EQ(final_state().exit_code, 4);
}

TEST_P(MonitorTest, AFailedStartIsTheVerdictAndTheState) {
  const std::string verdict = launch({"/no/such/program"});
  ASSERT_TRUE(verdict.starts_with("error: ")) << verdict;
  EXPECT_EQ(verdict.back(), '\n');
  EXPECT_EQ(std::count(verdict.begin(), verdict.end(), '\n'), 1);
  EXPECT_NE(verdict.find(GetParam() + " create " + m_id.substr(0, 12) + ": "), std::string::npos)
      << verdict;
  EXPECT_NE(verdict.find("/no/such/program"), std::string::npos) << verdict;
  const ContainerState end = final_state();
  EXPECT_EQ(end.status, "exited");
  EXPECT_EQ(end.exit_code, 127);
  EXPECT_EQ("error: " + end.error + "\n", verdict);
  EXPECT_FALSE(m_runtime->state(m_id).has_value());
}

INSTANTIATE_TEST_SUITE_P(Runtimes, MonitorTest, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::runtime
