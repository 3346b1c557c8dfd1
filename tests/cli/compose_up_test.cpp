// `berth up -d` and `berth down` end to end, as root, on crun and on runc: dependency order
// with conditions, names that resolve per service, convergence, scale, volumes kept or
// removed, and nothing of the project left after `down`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/container_fixture.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* k_stack = R"(
services:
  db:
    image: bb:1
    command: ["sh", "-c", "sleep 0.3; touch /tmp/ready; exec sleep 1000"]
    healthcheck: {test: ["CMD-SHELL", "test -f /tmp/ready"], interval: 100ms, retries: 50}
    volumes: [data:/data]
    stop_grace_period: 1s
  web:
    image: bb:1
    command: ["sleep", "1000"]
    depends_on: {db: {condition: service_healthy}}
    stop_grace_period: 1s
    scale: 2
volumes:
  data: {labels: {tier: db}}
)";

class ComposeUp : public ContainerCli {
 protected:
  void SetUp() override {
    ContainerCli::SetUp();
    if (IsSkipped()) return;
    m_work.write("shop/compose.yaml", k_stack);
  }
  void TearDown() override {
    if (!IsSkipped()) project({"down", "-v", "-t", "0"});
    ContainerCli::TearDown();
  }

  /// berth with the project's directory as the compose file's place.
  RunResult project(std::vector<std::string> args) {
    args.insert(args.begin(), {"--project-directory", m_work.path() + "/shop", "-f",
                               m_work.path() + "/shop/compose.yaml"});
    return berth(args);
  }

  std::vector<std::string> running() {
    return split_lines(berth({"container", "ls", "--format", "json"}).out);
  }
  std::string id_of(const std::string& name) { return inspect(name)["Id"]; }
};

TEST_P(ComposeUp, UpStartsInDependencyOrderAndDownLeavesNothing) {
  const auto up = project({"up", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  // db healthy before web starts.
  const auto healthy = up.err.find("Container shop-db-1  Healthy");
  const auto web = up.err.find("Container shop-web-1  Starting");
  ASSERT_NE(healthy, std::string::npos) << up.err;
  EXPECT_LT(healthy, web) << up.err;
  EXPECT_THAT(up.err, HasSubstr("Network shop_default  Created"));
  EXPECT_EQ(running().size(), 3u);
  const json labels = inspect("shop-web-2")["Config"]["Labels"];
  EXPECT_EQ(labels["com.docker.compose.project"], "shop");
  EXPECT_EQ(labels["com.docker.compose.service"], "web");
  EXPECT_EQ(labels["com.docker.compose.container-number"], "2");
  // Services find each other by name on the project's network.
  const auto ping =
      berth({"container", "exec", "shop-web-1", "sh", "-c", "busybox ping -c1 -W2 db"});
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err;
  const json volume = json::parse(berth({"volume", "inspect", "shop_data"}).out).at(0);
  EXPECT_EQ(volume["Labels"]["com.docker.compose.project"], "shop");
  EXPECT_EQ(volume["Labels"]["tier"], "db");

  // Nothing changed: nothing is recreated.
  const std::string db = id_of("shop-db-1");
  const auto again = project({"up", "-d"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("Container shop-web-2  Running"));
  EXPECT_THAT(again.err, Not(HasSubstr("Creating")));
  EXPECT_EQ(id_of("shop-db-1"), db);

  // down keeps the named volume; down -v takes it.
  const auto down = project({"down", "-t", "1"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out, "");
  EXPECT_EQ(berth({"network", "ls", "-q"}).out, "");
  EXPECT_EQ(berth({"volume", "ls", "-q"}).out, "shop_data\n");
  EXPECT_EQ(project({"down", "-v"}).exit_code, 0);
  EXPECT_EQ(berth({"volume", "ls", "-q"}).out, "");
}

TEST_P(ComposeUp, AChangedServiceIsRecreatedAndKeepsItsAnonymousVolumes) {
  // web gets an anonymous volume, as an image's VOLUME would give it.
  const std::string stack =
      replace_all(k_stack, "    scale: 2\n", "    scale: 2\n    volumes: [/cache]\n");
  m_work.write("shop/compose.yaml", stack);
  ASSERT_EQ(project({"up", "-d"}).exit_code, 0);
  ASSERT_EQ(
      berth({"container", "exec", "shop-web-1", "sh", "-c", "echo kept > /cache/f"}).exit_code, 0);
  const std::string db = id_of("shop-db-1");
  const std::string web = id_of("shop-web-1");
  m_work.write("shop/compose.yaml",
               replace_all(stack, "scale: 2", "scale: 1\n    environment: {MODE: new}"));
  const auto up = project({"up", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_THAT(up.err, HasSubstr("Container shop-web-1  Recreate"));
  EXPECT_EQ(id_of("shop-db-1"), db);
  EXPECT_NE(id_of("shop-web-1"), web);
  EXPECT_EQ(berth({"container", "exec", "shop-web-1", "sh", "-c", "echo $MODE; cat /cache/f"}).out,
            "new\nkept\n");
  // Scaling down removed the highest number.
  EXPECT_EQ(berth({"container", "inspect", "shop-web-2"}).exit_code, 1);
}

TEST_P(ComposeUp, AFailedDependencyStopsItsDependentsWithItsName) {
  m_work.write("shop/compose.yaml", R"(
services:
  migrate: {image: bb:1, command: ["sh", "-c", "exit 3"]}
  app:
    image: bb:1
    command: ["sleep", "1000"]
    depends_on: {migrate: {condition: service_completed_successfully}}
)");
  const auto up = project({"up", "-d"});
  EXPECT_EQ(up.exit_code, 1);
  EXPECT_THAT(up.err, HasSubstr("service \"migrate\" didn't complete successfully: exit 3"));
  EXPECT_EQ(berth({"container", "inspect", "shop-app-1"}).exit_code, 1);
  // -p down works from the labels alone, without the file.
  std::filesystem::remove(m_work.path() + "/shop/compose.yaml");
  const auto down = berth({"-p", "shop", "down"});
  EXPECT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out, "");
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ComposeUp, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
