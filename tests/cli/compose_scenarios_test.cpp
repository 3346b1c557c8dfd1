// docker/compose's e2e scenarios that the other compose suites do not cover, as root on crun
// and runc: where a container's environment comes from (and which source wins), network
// aliases that other services resolve, restart policies set in the compose file, and an
// unhealthy dependency.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/compose_fixture.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;

class ComposeScenarios : public ComposeCli {
 protected:
  /// `sh -c TEXT` in `container`: its standard output; the command must succeed.
  std::string shell_in(const std::string& container, const std::string& text) {
    const auto result = berth({"container", "exec", container, "sh", "-c", text});
    EXPECT_EQ(result.exit_code, 0) << text << ": " << result.err;
    return result.out;
  }
};

TEST_P(ComposeScenarios, EnvironmentSourcesWinInComposesOrder) {
  // Lowest first: the image's ENV, env_file, environment (interpolated from the shell over
  // .env), then `run -e`.
  const auto imported = berth({"image", "import", "-c", "ENV A=image B=image C=image D=image",
                               m_work.path() + "/rootfs.tar", "envs:1"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  m_work.write("shop/.env", "D_VALUE=from-dotenv\nE_VALUE=from-dotenv\n");
  m_work.write("shop/app.env", "B=file\nC=file\nD=file\n");
  write_compose(R"(
services:
  app:
    image: envs:1
    command: ["sleep", "1000"]
    stop_grace_period: 100ms
    env_file: app.env
    environment:
      C: environment
      D: ${D_VALUE}
      E: ${E_VALUE}
)");
  m_extra_env["D_VALUE"] = "from-shell";
  const auto up = project({"up", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(shell_in("shop-app-1", "echo $A $B $C $D $E"),
            "image file environment from-shell from-dotenv\n");
  const auto run = project({"run", "--rm", "-e", "C=cli", "app", "sh", "-c", "echo $B $C"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "file cli\n");
}

TEST_P(ComposeScenarios, NetworkAliasesResolveForOtherServicesOnThatNetwork) {
  write_compose(R"(
services:
  api:
    image: bb:1
    command: ["sleep", "1000"]
    stop_grace_period: 100ms
    networks:
      back: {aliases: [db.internal, legacy-api]}
      front: {}
  client:
    image: bb:1
    command: ["sleep", "1000"]
    stop_grace_period: 100ms
    networks: [back]
  outsider:
    image: bb:1
    command: ["sleep", "1000"]
    stop_grace_period: 100ms
    networks: [front]
networks:
  back: {}
  front: {}
)");
  const auto up = project({"up", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  // api's address on back, as client sees it under each name.
  // (busybox's nslookup also asks for AAAA records, which fails: its exit code says nothing.)
  const std::string by_name = shell_in("shop-client-1", "busybox nslookup api 2>&1; true");
  const std::string by_alias = shell_in("shop-client-1", "busybox nslookup db.internal 2>&1; true");
  const auto address = [](const std::string& answer) {
    const auto at = answer.rfind("Address: ");
    return at == std::string::npos ? "" : answer.substr(at + 9, answer.find('\n', at) - at - 9);
  };
  EXPECT_FALSE(address(by_name).empty()) << by_name;
  EXPECT_EQ(address(by_alias), address(by_name)) << by_alias;
  shell_in("shop-client-1", "busybox ping -c1 -W2 legacy-api");
  // An alias belongs to its network: a service on front alone does not know it.
  const std::string elsewhere =
      shell_in("shop-outsider-1", "busybox nslookup db.internal 2>&1; true");
  EXPECT_EQ(address(elsewhere), "") << elsewhere;
  shell_in("shop-outsider-1", "busybox ping -c1 -W2 api");  // the service's name is everywhere
}

TEST_P(ComposeScenarios, RestartPoliciesFromTheFileApply) {
  write_compose(R"(
services:
  flaky: {image: bb:1, command: ["sh", "-c", "exit 1"], restart: "on-failure:2"}
  done: {image: bb:1, command: ["sh", "-c", "exit 0"], restart: on-failure}
  keeper:
    image: bb:1
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 0.2; exit 5"]
    restart: unless-stopped
)");
  const auto up = project({"up", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  // on-failure:2: two restarts, then it stays exited.
  EXPECT_TRUE(eventually([&] {
    const auto state = inspect("shop-flaky-1");
    return state["State"]["Status"] == "exited" && state["RestartCount"] == 2;
  })) << inspect("shop-flaky-1").dump();
  // on-failure does not restart a success.
  EXPECT_TRUE(eventually([&] { return inspect("shop-done-1")["State"]["Status"] == "exited"; }));
  EXPECT_EQ(inspect("shop-done-1")["RestartCount"], 0);
  // unless-stopped: restarted after each exit, until stopped.
  EXPECT_TRUE(eventually([&] { return inspect("shop-keeper-1")["RestartCount"] >= 2; }));
  const auto stop = project({"stop", "keeper"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  const int count = inspect("shop-keeper-1")["RestartCount"];
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_EQ(inspect("shop-keeper-1")["State"]["Status"], "exited");
  EXPECT_EQ(inspect("shop-keeper-1")["RestartCount"], count);
}

TEST_P(ComposeScenarios, AnUnhealthyDependencyFailsItsDependentsAndNamesIt) {
  write_compose(R"(
services:
  db:
    image: bb:1
    command: ["sleep", "1000"]
    stop_grace_period: 100ms
    healthcheck: {test: ["CMD", "false"], interval: 100ms, retries: 2}
  web:
    image: bb:1
    command: ["sleep", "1000"]
    depends_on: {db: {condition: service_healthy}}
  proxy:
    image: bb:1
    command: ["sleep", "1000"]
    depends_on: [web]
  cache: {image: bb:1, command: ["sleep", "1000"], stop_grace_period: 100ms}
)");
  const auto up = project({"up", "-d"});
  EXPECT_EQ(up.exit_code, 1);
  EXPECT_THAT(up.err, HasSubstr("dependency failed to start: container shop-db-1 is unhealthy"));
  EXPECT_THAT(up.err, HasSubstr("not started: dependency \"web\" failed"));
  // What did not depend on it keeps running, as with Compose; the dependents were not made.
  EXPECT_EQ(inspect("shop-db-1")["State"]["Status"], "running");
  EXPECT_EQ(inspect("shop-cache-1")["State"]["Status"], "running");
  EXPECT_EQ(berth({"container", "inspect", "shop-web-1"}).exit_code, 1);
  EXPECT_EQ(berth({"container", "inspect", "shop-proxy-1"}).exit_code, 1);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ComposeScenarios, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
