// Attached containers, end to end on crun and runc: `run` without -d with and without -i and
// -t, a pty session driven by the test (typing, Ctrl-C, window size, detach keys), signals
// passed on, `start -a`, `exec -t`, and --rm done by the monitor.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cli/container_fixture.h"
#include "tests/support/background_berth.h"
#include "tests/support/terminal_session.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class ContainerAttach : public ContainerCli {
 protected:
  std::unique_ptr<TerminalSession> session(const std::vector<std::string>& args, unsigned rows = 24,
                                           unsigned columns = 80) {
    return std::make_unique<TerminalSession>(
        args, m_work.path(),
        std::map<std::string, std::string>{{"BERTH_ROOT", m_work.path() + "/root"},
                                           {"BERTH_RUNROOT", m_work.path() + "/run"},
                                           {"BERTH_RUNTIME", GetParam()}},
        rows, columns);
  }
};

TEST_P(ContainerAttach, InputReachesTheContainerAndItsEndIsTheContainers) {
  const auto result = berth({"container", "run", "--rm", "-i", "bb:1", "sh", "-c",
                             "while read line; do echo \"got $line\"; done; echo end"},
                            "one\ntwo\n");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "got one\ngot two\nend\n");
  // Without -i the container's input is empty, whatever ours holds.
  EXPECT_EQ(berth({"container", "run", "--rm", "bb:1", "cat"}, "ignored\n").out, "");
}

TEST_P(ContainerAttach, InputTheContainerNeverReadsLosesNeitherOutputNorExitCode) {
  // More than the container's pipe takes: what is left is still in the channel when the
  // container ends (as an end of input sent just after it, on a slow machine, is), and the
  // exit code must come through it all the same, since --rm leaves no state to read it from.
  const auto result =
      berth({"container", "run", "--rm", "-i", "bb:1", "sh", "-c", "sleep 0.2; echo hi; exit 4"},
            std::string(224 * 1024, 'x'));
  EXPECT_EQ(result.exit_code, 4) << result.err;
  EXPECT_EQ(result.out, "hi\n");
  EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out, "");
}

TEST_P(ContainerAttach, AMonitorKilledWhileAttachedIsAnErrorNotAnExitCode) {
  BackgroundBerth attached(
      {"container", "run", "--rm", "--name", "orphan", "bb:1", "sh", "-c", "echo up; sleep 100"},
      m_work.path(),
      {{"BERTH_ROOT", m_work.path() + "/root"},
       {"BERTH_RUNROOT", m_work.path() + "/run"},
       {"BERTH_RUNTIME", GetParam()}});
  ASSERT_TRUE(attached.wait_for_output([](const std::string& out) { return out == "up\n"; }));
  const std::string id = inspect("orphan").value("Id", "");
  const auto state =
      nlohmann::json::parse(read_text(m_work.path() + "/run/containers/" + id + "/state.json"));
  const int monitor = state.at("monitor_pid").get<int>();
  ASSERT_GT(monitor, 0);
  ::kill(monitor, SIGKILL);
  // The container has no exit code yet: none is made up (it was 0). --rm still removes it.
  EXPECT_EQ(attached.wait(), 125);
  EXPECT_THAT(attached.err(), HasSubstr("the monitor of container orphan is gone"));
  EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out, "");
}

