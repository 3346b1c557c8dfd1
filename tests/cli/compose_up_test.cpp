// `berth up -d` and `berth down` end to end, as root, on crun and on runc: dependency order
// with conditions, names that resolve per service, convergence, scale, volumes kept or
// removed, and nothing of the project left after `down`.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/compose_fixture.h"

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

class ComposeUp : public ComposeCli {
 protected:
  void SetUp() override {
    ComposeCli::SetUp();
    if (!IsSkipped()) write_compose(k_stack);
  }
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
  // Dependents stop first.
  EXPECT_LT(down.err.find("Container shop-web-1  Stopped"),
            down.err.find("Container shop-db-1  Stopping"))
      << down.err;
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
  write_compose(stack);
  ASSERT_EQ(project({"up", "-d"}).exit_code, 0);
  ASSERT_EQ(
      berth({"container", "exec", "shop-web-1", "sh", "-c", "echo kept > /cache/f"}).exit_code, 0);
  const std::string db = id_of("shop-db-1");
  const std::string web = id_of("shop-web-1");
  write_compose(replace_all(stack, "scale: 2", "scale: 1\n    environment: {MODE: new}"));
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
  write_compose(R"(
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

TEST_P(ComposeUp, ADependencyNotRequiredOnlyWarnsWhenItFails) {
  write_compose(R"(
services:
  migrate: {image: bb:1, command: ["sh", "-c", "exit 3"]}
  app:
    image: bb:1
    command: ["sleep", "1000"]
    stop_grace_period: 1s
    depends_on: {migrate: {condition: service_completed_successfully, required: false}}
)");
  const auto up = project({"up", "-d"});
  EXPECT_EQ(up.exit_code, 0) << up.err;
  EXPECT_THAT(up.err, HasSubstr("warning: service \"app\": optional dependency: service "
                                "\"migrate\" didn't complete successfully: exit 3"));
  EXPECT_EQ(inspect("shop-app-1")["State"]["Status"], "running");
}

TEST_P(ComposeUp, RecreateFlagsDecideWhatIsRecreated) {
  ASSERT_EQ(project({"up", "-d"}).exit_code, 0);
  const std::string db = id_of("shop-db-1");
  const std::string web = id_of("shop-web-1");
  // --no-recreate leaves a changed service as it is.
  write_compose(replace_all(k_stack, "scale: 2", "scale: 2\n    environment: {MODE: new}"));
  auto up = project({"up", "-d", "--no-recreate"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(id_of("shop-web-1"), web);
  // --force-recreate recreates even what did not change.
  up = project({"up", "-d", "--force-recreate", "db"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(id_of("shop-db-1"), db);
  EXPECT_EQ(id_of("shop-web-1"), web);  // not named, not a dependency of db
}

TEST_P(ComposeUp, NoStartCreatesAndNoDepsLeavesDependenciesAlone) {
  auto up = project({"up", "--no-start"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(inspect("shop-db-1")["State"]["Status"], "created");
  EXPECT_EQ(running().size(), 0u);
  ASSERT_EQ(project({"down"}).exit_code, 0);
  // web alone, without waiting for db (which does not exist).
  up = project({"up", "-d", "--no-deps", "web"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(running().size(), 2u);
  EXPECT_EQ(berth({"container", "inspect", "shop-db-1"}).exit_code, 1);
}

TEST_P(ComposeUp, ScaleOverridesTheFileUpAndDown) {
  auto up = project({"up", "-d", "--scale", "web=3"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(running().size(), 4u);
  up = project({"up", "-d", "--scale", "web=1"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_THAT(up.err, HasSubstr("Container shop-web-3  Removed"));
  EXPECT_EQ(running().size(), 2u);
  EXPECT_EQ(berth({"container", "inspect", "shop-web-2"}).exit_code, 1);
  EXPECT_THAT(project({"up", "-d", "--scale", "web"}).err, HasSubstr("expected SERVICE=NUM"));
  EXPECT_THAT(project({"up", "-d", "--scale", "nosuch=2"}).err,
              HasSubstr("no such service: nosuch"));
}

TEST_P(ComposeUp, OrphansAreNamedThenRemovedWhenAsked) {
  ASSERT_EQ(project({"up", "-d"}).exit_code, 0);
  // web is renamed in the file: its containers become orphans.
  write_compose(replace_all(k_stack, "  web:", "  front:"));
  auto up = project({"up", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_THAT(up.err, HasSubstr("Found orphan containers ([shop-web-1 shop-web-2]) for this "
                                "project"));
  EXPECT_EQ(inspect("shop-web-1")["State"]["Status"], "running");
  auto down = project({"down", "-t", "1"});
  EXPECT_THAT(down.err, HasSubstr("Found orphan containers"));
  EXPECT_EQ(inspect("shop-web-1")["State"]["Status"], "running");
  ASSERT_EQ(project({"up", "-d", "--remove-orphans"}).exit_code, 0);
  EXPECT_EQ(berth({"container", "inspect", "shop-web-1"}).exit_code, 1);
  EXPECT_EQ(running().size(), 3u);  // db, front-1, front-2
}

TEST_P(ComposeUp, WaitReturnsOnceHealthyAndFailsOnTimeout) {
  auto up = project({"up", "--wait", "db"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_THAT(up.err, HasSubstr("Container shop-db-1  Healthy"));
  EXPECT_EQ(inspect("shop-db-1")["State"]["Health"]["Status"], "healthy");
  write_compose(R"(
services:
  never:
    image: bb:1
    command: ["sleep", "1000"]
    healthcheck: {test: ["CMD", "false"], interval: 5s, start_period: 60s}
    stop_grace_period: 1s
)");
  up = project({"up", "--wait", "--wait-timeout", "1", "--remove-orphans"});
  EXPECT_EQ(up.exit_code, 1);
  EXPECT_THAT(up.err, HasSubstr("timeout waiting for container shop-never-1 to be ready"));
}

TEST_P(ComposeUp, AServiceJoinedToARecreatedOneIsRecreatedToo) {
  write_compose(R"(
services:
  net:
    image: bb:1
    command: ["sleep", "1000"]
    stop_grace_period: 1s
  app:
    image: bb:1
    command: ["sleep", "1000"]
    network_mode: "service:net"
    stop_grace_period: 1s
)");
  ASSERT_EQ(project({"up", "-d"}).exit_code, 0);
  const std::string app = id_of("shop-app-1");
  write_compose(replace_all(read_text(m_work.path() + "/shop/compose.yaml"),
                            "  net:\n    image: bb:1\n",
                            "  net:\n    image: bb:1\n    environment: {V: 2}\n"));
  const auto up = project({"up", "-d"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(id_of("shop-app-1"), app);
  // The new app shares the new net's network namespace, and with it its hostname.
  const auto app_host = berth({"container", "exec", "shop-app-1", "hostname"});
  EXPECT_EQ(app_host.exit_code, 0) << app_host.err;
  EXPECT_EQ(app_host.out, berth({"container", "exec", "shop-net-1", "hostname"}).out);
  EXPECT_EQ(running().size(), 2u);
}

TEST_P(ComposeUp, TwoUpsOfOneProjectAtOnceMakeOneSetOfContainers) {
  RunResult first;
  std::thread other([&] { first = project({"up", "-d"}); });
  const auto second = project({"up", "-d"});
  other.join();
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(running().size(), 3u);
  EXPECT_EQ(split_lines(berth({"container", "ls", "-a", "-q"}).out).size(), 3u);
}

TEST_P(ComposeUp, DownAfterUpWasKilledLeavesNothingOfTheProject) {
  m_extra_env["BERTH_FAILPOINT"] = "compose-up-started";
  const auto up = project({"up", "-d"});
  m_extra_env.erase("BERTH_FAILPOINT");
  EXPECT_EQ(up.exit_code, 128 + SIGKILL) << "berth should have been killed: " << up.err;
  std::vector<std::string> ids = split_lines(berth({"container", "ls", "-a", "-q"}).out);
  ASSERT_FALSE(ids.empty());
  const std::vector<std::string> networks = split_lines(berth({"network", "ls", "-q"}).out);
  ASSERT_FALSE(networks.empty());
  const auto down = project({"down", "-v", "-t", "0"});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out, "");
  EXPECT_EQ(berth({"network", "ls", "-q"}).out, "");
  const std::string host = command_output(
      "ip -o link show; ip netns list; iptables-save; cat /proc/self/mountinfo; "
      "find /sys/fs/cgroup -maxdepth 3 -type d; ps -eo args");
  for (const auto& id : ids) EXPECT_EQ(host.find(id.substr(0, 12)), std::string::npos) << id;
  for (const auto& id : networks) EXPECT_EQ(host.find(id.substr(0, 10)), std::string::npos) << id;
}

/// A TCP socket listening on a free port of 127.0.0.1, as another program on the host would.
class HeldPort {
 public:
  HeldPort() : m_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(m_fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(m_fd, 1) != 0 ||
        ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("cannot hold a port on 127.0.0.1");
    }
    m_port = ntohs(address.sin_port);
  }
  ~HeldPort() { ::close(m_fd); }
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  int port() const { return m_port; }

 private:
  int m_fd;
  int m_port = 0;
};

TEST_P(ComposeUp, EveryKnowableProblemIsReportedBeforeAnythingIsMade) {
  const HeldPort taken;
  const int shared = [] { return HeldPort().port(); }();  // free again once released
  write_compose(fmt::format(R"(
services:
  web: {{image: bb:1, command: ["sleep", "1000"], ports: ["127.0.0.1:{}:80"]}}
  api:
    image: bb:1
    command: ["sleep", "1000"]
    ports: ["127.0.0.1:{}:80"]
    deploy: {{replicas: 2}}
  cache: {{image: missing:1, pull_policy: never}}
  db: {{image: bb:1, volumes: [data:/data]}}
volumes:
  data: {{external: true, name: shop-nowhere}}
)",
                            taken.port(), shared));
  const auto up = project({"up", "-d"});
  EXPECT_EQ(up.exit_code, 1);
  EXPECT_THAT(up.err, HasSubstr(fmt::format("port {}/tcp of shop-web-1 is already in use on "
                                            "127.0.0.1",
                                            taken.port())));
  EXPECT_THAT(up.err, HasSubstr(fmt::format("port {}/tcp of shop-api-2 on 127.0.0.1 is also "
                                            "published by shop-api-1",
                                            shared)));
  EXPECT_THAT(up.err, HasSubstr("service \"cache\": No such image: missing:1"));
  EXPECT_THAT(up.err, HasSubstr("external volume \"shop-nowhere\" not found"));
  EXPECT_THAT(up.err, HasSubstr("(and 3 more problems, above)"));
  // Nothing was made: no container, no network.
  EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out, "");
  EXPECT_EQ(berth({"network", "ls", "-q"}).out, "");
}

TEST_P(ComposeUp, ARunningProjectKeepsItsOwnPortsAcrossUpAndRecreate) {
  const int port = [] { return HeldPort().port(); }();
  write_compose(fmt::format(R"(
services:
  web:
    image: bb:1
    command: ["sleep", "1000"]
    ports: ["127.0.0.1:{}:80"]
    stop_grace_period: 100ms
)",
                            port));
  ASSERT_EQ(project({"up", "-d"}).exit_code, 0);
  const auto again = project({"up", "-d"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("Container shop-web-1  Running"));
  const auto recreate = project({"up", "-d", "--force-recreate"});
  EXPECT_EQ(recreate.exit_code, 0) << recreate.err;
  EXPECT_THAT(recreate.err, HasSubstr("Container shop-web-1  Recreated"));
  EXPECT_EQ(running().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ComposeUp, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
