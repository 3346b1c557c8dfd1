#include "runtime/oci_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/cgroups.h"
#include "runtime/oci_spec.h"
#include "runtime/rootfs.h"
#include "runtime/seccomp_bpf.h"
#include "tests/support/busybox_image.h"
#include "tests/support/error_of.h"
#include "tests/support/run_berth.h"
#include "util/fs.h"

namespace berth::runtime {
namespace {

using nlohmann::json;
using testing::error_of;
using testing::read_text;
using testing::TempDir;

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;

std::string random_hex(std::size_t digits) {
  std::random_device random;
  std::string hex;
  while (hex.size() < digits) {
    hex += fmt::format("{:08x}", random());
  }
  return hex.substr(0, digits);
}

class Fd {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return m_fd; }

 private:
  int m_fd;
};

Fd open_output(const std::string& path) {
  return Fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
}

/// Polls `condition` for up to 10 s.
template <class Condition>
bool eventually(Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

/// Makes this test process the containers' subreaper, as berth's monitor is, and reaps its
/// exited children: container inits and exec'd processes. Otherwise they stay zombies until
/// the machine's init reaps them (every second or two here); the runtimes wait for that, and
/// a container's init cannot finish dying while a zombie of its pid namespace is unreaped.
/// Processes named crun or runc are left alone: the code under test waits for its own (hence
/// no waitpid(-1)), and an orphaned runtime helper cannot be told from those; the machine's
/// init reaps such helpers once the test process exits. It lives only while the runtime tests run,
/// so other tests in the binary keep their children to themselves.
class Reaper {
 public:
  Reaper() {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    m_thread = std::jthread([](const std::stop_token& stop) {
      while (!stop.stop_requested()) {
        reap_exited_children();
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  ~Reaper() {
    m_thread.request_stop();
    m_thread.join();
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

 private:
  static void reap_exited_children() {
    std::error_code ignored;
    for (const auto& task : stdfs::directory_iterator("/proc/self/task", ignored)) {
      std::ifstream children(task.path() / "children");
      for (pid_t pid = 0; children >> pid;) {
        // "<pid> (<comm>) <state> ..."; comm may hold spaces and parentheses.
        const std::string stat = read_text(fmt::format("/proc/{}/stat", pid));
        const auto open = stat.find('(');
        const auto close = stat.rfind(')');
        if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) {
          continue;
        }
        const std::string comm = stat.substr(open + 1, close - open - 1);
        // The runtimes are the driver's to reap. crun runs from a sealed copy executed as
        // /proc/self/fd/<n>, so its name is that number.
        const bool runtime = comm == "crun" || comm == "runc" ||
                             comm.find_first_not_of("0123456789") == std::string::npos;
        if (stat[close + 2] == 'Z' && !runtime) {
          ::waitpid(pid, nullptr, WNOHANG);
        }
      }
    }
  }

  std::jthread m_thread;
};

json process(const std::vector<std::string>& args, bool terminal = false) {
  return {{"terminal", terminal}, {"user", {{"uid", 0}, {"gid", 0}}},
          {"args", args},         {"env", {"PATH=/bin", "TERM=xterm"}},
          {"cwd", "/"},           {"noNewPrivileges", true}};
}

/// The smallest spec both runtimes accept for a busybox root: its own namespaces, /proc,
/// /dev and /dev/pts (for a terminal), and the test's cgroup.
json container_config(const std::string& rootfs, const std::string& cgroups_path,
                      const std::vector<std::string>& args) {
  return {{"ociVersion", "1.0.2"},
          {"process", process(args)},
          {"root", {{"path", rootfs}, {"readonly", false}}},
          {"hostname", "berth-test"},
          {"mounts",
           {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
            {{"destination", "/dev"},
             {"type", "tmpfs"},
             {"source", "tmpfs"},
             {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
            {{"destination", "/dev/pts"},
             {"type", "devpts"},
             {"source", "devpts"},
             {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}}}},
          {"linux",
           {{"cgroupsPath", cgroups_path},
            {"namespaces",
             {{{"type", "pid"}},
              {{"type", "network"}},
              {{"type", "ipc"}},
              {{"type", "uts"}},
              {{"type", "mount"}}}}}}};
}

void write_json(const std::string& path, const json& value) {
  std::ofstream(path) << value.dump();
}

// Each guard undoes one thing a test made, in reverse order of making, even when the test
// fails half-way: the container, then the overlay, then the cgroups.

class ContainerGuard {
 public:
  ContainerGuard(OciRuntime& runtime, std::string id) : m_runtime(runtime), m_id(std::move(id)) {}
  ~ContainerGuard() {
    try {
      m_runtime.remove(m_id, true);
    } catch (const Error& e) {
      ADD_FAILURE() << "cleanup: " << e.what();
    }
  }
  ContainerGuard(const ContainerGuard&) = delete;
  ContainerGuard& operator=(const ContainerGuard&) = delete;

 private:
  OciRuntime& m_runtime;
  std::string m_id;
};

class RootfsGuard {
 public:
  explicit RootfsGuard(std::string target) : m_target(std::move(target)) {}
  ~RootfsGuard() {
    try {
      unmount_rootfs(m_target);
    } catch (const Error& e) {
      ADD_FAILURE() << "cleanup: " << e.what();
    }
  }
  RootfsGuard(const RootfsGuard&) = delete;
  RootfsGuard& operator=(const RootfsGuard&) = delete;

 private:
  std::string m_target;
};

class CgroupGuard {
 public:
  explicit CgroupGuard(std::string path) : m_path(std::move(path)) {}
  ~CgroupGuard() {
    try {
      remove_cgroup(m_path);
    } catch (const Error& e) {
      ADD_FAILURE() << "cleanup: " << e.what();
    }
  }
  CgroupGuard(const CgroupGuard&) = delete;
  CgroupGuard& operator=(const CgroupGuard&) = delete;

 private:
  std::string m_path;
};

/// Receives the pty master a runtime sends to a console socket, and reads what the
/// container's terminal shows until `expected` appears (or 10 s pass).
class ConsoleReceiver {
 public:
  ConsoleReceiver(const std::string& path, std::string expected)
      : m_listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)),
        m_expected(std::move(expected)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.copy(address.sun_path, sizeof address.sun_path - 1);
    if (::bind(m_listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(m_listener.get(), 1) != 0) {
      throw std::runtime_error("console socket " + path);
    }
    m_thread = std::thread([this] { receive(); });
  }
  ~ConsoleReceiver() {
    ::shutdown(m_listener.get(), SHUT_RDWR);
    if (m_thread.joinable()) {
      m_thread.join();
    }
  }
  ConsoleReceiver(const ConsoleReceiver&) = delete;
  ConsoleReceiver& operator=(const ConsoleReceiver&) = delete;

  /// What the terminal showed; joins the reader first.
  std::string shown() {
    if (m_thread.joinable()) {
      m_thread.join();
    }
    return m_shown;
  }

 private:
  bool wait_readable(int fd) {
    pollfd entry{fd, POLLIN, 0};
    return ::poll(&entry, 1, 10'000) == 1;
  }

  void receive() {
    if (!wait_readable(m_listener.get())) {
      return;
    }
    const Fd connection(::accept4(m_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (connection.get() < 0 || !wait_readable(connection.get())) {
      return;
    }
    char name[256];
    iovec data{name, sizeof name};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    if (::recvmsg(connection.get(), &message, MSG_CMSG_CLOEXEC) <= 0) {
      return;
    }
    const cmsghdr* header = CMSG_FIRSTHDR(&message);
    if (header == nullptr || header->cmsg_type != SCM_RIGHTS) {
      return;
    }
    int master_fd = -1;
    std::memcpy(&master_fd, CMSG_DATA(header), sizeof master_fd);
    const Fd master(master_fd);
    char buffer[256];
    while (m_shown.find(m_expected) == std::string::npos && wait_readable(master.get())) {
      const ssize_t n = ::read(master.get(), buffer, sizeof buffer);
      if (n <= 0) {
        break;
      }
      m_shown.append(buffer, static_cast<std::size_t>(n));
    }
  }

  Fd m_listener;
  std::string m_expected;
  std::string m_shown;
  std::thread m_thread;
};

class OciRuntimeTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0 || !testing::have_static_busybox()) {
      return;
    }
    // Kept only once complete: gtest skips TearDownTestSuite when this throws.
    auto image = std::make_unique<TempDir>();
    const std::string tar = image->path() + "/busybox.tar";
    testing::make_busybox_rootfs_tar(tar);
    stdfs::create_directories(image->path() + "/layer");
    const std::string extract = "tar -xf '" + tar + "' -C '" + image->path() + "/layer'";
    ASSERT_EQ(std::system(extract.c_str()), 0) << extract;
    s_image = std::move(image);
    // Only now: std::system waits for its own child, which the reaper would take.
    s_reaper = std::make_unique<Reaper>();
  }
  static void TearDownTestSuite() {
    s_reaper.reset();
    s_image.reset();
  }

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
    m_runtime = OciRuntime::make(GetParam(), m_dir.path() + "/state");
    m_cgroup_guard.emplace(m_cgroups_path);
    m_rootfs_guard.emplace(rootfs());
    mount_overlay({s_image->path() + "/layer"}, m_dir.path() + "/diff", m_dir.path() + "/work",
                  rootfs(), m_dir.path() + "/links");
    stdfs::create_directories(bundle());
    m_container_guard.emplace(*m_runtime, m_id);
  }

  std::string rootfs() const { return m_dir.path() + "/rootfs"; }
  std::string bundle() const { return m_dir.path() + "/bundle"; }
  std::string short_id() const { return m_id.substr(0, 12); }

  /// Writes the bundle's config.json for a container running `args`.
  void write_config(const std::vector<std::string>& args) {
    write_json(bundle() + "/config.json", container_config(rootfs(), m_cgroups_path, args));
  }

  /// Creates the test's container from its bundle.
  void create(const Stdio& stdio, const std::string& console_socket = "",
              const std::string& pid_file = "") {
    m_runtime->create(m_id, bundle(), stdio, console_socket, pid_file);
  }

  /// Creates and starts a container whose init prints "started" and sleeps.
  void run_sleeper() {
    write_config({"sh", "-c", "echo started; exec sleep 1000"});
    const Fd out = open_output(m_dir.path() + "/out");
    create({-1, out.get(), out.get()});
    m_runtime->start(m_id);
    ASSERT_TRUE(eventually([&] { return read_text(m_dir.path() + "/out") == "started\n"; }));
  }

  /// Writes an OCI process object and returns its path.
  std::string process_file(const std::string& name, const json& value) {
    const std::string path = m_dir.path() + "/" + name + ".json";
    write_json(path, value);
    return path;
  }

  bool has_status(const std::string& status) {
    const auto state = m_runtime->state(m_id);
    return state && state->status == status;
  }

  inline static std::unique_ptr<TempDir> s_image;
  inline static std::unique_ptr<Reaper> s_reaper;

  // Destroyed bottom-up: the container goes first, the temporary directory last.
  TempDir m_dir;
  const std::string m_id = random_hex(64);
  const std::string m_cgroups_path = fmt::format("/berth-test-{}/{}", random_hex(8), m_id);
  std::optional<CgroupGuard> m_cgroup_guard;
  std::optional<RootfsGuard> m_rootfs_guard;
  std::unique_ptr<OciRuntime> m_runtime;
  std::optional<ContainerGuard> m_container_guard;
};

TEST_P(OciRuntimeTest, CreateStartExecKillRemove) {
  write_config({"sh", "-c", "echo started; echo to-stderr >&2; exec sleep 1000"});
  {
    const Fd out = open_output(m_dir.path() + "/out");
    const Fd err = open_output(m_dir.path() + "/err");
    create({-1, out.get(), err.get()});
  }
  const auto created = m_runtime->state(m_id);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, "created");
  EXPECT_GT(created->pid, 0);

  m_runtime->start(m_id);
  const auto running = m_runtime->state(m_id);
  ASSERT_TRUE(running);
  EXPECT_EQ(running->status, "running");
  EXPECT_EQ(running->pid, created->pid);
  EXPECT_TRUE(eventually([&] { return read_text(m_dir.path() + "/out") == "started\n"; }));
  EXPECT_TRUE(eventually([&] { return read_text(m_dir.path() + "/err") == "to-stderr\n"; }));
  // Nothing of berth's leaks into the container: its init has the three streams only.
  std::vector<std::string> fds;
  for (const auto& entry : stdfs::directory_iterator(fmt::format("/proc/{}/fd", running->pid))) {
    fds.push_back(entry.path().filename().string());
  }
  std::sort(fds.begin(), fds.end());
  EXPECT_EQ(fds, (std::vector<std::string>{"0", "1", "2"}));

  {
    const Fd exec_out = open_output(m_dir.path() + "/exec-out");
    EXPECT_EQ(m_runtime->exec(m_id, process_file("echo", process({"echo", "hi"})),
                              {-1, exec_out.get(), exec_out.get()}),
              0);
    EXPECT_EQ(m_runtime->exec(m_id, process_file("exit3", process({"sh", "-c", "exit 3"})), {}), 3);
  }
  EXPECT_EQ(read_text(m_dir.path() + "/exec-out"), "hi\n");
  {
    // Nor into an exec'd process. ("; true" keeps sh from exec'ing ls, whose own directory
    // fd would show.)
    const Fd fds_out = open_output(m_dir.path() + "/exec-fds");
    EXPECT_EQ(
        m_runtime->exec(m_id, process_file("fds", process({"sh", "-c", "ls /proc/$$/fd; true"})),
                        {-1, fds_out.get(), -1}),
        0);
  }
  EXPECT_EQ(read_text(m_dir.path() + "/exec-fds"), "0\n1\n2\n");

  const auto pids = m_runtime->processes(m_id);
  EXPECT_NE(std::find(pids.begin(), pids.end(), running->pid), pids.end());

  m_runtime->kill(m_id, SIGKILL);
  EXPECT_TRUE(eventually([&] { return has_status("stopped"); }));
  EXPECT_EQ(m_runtime->state(m_id)->pid, 0);

  m_runtime->remove(m_id, false);
  EXPECT_EQ(m_runtime->state(m_id), std::nullopt);
  EXPECT_EQ(error_of([&] { m_runtime->remove(m_id, false); }), "(no error)");

  // The runtimes leave the cgroup's parents behind; berth removes them.
  remove_cgroup(m_cgroups_path);
  EXPECT_EQ(cgroup_dirs(m_cgroups_path), std::vector<std::string>{});
  EXPECT_EQ(cgroup_dirs(fs::dirname(m_cgroups_path)), std::vector<std::string>{});
}

TEST_P(OciRuntimeTest, RemoveExitedLeavesNothing) {
  write_config({"sh", "-c", "echo ran"});
  const Fd out = open_output(m_dir.path() + "/out");
  create({-1, out.get(), out.get()});
  m_runtime->start(m_id);
  ASSERT_TRUE(eventually([&] { return has_status("stopped"); }));
  EXPECT_EQ(read_text(m_dir.path() + "/out"), "ran\n");

  m_runtime->remove_exited(m_id, m_cgroups_path);
  EXPECT_EQ(m_runtime->state(m_id), std::nullopt);
  EXPECT_FALSE(stdfs::exists(m_dir.path() + "/state/" + m_id));
  EXPECT_EQ(cgroup_dirs(m_cgroups_path), std::vector<std::string>{});
  EXPECT_EQ(cgroup_dirs(fs::dirname(m_cgroups_path)), std::vector<std::string>{});
  // The id is free again, as after `delete`.
  create({});
  EXPECT_TRUE(has_status("created"));
}

TEST_P(OciRuntimeTest, PauseAndResume) {
  run_sleeper();
  m_runtime->pause(m_id);
  EXPECT_TRUE(has_status("paused"));
  m_runtime->resume(m_id);
  EXPECT_TRUE(has_status("running"));
}

TEST_P(OciRuntimeTest, ForceRemoveStopsARunningContainer) {
  run_sleeper();
  const int pid = m_runtime->state(m_id)->pid;
  m_runtime->remove(m_id, true);
  EXPECT_EQ(m_runtime->state(m_id), std::nullopt);
  EXPECT_TRUE(eventually([&] { return ::kill(pid, 0) != 0; }));
}

TEST_P(OciRuntimeTest, KillWithAllSignalsEveryProcess) {
  run_sleeper();
  EXPECT_EQ(m_runtime->exec(m_id, process_file("bg", process({"sleep", "1000"})), {}, true), -1);
  // Both must be sleep already: an exec'd process killed while still the runtime's helper
  // (named by digits) is left unreaped by the Reaper, and the pid namespace's init cannot
  // finish dying while it is.
  EXPECT_TRUE(eventually([&] {
    const auto pids = m_runtime->processes(m_id);
    return pids.size() == 2 && std::all_of(pids.begin(), pids.end(), [](int pid) {
             return read_text(fmt::format("/proc/{}/comm", pid)) == "sleep\n";
           });
  }));
  m_runtime->kill(m_id, SIGKILL, true);
  EXPECT_TRUE(eventually([&] { return has_status("stopped"); }));
}

TEST_P(OciRuntimeTest, DetachedExecReturnsAtOnce) {
  run_sleeper();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(m_runtime->exec(
                m_id,
                process_file("detached",
                             process({"sh", "-c", "sleep 0.3; echo done > /tmp/d; sleep 1000"})),
                {}, true),
            -1);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 300ms);
  // Writes land in the overlay's upper dir.
  EXPECT_TRUE(eventually([&] { return fs::is_file(m_dir.path() + "/diff/tmp/d"); }));
}

TEST_P(OciRuntimeTest, ExecWithAConsoleSocketGetsATerminal) {
  run_sleeper();
  const std::string socket = m_dir.path() + "/console.sock";
  ConsoleReceiver console(socket, "tty:/dev/pts/0");
  // runc takes a console socket only with --detach; crun takes it either way.
  EXPECT_EQ(
      m_runtime->exec(m_id, process_file("tty", process({"sh", "-c", "echo tty:$(tty)"}, true)), {},
                      true, socket),
      -1);
  EXPECT_NE(console.shown().find("tty:/dev/pts/0"), std::string::npos) << console.shown();
}

TEST_P(OciRuntimeTest, CreateWithAConsoleSocketGivesInitATerminal) {
  auto config = container_config(rootfs(), m_cgroups_path, {"sh", "-c", "echo tty:$(tty)"});
  config["process"]["terminal"] = true;
  write_json(bundle() + "/config.json", config);
  const std::string socket = m_dir.path() + "/console.sock";
  ConsoleReceiver console(socket, "tty:/dev/pts/0");
  create({}, socket);
  m_runtime->start(m_id);
  EXPECT_NE(console.shown().find("tty:/dev/pts/0"), std::string::npos) << console.shown();
}

TEST_P(OciRuntimeTest, CreateWritesThePidFile) {
  write_config({"sleep", "1000"});
  const std::string pid_file = m_dir.path() + "/pid";
  create({}, "", pid_file);
  EXPECT_EQ(read_text(pid_file), std::to_string(m_runtime->state(m_id)->pid));
}

TEST_P(OciRuntimeTest, ACreateErrorSaysWhatTheRuntimeSaid) {
  write_config({"/bin/no-such-command"});
  const Fd err = open_output(m_dir.path() + "/err");
  const std::string expected =
      GetParam() == "crun"
          ? "crun create " + short_id() +
                ": executable file `/bin/no-such-command` not found in $PATH: No such file or "
                "directory"
          : "runc create " + short_id() +
                ": unable to start container process: exec: \"/bin/no-such-command\": stat "
                "/bin/no-such-command: no such file or directory";
  EXPECT_EQ(error_of([&] { m_runtime->create(m_id, bundle(), {-1, -1, err.get()}); }), expected);
}

TEST_P(OciRuntimeTest, AnInvalidConfigIsACreateError) {
  std::ofstream(bundle() + "/config.json") << "{not json";
  const std::string expected = GetParam() == "crun"
                                   ? "crun create " + short_id() + ": error loading config.json"
                                   : "runc create " + short_id() +
                                         ": invalid character 'n' looking for beginning of "
                                         "object key string";
  EXPECT_EQ(error_of([&] { m_runtime->create(m_id, bundle(), {}); }), expected);
}

TEST_P(OciRuntimeTest, AMissingBundleIsACreateErrorNamingIt) {
  const std::string missing = m_dir.path() + "/no-bundle";
  EXPECT_EQ(
      error_of([&] { m_runtime->create(m_id, missing, {}); }),
      GetParam() + " create " + short_id() + ": bundle " + missing + ": No such file or directory");
}

TEST_P(OciRuntimeTest, AnUnknownContainerHasNoStateAndCannotBeStarted) {
  EXPECT_EQ(m_runtime->state(m_id), std::nullopt);
  EXPECT_EQ(error_of([&] { m_runtime->remove(m_id, true); }), "(no error)");
  const std::string message = error_of([&] { m_runtime->start(m_id); });
  EXPECT_EQ(message.rfind(GetParam() + " start " + short_id() + ": ", 0), 0u) << message;
  const std::string exec_message = error_of([&] {
    m_runtime->exec(m_id, process_file("echo", process({"echo", "hi"})), {});
  });
  EXPECT_EQ(exec_message.rfind(GetParam() + " exec " + short_id() + ": ", 0), 0u) << exec_message;
}

INSTANTIATE_TEST_SUITE_P(Runtimes, OciRuntimeTest, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

/// crun itself, for what berth does in its place.
class CrunOnlyTest : public OciRuntimeTest {};

TEST_P(CrunOnlyTest, BerthCompilesDockersSeccompProfileAsCrunDoes) {
  const json seccomp =
      seccomp_from_profile(fs::read_file(k_seccomp_profile_path),
                           container_capabilities(ContainerSpec{}, read_host_facts().bounding_caps),
                           read_host_facts().kernel_release);
  json config = container_config(rootfs(), m_cgroups_path, {"true"});
  config["linux"]["seccomp"] = seccomp;
  write_json(bundle() + "/config.json", config);
  create({});
  // crun keeps the program it compiled for `exec` in the container's state directory.
  EXPECT_EQ(compile_seccomp_bpf(seccomp),
            fs::read_file(m_dir.path() + "/state/" + m_id + "/seccomp.bpf"));
}

INSTANTIATE_TEST_SUITE_P(Crun, CrunOnlyTest, ::testing::Values("crun"),
                         [](const auto& info) { return info.param; });

TEST(OciRuntimeMakeTest, AnUnknownRuntimeIsAnError) {
  EXPECT_EQ(error_of([] { OciRuntime::make("kata", "/tmp/unused"); }),
            "unknown OCI runtime \"kata\" (berth drives crun or runc)");
}

TEST(OciRuntimeMakeTest, AProgramMissingFromPathIsAnError) {
  const std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
  const TempDir empty;
  ::setenv("PATH", empty.path().c_str(), 1);
  const std::string message = error_of([] { OciRuntime::make("crun", "/tmp/unused"); });
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(message, "runtime \"crun\" not found in PATH");
}

}  // namespace
}  // namespace berth::runtime
