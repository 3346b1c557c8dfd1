// The compose commands on a project's existing containers end to end, as root, on crun and
// on runc: start, stop, restart, kill, rm, pause, unpause, wait and exec, in the order the
// dependency graph sets, with Compose's messages and exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>

#include "tests/cli/compose_fixture.h"
#include "tests/support/terminal_session.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Services that end at once on SIGTERM, so that stops take no grace period; web restarts
// along with db (depends_on restart: true).
constexpr const char* k_stack = R"(
services:
  db:
    image: bb:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
    volumes: [/data]
  web:
    image: bb:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
    depends_on: {db: {condition: service_started, restart: true}}
    environment: {GREETING: hi}
    scale: 2
)";

class ComposeControl : public ComposeCli {
 protected:
  void SetUp() override {
    ComposeCli::SetUp();
    if (IsSkipped()) return;
    write_compose(k_stack);
    const auto up = project({"up", "-d"});
    ASSERT_EQ(up.exit_code, 0) << up.err;
  }

  std::string status_of(const std::string& name) { return inspect(name)["State"]["Status"]; }
  std::string started_at(const std::string& name) { return inspect(name)["State"]["StartedAt"]; }

  /// berth on the project, on a terminal the test holds.
  std::unique_ptr<TerminalSession> on_terminal(std::vector<std::string> args) {
    args.insert(args.begin(), {"--project-directory", m_work.path() + "/shop", "-f",
                               m_work.path() + "/shop/compose.yaml"});
    return std::make_unique<TerminalSession>(
        args, m_work.path(),
        std::map<std::string, std::string>{{"BERTH_ROOT", m_work.path() + "/root"},
                                           {"BERTH_RUNROOT", m_work.path() + "/run"},
                                           {"BERTH_RUNTIME", GetParam()},
                                           {"BERTH_DNS_UPSTREAM", m_dns_upstream}});
  }

  /// Where `line` is in `text`; npos (and a failure naming the text) when it is not.
  static std::size_t position(const std::string& text, const std::string& line) {
    const auto at = text.find(line);
    EXPECT_NE(at, std::string::npos) << "no \"" << line << "\" in:\n" << text;
    return at;
  }
};

