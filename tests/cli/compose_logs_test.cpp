// Attached `berth up` and `berth logs`: the services' output multiplexed behind Compose's
// prefixes, exit statuses, Compose's exit-code rules, and Ctrl-C stopping the project.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cli/compose_fixture.h"
#include "tests/support/terminal_session.h"

namespace berth::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

// Two one-shots that print and exit, one on standard error, and a server that stays.
constexpr const char* k_stack = R"(
services:
  hello:
    image: bb:1
    command: ["sh", "-c", "echo hello from hello; echo second line"]
  failing:
    image: bb:1
    command: ["sh", "-c", "sleep 0.5; echo going wrong >&2; exit 3"]
    depends_on: [hello]
  server:
    image: bb:1
    command: ["sh", "-c", "trap 'echo server stopping; exit 0' TERM; echo server up; while :; do sleep 0.1; done"]
)";

class ComposeLogs : public ComposeCli {
 protected:
  void SetUp() override {
    ComposeCli::SetUp();
    if (!IsSkipped()) write_compose(k_stack);
  }
};

TEST_P(ComposeLogs, AttachedUpPrefixesEachServicesOutputAndEndsWhenAllHaveExited) {
  const auto up = project({"up", "hello", "failing"});
  EXPECT_EQ(up.exit_code, 0) << up.err;  // without an abort flag, exits do not matter
  // "failing-1" is the longest name: every prefix is padded to its width plus one.
  EXPECT_THAT(up.out, HasSubstr("Attaching to hello-1, failing-1\n"));
  EXPECT_THAT(up.out, HasSubstr("hello-1    | hello from hello\nhello-1    | second line\n"));
  EXPECT_THAT(up.err, HasSubstr("failing-1  | going wrong\n"));
  EXPECT_THAT(up.out, HasSubstr("hello-1 exited with code 0\n"));
  EXPECT_THAT(up.out, HasSubstr("failing-1 exited with code 3\n"));
  EXPECT_THAT(up.out, Not(HasSubstr("\033[")));  // no colours when not on a terminal
  EXPECT_THAT(up.out, Not(HasSubstr("server")));
}

TEST_P(ComposeLogs, ExitCodeFromStopsTheOthersAndReturnsThatServicesCode) {
  // hello, a dependency not named, is neither attached nor watched for exits.
  const auto up = project({"up", "--exit-code-from", "failing", "-t", "5", "failing", "server"});
  EXPECT_EQ(up.exit_code, 3) << up.out << up.err;
  EXPECT_THAT(up.out, HasSubstr("Aborting on container exit..."));
  // The server was stopped gracefully: its trap ran.
  EXPECT_THAT(up.out, HasSubstr("server-1   | server stopping"));
  EXPECT_THAT(up.err, HasSubstr("Container shop-server-1  Stopped"));
  EXPECT_EQ(running().size(), 0u);
}

TEST_P(ComposeLogs, AbortOnFailureIgnoresSuccessfulExits) {
  const auto up = project({"up", "--abort-on-container-failure"});
  EXPECT_EQ(up.exit_code, 3) << up.out << up.err;
  const auto aborted = up.out.find("Aborting on container exit...");
  ASSERT_NE(aborted, std::string::npos) << up.out;
  // hello's exit 0 came first and did not abort.
  EXPECT_LT(up.out.find("hello-1 exited with code 0"), aborted);
  EXPECT_GT(up.out.find("failing-1 exited with code 3"), up.out.find("hello-1 exited"));
}

TEST_P(ComposeLogs, FlagsThatCannotGoTogetherAreRefusedBeforeAnythingIsMade) {
  auto up = project({"up", "-d", "--abort-on-container-exit"});
  EXPECT_EQ(up.exit_code, 1);
  EXPECT_THAT(up.err, HasSubstr("--detach cannot be combined with --abort-on-container-exit"));
  up = project({"up", "--force-recreate", "--no-recreate"});
  EXPECT_THAT(up.err, HasSubstr("--force-recreate and --no-recreate are incompatible"));
  up = project({"up", "--exit-code-from", "nosuch"});
  EXPECT_THAT(up.err, HasSubstr("no such service: nosuch"));
  EXPECT_EQ(berth({"network", "ls", "-q"}).out, "");
}

TEST_P(ComposeLogs, CtrlCStopsTheProjectGracefully) {
  std::map<std::string, std::string> env{{"BERTH_ROOT", m_work.path() + "/root"},
                                         {"BERTH_RUNROOT", m_work.path() + "/run"},
                                         {"BERTH_RUNTIME", GetParam()},
                                         {"BERTH_DNS_UPSTREAM", "127.0.0.1:9"}};
  TerminalSession session({"--project-directory", m_work.path() + "/shop", "-f",
                           m_work.path() + "/shop/compose.yaml", "up", "server"},
                          m_work.path(), env);
  EXPECT_THAT(session.read_until("server up"), HasSubstr("server up"));
  ::kill(session.pid(), SIGINT);
  const std::string rest = session.read_until("exited with code 0");
  EXPECT_THAT(rest, HasSubstr("Gracefully stopping... (press Ctrl+C again to force)"));
  EXPECT_THAT(rest, HasSubstr("server stopping"));
  EXPECT_THAT(rest, ContainsRegex("server-1 exited with code 0"));
  EXPECT_EQ(session.wait(), 0);
  // The container stays, stopped, as with Compose; down removes it.
  EXPECT_EQ(inspect("shop-server-1")["State"]["Status"], "exited");
}

TEST_P(ComposeLogs, LogsMergesTheServicesHistoryInTimeOrder) {
  ASSERT_EQ(project({"up", "-d", "hello", "failing"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return running().empty(); }));
  auto logs = project({"logs"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_EQ(logs.out, "hello-1    | hello from hello\nhello-1    | second line\n");
  EXPECT_EQ(logs.err, "failing-1  | going wrong\n");
  logs = project({"logs", "--no-log-prefix", "--tail", "1", "hello"});
  EXPECT_EQ(logs.out, "second line\n");
  logs = project({"logs", "-t", "hello"});
  EXPECT_THAT(logs.out, ContainsRegex("^hello-1  \\| 20[0-9-]+T[0-9:.]+Z hello from hello\n"));
  // -f on stopped containers prints what there is and returns.
  EXPECT_EQ(project({"logs", "-f", "hello"}).out,
            "hello-1  | hello from hello\nhello-1  | second line\n");
  EXPECT_THAT(project({"logs", "nosuch"}).err, HasSubstr("no such service: nosuch"));
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ComposeLogs, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