TEST_P(ContainerAttach, StreamsStaySeparateAndStartFailuresHaveDockersCodes) {
  const auto result = run({"bb:1", "sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.out, "out\n");
  EXPECT_EQ(result.err, "err\n");
  const auto missing = run({"bb:1", "no-such-command"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_THAT(missing.err, HasSubstr("no-such-command"));
  EXPECT_EQ(run({"bb:1", "/etc/passwd"}).exit_code, 126);
}

TEST_P(ContainerAttach, TtyWithoutInputStillRunsOnATerminal) {
  const auto result = run({"-t", "bb:1", "sh", "-c", "tty; exit 4"});
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_THAT(result.out, MatchesRegex("/dev/pts/[0-9]+\r\n"));
  // -it needs a terminal to read from, as in Docker.
  const auto refused = run({"-it", "bb:1", "true"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err, "berth: error: the input device is not a TTY\n");
}

TEST_P(ContainerAttach, APtySessionTypesResizesAndInterrupts) {
  auto shell = session({"container", "run", "--rm", "-it", "bb:1", "sh"}, 30, 100);
  EXPECT_THAT(shell->read_until("# "), HasSubstr("# "));
  shell->type("stty size\r");
  EXPECT_THAT(shell->read_until("30 100"), HasSubstr("30 100"));
  shell->resize(40, 120);
  // The resize travels berth -> monitor -> the container's terminal; ask until it has.
  bool resized = false;
  for (int attempt = 0; attempt < 20 && !resized; ++attempt) {
    shell->type("stty size\r");
    resized = shell->read_until("40 120", std::chrono::milliseconds(250)).find("40 120") !=
              std::string::npos;
  }
  EXPECT_TRUE(resized);
  // Ctrl-C is a key for the container's terminal: it interrupts sleep, not berth, and the
  // shell answers at once.
  shell->type("sleep 100\r");
  EXPECT_THAT(shell->read_until("sleep 100"), HasSubstr("sleep 100"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  shell->type("\x03");
  shell->type("echo al''ive\r");
  EXPECT_THAT(shell->read_until("alive", std::chrono::seconds(10)), HasSubstr("alive"));
  shell->type("exit 7\r");
  EXPECT_EQ(shell->wait(), 7);
}

TEST_P(ContainerAttach, DetachKeysLeaveTheContainerRunning) {
  auto shell = session({"container", "run", "-it", "--name", "left", "bb:1", "sh"});
  EXPECT_THAT(shell->read_until("# "), HasSubstr("# "));
  shell->type("\x10\x11");
  EXPECT_EQ(shell->wait(), 0);
  EXPECT_EQ(inspect("left")["State"]["Status"], "running");
  // The shell did not see the keys: what is typed next still works.
  const auto exec = berth({"container", "exec", "left", "sh", "-c", "echo still here"});
  EXPECT_EQ(exec.out, "still here\n");
  EXPECT_EQ(berth({"container", "rm", "-f", "left"}).exit_code, 0);
}

TEST_P(ContainerAttach, SignalsToBerthGoToTheContainer) {
  auto attached = session({"container", "run", "--rm", "bb:1", "sh", "-c",
                           "trap 'echo got TERM; exit 9' TERM; echo ready; "
                           "while :; do sleep 0.1; done"});
  EXPECT_THAT(attached->read_until("ready"), HasSubstr("ready"));
  ::kill(attached->pid(), SIGTERM);
  EXPECT_THAT(attached->read_until("got TERM"), HasSubstr("got TERM"));
  EXPECT_EQ(attached->wait(), 9);
}

TEST_P(ContainerAttach, RmDetachedRemovesItselfOnceDone) {
  const auto started =
      berth({"container", "run", "-d", "--rm", "--name", "brief", "bb:1", "sleep", "0.3"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  EXPECT_TRUE(eventually([&] { return berth({"container", "ls", "-a", "-q"}).out.empty(); }));
  // The name is free again.
  EXPECT_EQ(berth({"container", "create", "--name", "brief", "bb:1", "true"}).exit_code, 0);
}

TEST_P(ContainerAttach, StartAttachedReturnsTheExitCode) {
  ASSERT_EQ(
      berth({"container", "create", "--name", "once", "bb:1", "sh", "-c", "echo hello; exit 4"})
          .exit_code,
      0);
  const auto started = berth({"container", "start", "-a", "once"});
  EXPECT_EQ(started.exit_code, 4);
  EXPECT_EQ(started.out, "hello\n");
  const auto input = berth({"container", "start", "-a", "-i", "once"}, "typed\n");
  EXPECT_EQ(input.exit_code, 4);
  EXPECT_EQ(input.out, "hello\n");
}

TEST_P(ContainerAttach, ExecWithATerminal) {
  ASSERT_EQ(berth({"container", "run", "-d", "--name", "host", "bb:1", "sleep", "100"}).exit_code,
            0);
  const auto plain = berth({"container", "exec", "-t", "host", "sh", "-c", "tty; exit 3"});
  EXPECT_EQ(plain.exit_code, 3) << plain.err;
  EXPECT_THAT(plain.out, MatchesRegex("/dev/pts/[0-9]+\r\n"));

  auto shell = session({"container", "exec", "-it", "host", "sh"}, 33, 90);
  EXPECT_THAT(shell->read_until("# "), HasSubstr("# "));
  shell->type("stty size; exit 6\r");
  EXPECT_THAT(shell->read_until("33 90"), HasSubstr("33 90"));
  EXPECT_EQ(shell->wait(), 6);
  // Nothing of the exec stays in the container's run directory.
  const auto id = inspect("host")["Id"].get<std::string>();
  for (const auto& entry :
       std::filesystem::directory_iterator(m_work.path() + "/run/containers/" + id)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("console-exec")) << entry.path();
  }
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ContainerAttach, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
