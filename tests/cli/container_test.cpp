// `berth container ...` end to end, as root, with real crun and runc: the same behaviour
// suite runs once per runtime (BERTH_RUNTIME). Images are made by the test from Debian's
// busybox-static; every test removes its containers, and checks that nothing is left.
#include <signal.h>

#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/container_fixture.h"
#include "tests/support/run_berth.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST_P(ContainerCli, RunPrintsOutputAndExitsWithTheContainersCode) {
  auto result = run({"bb:1", "sh", "-c", "echo out; echo err >&2; exit 7"});
  EXPECT_EQ(result.exit_code, 7);
  EXPECT_EQ(result.out, "out\n");
  EXPECT_EQ(result.err, "err\n");
}

TEST_P(ContainerCli, EnvironmentUserAndWorkingDirectory) {
  auto result = run({"-e", "GREETING=hi", "-u", "app", "-w", "/tmp", "-h", "box", "bb:1", "sh",
                     "-c", "echo $GREETING $HOME; id; pwd; hostname"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // Supplementary groups come from the image's /etc/group (app is a member of extra).
  EXPECT_EQ(result.out,
            "hi /home/app\nuid=1000(app) gid=1000(app) groups=2000(extra)\n/tmp\nbox\n");
  auto numeric = run({"-u", "4242:4343", "bb:1", "id", "-u"});
  EXPECT_EQ(numeric.out, "4242\n");
  auto unknown = run({"-u", "nobody-here", "bb:1", "true"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("unable to find user nobody-here"));
}

TEST_P(ContainerCli, CmdAndEntrypointFollowDockersRules) {
  ASSERT_EQ(berth({"image", "import", m_work.path() + "/rootfs.tar", "ep:1", "--change",
                   "ENTRYPOINT [\"echo\", \"entry\"]", "--change", "CMD [\"default\"]"})
                .exit_code,
            0);
  EXPECT_EQ(run({"ep:1"}).out, "entry default\n");
  EXPECT_EQ(run({"ep:1", "given"}).out, "entry given\n");
  // --entrypoint drops the image's CMD too.
  EXPECT_EQ(run({"--entrypoint", "echo", "ep:1"}).out, "\n");
  EXPECT_EQ(run({"--entrypoint", "echo", "ep:1", "mine"}).out, "mine\n");
  auto none = run({"bb:1"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("no command specified"));
}

TEST_P(ContainerCli, ReadOnlyRootAndTmpfs) {
  auto result =
      run({"--read-only", "--tmpfs", "/scratch", "bb:1", "sh", "-c",
           "touch /x 2>/dev/null && echo wrote-root; touch /scratch/y && echo wrote-tmpfs"});
  EXPECT_EQ(result.out, "wrote-tmpfs\n");
}

TEST_P(ContainerCli, MemoryLimitKillsWithOom) {
  // 64 MB of "y" lines in a shell variable does not fit in 16 MiB.
  auto result = run({"-m", "16m", "--memory-swap", "16m", "bb:1", "sh", "-c",
                     "x=$(yes | head -c 67108864); echo survived"});
  EXPECT_EQ(result.exit_code, 137) << result.out << result.err;
  EXPECT_EQ(result.out, "");
}

TEST_P(ContainerCli, PidsLimitStopsForks) {
  auto result = run({"--pids-limit", "4", "bb:1", "sh", "-c",
                     "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo done"});
  EXPECT_THAT(result.err + result.out, HasSubstr("can't fork"));
}

TEST_P(ContainerCli, DroppedCapabilityAndSeccomp) {
  EXPECT_EQ(run({"bb:1", "sh", "-c", "touch /f && chown 42 /f && echo ok"}).out, "ok\n");
  auto dropped =
      run({"--cap-drop", "CHOWN", "bb:1", "sh", "-c", "touch /f && chown 42 /f && echo ok"});
  EXPECT_NE(dropped.exit_code, 0);
  EXPECT_THAT(dropped.err, HasSubstr("Operation not permitted"));
  // The default seccomp profile refuses swapon whatever the capabilities; unconfined, the
  // kernel gets to look at the file (and finds it is no swap area).
  EXPECT_EQ(run({"bb:1", "sh", "-c", "grep Seccomp: /proc/self/status"}).out, "Seccomp:\t2\n");
  auto blocked = run({"--cap-add", "SYS_ADMIN", "bb:1", "swapon", "/etc/passwd"});
  EXPECT_NE(blocked.exit_code, 0);
  EXPECT_THAT(blocked.err, HasSubstr("Operation not permitted"));
  auto unconfined = run({"--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "bb:1",
                         "swapon", "/etc/passwd"});
  EXPECT_THAT(unconfined.err, HasSubstr("Invalid argument"));
  EXPECT_EQ(run({"--security-opt", "seccomp=unconfined", "bb:1", "sh", "-c",
                 "grep Seccomp: /proc/self/status"})
                .out,
            "Seccomp:\t0\n");
}

TEST_P(ContainerCli, StopKillsWhatIgnoresTheStopSignal) {
  ASSERT_EQ(berth({"container", "run", "-d", "--name", "stubborn", "bb:1", "sh", "-c",
                   "trap '' TERM; echo ready; while true; do sleep 0.1; done"})
                .exit_code,
            0);
  ASSERT_TRUE(eventually([&] {
    return berth({"container", "logs", "stubborn"}).out == "ready\n";
  }));
  const auto before = std::chrono::steady_clock::now();
  auto stopped = berth({"container", "stop", "-t", "1", "stubborn"});
  const auto took = std::chrono::steady_clock::now() - before;
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_GE(took, std::chrono::milliseconds(900));  // it waited the grace period out
  const json state = inspect("stubborn")["State"];
  EXPECT_EQ(state["Status"], "exited");
  EXPECT_EQ(state["ExitCode"], 137);
  EXPECT_EQ(berth({"container", "rm", "stubborn"}).exit_code, 0);
}

TEST_P(ContainerCli, StopWithTheSignalTheProcessHandles) {
  ASSERT_EQ(berth({"container", "run", "-d", "--name", "polite", "bb:1", "sh", "-c",
                   "trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"})
                .exit_code,
            0);
  ASSERT_TRUE(eventually([&] { return inspect("polite")["State"]["Running"] == true; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the trap is set
  EXPECT_EQ(berth({"container", "stop", "polite"}).exit_code, 0);
  EXPECT_EQ(inspect("polite")["State"]["ExitCode"], 0);
  EXPECT_EQ(berth({"container", "logs", "polite"}).out, "bye\n");
  auto running = berth({"container", "ls", "-q"});
  EXPECT_EQ(running.out, "");
  EXPECT_EQ(berth({"container", "rm", "polite"}).exit_code, 0);
}

TEST_P(ContainerCli, RestartOnFailureTwiceThenStaysExited) {
  ASSERT_EQ(berth({"container", "run", "-d", "--name", "flaky", "--restart", "on-failure:2", "bb:1",
                   "sh", "-c", "echo attempt; exit 3"})
                .exit_code,
            0);
  ASSERT_TRUE(eventually([&] {
    const json item = inspect("flaky");
    return item["State"]["Status"] == "exited" && item["RestartCount"] == 2;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // no third run comes
  const json item = inspect("flaky");
  EXPECT_EQ(item["RestartCount"], 2);
  EXPECT_EQ(item["State"]["ExitCode"], 3);
  EXPECT_EQ(berth({"container", "logs", "flaky"}).out, "attempt\nattempt\nattempt\n");
}

TEST_P(ContainerCli, HealthGoesFromStartingToHealthyToUnhealthy) {
  ASSERT_EQ(berth({"container", "run", "-d", "--name", "checked", "--health-cmd", "test -f /tmp/ok",
                   "--health-interval", "200ms", "--health-retries", "2", "bb:1", "sh", "-c",
                   "sleep 1; touch /tmp/ok; sleep 2; rm /tmp/ok; sleep 100"})
                .exit_code,
            0);
  EXPECT_EQ(inspect("checked")["State"]["Health"]["Status"], "starting");
  EXPECT_TRUE(
      eventually([&] { return inspect("checked")["State"]["Health"]["Status"] == "healthy"; }));
  EXPECT_TRUE(
      eventually([&] { return inspect("checked")["State"]["Health"]["Status"] == "unhealthy"; }));
  EXPECT_THAT(berth({"container", "ls"}).out, HasSubstr("(unhealthy)"));
}

TEST_P(ContainerCli, LogsOutliveTheCliAndExecRunsInside) {
  auto started = berth({"container", "run", "-d", "--name", "svc", "bb:1", "sh", "-c",
                        "echo one; echo two >&2; sleep 100"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  EXPECT_THAT(started.out, ::testing::MatchesRegex("[0-9a-f]{64}\n"));
  ASSERT_TRUE(eventually([&] { return berth({"container", "logs", "svc"}).err == "two\n"; }));
  auto logs = berth({"container", "logs", "-t", "svc"});
  EXPECT_THAT(logs.out, ::testing::MatchesRegex("20[0-9-]+T[0-9:.]+Z one\n"));
  // --tail counts the lines of both streams: the last one is on stderr.
  auto tail = berth({"container", "logs", "--tail", "1", "svc"});
  EXPECT_EQ(tail.out, "");
  EXPECT_EQ(tail.err, "two\n");

  auto exec = berth(
      {"container", "exec", "-e", "X=y", "-w", "/etc", "svc", "sh", "-c", "echo $X; pwd; exit 5"});
  EXPECT_EQ(exec.exit_code, 5);
  EXPECT_EQ(exec.out, "y\n/etc\n");
  EXPECT_EQ(berth({"container", "exec", "-u", "app", "svc", "id", "-un"}).out, "app\n");

  auto listed = berth({"container", "ls", "--format", "json"});
  EXPECT_EQ(json::parse(listed.out)["Names"], "svc");
  auto refused = berth({"container", "rm", "svc"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("You cannot remove a running container"));
  EXPECT_EQ(berth({"container", "rm", "-f", "svc"}).exit_code, 0);
}

TEST_P(ContainerCli, AKilledMonitorIsReportedAndTheContainerStillGoes) {
  ASSERT_EQ(berth({"container", "run", "-d", "--name", "orphan", "bb:1", "sleep", "100"}).exit_code,
            0);
  const json state =
      json::parse(read_text(m_work.path() + "/run/containers/" +
                            inspect("orphan")["Id"].get<std::string>() + "/state.json"));
  const int monitor = state["monitor_pid"];
  ASSERT_GT(monitor, 0);
  ::kill(monitor, SIGKILL);
  ASSERT_TRUE(eventually([&] { return ::kill(monitor, 0) != 0; }));
  EXPECT_THAT(berth({"container", "ls"}).out, HasSubstr("monitor lost"));
  EXPECT_EQ(berth({"container", "stop", "-t", "1", "orphan"}).exit_code, 0);
  EXPECT_EQ(berth({"container", "rm", "orphan"}).exit_code, 0);
}

TEST_P(ContainerCli, NamesAreUniqueAndErrorsAreOneLine) {
  ASSERT_EQ(berth({"container", "create", "--name", "dup", "bb:1", "true"}).exit_code, 0);
  auto again = berth({"container", "create", "--name", "dup", "bb:1", "true"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err,
              ::testing::StartsWith(
                  "berth: error: Conflict. The container name \"/dup\" is already in use"));
  auto missing = berth({"container", "rm", "nosuch"});
  EXPECT_EQ(missing.err, "berth: error: No such container: nosuch\n");
  auto image = berth({"container", "run", "--rm", "--runtime", GetParam(), "nosuch:1", "true"});
  EXPECT_EQ(image.exit_code, 1);
  auto bad_restart = berth({"container", "run", "--restart", "sometimes", "bb:1", "true"});
  EXPECT_EQ(bad_restart.err,
            "berth: error: --restart: invalid restart policy \"sometimes\": expected no, always, "
            "unless-stopped or on-failure[:max-retries]\n");
  EXPECT_EQ(berth({"container", "rm", "dup"}).exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ContainerCli, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