TEST_P(ComposeControl, StopAndStartFollowTheDependenciesAndKeepTheContainers) {
  const std::string db = id_of("shop-db-1");
  const std::string web = id_of("shop-web-2");

  const auto stop = project({"stop"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_LT(position(stop.err, "Container shop-web-1  Stopped"),
            position(stop.err, "Container shop-db-1  Stopping"));
  EXPECT_LT(position(stop.err, "Container shop-web-2  Stopped"),
            position(stop.err, "Container shop-db-1  Stopping"));
  for (const auto* name : {"shop-db-1", "shop-web-1", "shop-web-2"}) {
    EXPECT_EQ(status_of(name), "exited") << name;
  }

  const auto start = project({"start"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  EXPECT_LT(position(start.err, "Container shop-db-1  Started"),
            position(start.err, "Container shop-web-1  Starting"));
  EXPECT_EQ(running().size(), 3u);
  EXPECT_EQ(id_of("shop-db-1"), db);
  EXPECT_EQ(id_of("shop-web-2"), web);

  // Named services: stop takes only them; start takes what they depend on too.
  ASSERT_EQ(project({"stop", "db"}).exit_code, 0);
  EXPECT_EQ(status_of("shop-db-1"), "exited");
  EXPECT_EQ(status_of("shop-web-1"), "running");
  const auto again = project({"start", "web"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("Container shop-db-1  Started"));
  EXPECT_THAT(again.err, Not(HasSubstr("shop-web-1")));  // running: left alone
  EXPECT_EQ(status_of("shop-db-1"), "running");
}

TEST_P(ComposeControl, StartWaitsForTheDependenciesConditionsAsUpDoes) {
  ASSERT_EQ(project({"down", "-t", "0"}).exit_code, 0);
  // db turns healthy a moment after it starts; migrate must exit 0 before web starts.
  write_compose(R"yaml(
services:
  db:
    image: bb:1
    command: ["sh", "-c", "rm -f /ready; trap 'exit 0' TERM; sleep 0.4; touch /ready; while :; do sleep 0.1; done"]
    healthcheck: {test: ["CMD", "test", "-f", "/ready"], interval: 100ms, retries: 50}
  migrate:
    image: bb:1
    command: ["sh", "-c", "exit $(cat /state/code)"]
    volumes: ["./state:/state"]
  web:
    image: bb:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
)yaml");
  m_work.write("shop/state/code", "0");
  ASSERT_EQ(project({"up", "-d"}).exit_code, 0);
  ASSERT_EQ(project({"stop"}).exit_code, 0);
  const auto start = project({"start"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  EXPECT_LT(position(start.err, "Container shop-db-1  Healthy"),
            position(start.err, "Container shop-web-1  Starting"));
  EXPECT_LT(position(start.err, "Container shop-migrate-1  Exited"),
            position(start.err, "Container shop-web-1  Starting"));
  EXPECT_EQ(status_of("shop-web-1"), "running");

  // A dependency that fails its condition keeps the service from starting, naming it.
  ASSERT_EQ(project({"stop"}).exit_code, 0);
  m_work.write("shop/state/code", "3");
  const auto failed = project({"start"});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_THAT(failed.err, HasSubstr("service \"migrate\" didn't complete successfully: exit 3"));
  EXPECT_EQ(status_of("shop-web-1"), "exited");
}

TEST_P(ComposeControl, RestartRestartsInPlaceWithTheServicesThatAskedForIt) {
  const std::string web = id_of("shop-web-1");
  const std::string web_started = started_at("shop-web-1");
  const std::string db_started = started_at("shop-db-1");

  // web's depends_on has restart: true, so it goes along with db, after it.
  const auto restart = project({"restart", "-t", "1", "db"});
  ASSERT_EQ(restart.exit_code, 0) << restart.err;
  EXPECT_LT(position(restart.err, "Container shop-db-1  Started"),
            position(restart.err, "Container shop-web-1  Restarting"));
  EXPECT_NE(started_at("shop-web-1"), web_started);
  EXPECT_NE(started_at("shop-db-1"), db_started);
  EXPECT_EQ(id_of("shop-web-1"), web);
  EXPECT_EQ(running().size(), 3u);

  const std::string web_again = started_at("shop-web-1");
  const auto alone = project({"restart", "--no-deps", "db"});
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_THAT(alone.err, HasSubstr("Container shop-db-1  Restarting"));
  EXPECT_THAT(alone.err, Not(HasSubstr("shop-web")));
  EXPECT_EQ(started_at("shop-web-1"), web_again);
}

TEST_P(ComposeControl, KillSendsTheSignalToRunningContainersOnly) {
  // TERM ends web's shells with their trap's code; the default SIGKILL gives db 137.
  const auto term = project({"kill", "-s", "TERM", "web"});
  ASSERT_EQ(term.exit_code, 0) << term.err;
  EXPECT_THAT(term.err, HasSubstr("Container shop-web-2  Killing"));
  EXPECT_THAT(term.err, HasSubstr("Container shop-web-2  Killed"));
  EXPECT_TRUE(eventually([&] { return status_of("shop-web-1") == "exited"; }));
  EXPECT_TRUE(eventually([&] { return status_of("shop-web-2") == "exited"; }));
  EXPECT_EQ(inspect("shop-web-1")["State"]["ExitCode"], 0);
  EXPECT_EQ(status_of("shop-db-1"), "running");

  ASSERT_EQ(project({"kill"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return status_of("shop-db-1") == "exited"; }));
  EXPECT_EQ(inspect("shop-db-1")["State"]["ExitCode"], 137);

  const auto nothing = project({"kill"});
  EXPECT_EQ(nothing.exit_code, 0);
  EXPECT_THAT(nothing.err, HasSubstr("No container to kill"));
  const auto bad = project({"kill", "-s", "NOPE"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("berth: error: invalid signal \"NOPE\""));
}

TEST_P(ComposeControl, RmAsksAndRemovesOnlyStoppedContainers) {
  const auto none = project({"rm"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_THAT(none.err, HasSubstr("No stopped containers"));

  ASSERT_EQ(project({"stop", "web"}).exit_code, 0);
  // Standard input is no terminal: Compose prints the question, reads one line and takes
  // an empty answer as no.
  const auto declined = project({"rm"}, "");
  EXPECT_EQ(declined.exit_code, 0) << declined.err;
  EXPECT_EQ(declined.out, "Going to remove shop-web-1, shop-web-2\n");
  EXPECT_EQ(status_of("shop-web-1"), "exited");
  const auto accepted = project({"rm"}, "true\n");
  ASSERT_EQ(accepted.exit_code, 0) << accepted.err;
  EXPECT_THAT(accepted.err, HasSubstr("Container shop-web-2  Removed"));
  EXPECT_EQ(berth({"container", "inspect", "shop-web-1"}).exit_code, 1);

  // start cannot bring back what rm took.
  const auto start = project({"start", "web"});
  EXPECT_EQ(start.exit_code, 1);
  EXPECT_THAT(start.err, HasSubstr("berth: error: service \"web\" has no container to start"));

  // -s stops first, -v takes the anonymous volume, -f asks nothing.
  ASSERT_NE(berth({"volume", "ls", "-q"}).out, "");
  const auto forced = project({"rm", "-s", "-v", "-f", "db"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(forced.out, "Going to remove shop-db-1\n");
  EXPECT_LT(position(forced.err, "Container shop-db-1  Stopped"),
            position(forced.err, "Container shop-db-1  Removing"));
  EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out, "");
  EXPECT_EQ(berth({"volume", "ls", "-q"}).out, "");
}

TEST_P(ComposeControl, PauseAndUnpauseFreezeTheServicesContainers) {
  const auto pause = project({"pause", "web"});
  ASSERT_EQ(pause.exit_code, 0) << pause.err;
  EXPECT_THAT(pause.err, HasSubstr("Container shop-web-1  Paused"));
  EXPECT_EQ(status_of("shop-web-1"), "paused");
  EXPECT_EQ(status_of("shop-web-2"), "paused");
  EXPECT_EQ(status_of("shop-db-1"), "running");

  const auto unpause = project({"unpause"});
  ASSERT_EQ(unpause.exit_code, 0) << unpause.err;
  EXPECT_THAT(unpause.err, HasSubstr("Container shop-web-2  Unpaused"));
  EXPECT_THAT(unpause.err, Not(HasSubstr("shop-db-1")));  // was not paused
  EXPECT_EQ(status_of("shop-web-1"), "running");
}

TEST_P(ComposeControl, ExecRunsInTheChosenContainerAndReturnsItsCode) {
  const auto exec = project({"exec", "-T", "-e", "A=1", "-w", "/tmp", "-u", "1000", "web", "sh",
                             "-c", "echo $A $GREETING $(pwd) $(id -u); exit 3"});
  EXPECT_EQ(exec.exit_code, 3) << exec.err;
  EXPECT_EQ(exec.out, "1 hi /tmp 1000\n");

  ASSERT_EQ(berth({"container", "exec", "shop-web-2", "touch", "/tmp/two"}).exit_code, 0);
  EXPECT_EQ(project({"exec", "-T", "--index", "2", "web", "test", "-f", "/tmp/two"}).exit_code, 0);
  EXPECT_EQ(project({"exec", "-T", "web", "test", "-f", "/tmp/two"}).exit_code, 1);  // #1
  const auto third = project({"exec", "-T", "--index", "3", "web", "true"});
  EXPECT_EQ(third.exit_code, 1);
  EXPECT_THAT(third.err, HasSubstr("berth: error: service \"web\" is not running container #3"));

  ASSERT_EQ(project({"stop", "db"}).exit_code, 0);
  const auto stopped = project({"exec", "-T", "db", "true"});
  EXPECT_EQ(stopped.exit_code, 1);
  EXPECT_THAT(stopped.err, HasSubstr("berth: error: service \"db\" is not running"));
}

TEST_P(ComposeControl, OnATerminalExecGetsOneAndRmAsks) {
  const auto exec = on_terminal({"exec", "web", "sh", "-c", "test -t 0 && echo on-a-tty; exit 4"});
  EXPECT_THAT(exec->read_until("on-a-tty"), HasSubstr("on-a-tty"));
  EXPECT_EQ(exec->wait(), 4);

  ASSERT_EQ(project({"stop", "web"}).exit_code, 0);
  const auto rm = on_terminal({"rm", "web"});
  EXPECT_THAT(rm->read_until("[y/N]: "),
              HasSubstr("Going to remove shop-web-1, shop-web-2 [y/N]: "));
  rm->type("y\n");
  EXPECT_EQ(rm->wait(), 0);
  EXPECT_EQ(berth({"container", "inspect", "shop-web-2"}).exit_code, 1);
}

TEST_P(ComposeControl, WithoutTheFileTheLabelsAreEnough) {
  std::filesystem::remove(m_work.path() + "/shop/compose.yaml");
  const auto stop = berth({"-p", "shop", "stop", "-t", "1"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(running().size(), 0u);
  const auto start = berth({"-p", "shop", "start"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  EXPECT_EQ(running().size(), 3u);
  EXPECT_EQ(berth({"-p", "shop", "exec", "-T", "--index", "2", "web", "true"}).exit_code, 0);
  EXPECT_EQ(berth({"-p", "shop", "down", "-t", "0"}).exit_code, 0);
}

TEST_P(ComposeControl, UnknownServicesAndMissingContainersAreOneLineErrors) {
  for (const auto* command : {"start", "stop", "restart", "kill", "rm", "pause", "wait"}) {
    const auto result = project({command, "nosuch"});
    EXPECT_EQ(result.exit_code, 1) << command;
    EXPECT_EQ(result.err, "berth: error: no such service: nosuch\n") << command;
  }
  ASSERT_EQ(project({"down", "-t", "0"}).exit_code, 0);
  const auto start = project({"start"});
  EXPECT_EQ(start.exit_code, 1);
  EXPECT_EQ(start.err, "berth: error: no container found for project \"shop\"\n");
}

class ComposeControlWait : public ComposeCli {};

TEST_P(ComposeControlWait, WaitExitsWithTheCodeOfTheLastContainerAndCanTakeTheProjectDown) {
  write_compose(R"(
services:
  job: {image: bb:1, command: ["sh", "-c", "sleep 2; exit 5"]}
  server:
    image: bb:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
)");
  ASSERT_EQ(project({"up", "-d"}).exit_code, 0);
  const std::string job = id_of("shop-job-1");
  const auto wait = project({"wait", "job"});
  EXPECT_EQ(wait.exit_code, 5) << wait.err;
  EXPECT_EQ(wait.out, "container \"" + job + "\" exited with status code 5\n");
  // Nothing of job runs any more.
  const auto idle = project({"wait", "job"});
  EXPECT_EQ(idle.exit_code, 1);
  EXPECT_THAT(idle.err, HasSubstr("berth: error: no containers for project \"shop\""));

  // Started again, job ends once more; --down-project then takes the whole project down,
  // server included.
  ASSERT_EQ(project({"start", "job"}).exit_code, 0);
  const auto down = project({"wait", "--down-project", "job"});
  EXPECT_EQ(down.exit_code, 5) << down.err;
  EXPECT_THAT(down.err, HasSubstr("Container shop-server-1  Removed"));
  EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out, "");
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ComposeControl, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Runtimes, ComposeControlWait, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
