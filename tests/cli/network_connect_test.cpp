// `berth network connect|disconnect` on running and stopped containers, and what a berth
// killed -9 in the middle of a container's network set-up leaves: nothing, once `network
// prune` has run. Every case on crun and on runc, with real bridges, namespaces and rules.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "network/network_store.h"
#include "tests/cli/network_fixture.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

class NetworkConnect : public NetworkCli {
 protected:
  json networks_of(const std::string& container) {
    return inspect(container)["NetworkSettings"]["Networks"];
  }
  /// Whether `container` gets the web page from `address` (the container runs busybox).
  bool fetches(const std::string& container, const std::string& address) {
    const auto got = berth({"container", "exec", container, "sh", "-c",
                            "busybox timeout 3 wget -qO- http://" + address + "/ || exit 1"});
    return got.exit_code == 0 && got.out == "hello from web\n";
  }
  /// What is left in the kernel and among processes of one network and one container.
  static std::vector<std::string> leftovers(const std::string& network_id,
                                            const std::string& container_id) {
    std::vector<std::string> left;
    const std::string links = command_output("ip -o link show");
    const std::string netns = command_output("ip netns list");
    const std::string rules = command_output("iptables-save");
    const std::string mounts = command_output("cat /proc/self/mountinfo");
    const std::string processes = command_output("ps -eo args");
    const std::string bridge = network::bridge_name(network_id);
    const std::string veth = network::host_ifname(container_id, network_id);
    const std::string space = "berth-" + container_id.substr(0, 12);
    if (links.find(bridge) != std::string::npos) left.push_back("bridge " + bridge);
    if (links.find(veth) != std::string::npos) left.push_back("veth " + veth);
    if (netns.find(space) != std::string::npos) left.push_back("netns " + space);
    if (mounts.find("/run/netns/" + space) != std::string::npos) left.push_back("mount " + space);
    if (rules.find("berth:" + network_id) != std::string::npos) left.push_back("network rules");
    if (rules.find("berth:" + container_id) != std::string::npos) left.push_back("port rules");
    if (processes.find("/networks/" + network_id + "/dns.json") != std::string::npos) {
      left.push_back("berth-dns");
    }
    return left;
  }
};

TEST_P(NetworkConnect, ConnectAndDisconnectARunningContainer) {
  const std::string front = make_network();
  const std::string back = make_network();
  run_web("web", {"--network", back});
  const std::string web_address = networks_of("web")[back]["IPAddress"];
  ASSERT_EQ(berth({"container", "run", "-d", "--name", "client", "--network", front, "bb:1",
                   "sleep", "1000"})
                .exit_code,
            0);
  EXPECT_FALSE(fetches("client", web_address)) << "another network is reachable";

  const auto connected = berth({"network", "connect", "--alias", "cli", back, "client"});
  ASSERT_EQ(connected.exit_code, 0) << connected.err;
  const json networks = networks_of("client");
  ASSERT_TRUE(networks.contains(front) && networks.contains(back)) << networks.dump();
  const std::string client_address = networks[back]["IPAddress"];
  EXPECT_THAT(
      berth({"container", "exec", "client", "busybox", "ip", "-o", "addr", "show", "eth1"}).out,
      HasSubstr(client_address + "/"));
  EXPECT_TRUE(fetches("client", web_address));
  // Its resolver is its first network's, which answers the names of its other networks to it.
  EXPECT_TRUE(fetches("client", "web"));
  // The network's DNS knows it by name and alias now.
  EXPECT_THAT(berth({"container", "exec", "web", "busybox", "nslookup", "cli"}).out,
              HasSubstr(client_address));
  EXPECT_THAT(berth({"network", "inspect", back}).out, HasSubstr("\"client\""));
  const auto again = berth({"network", "connect", back, "client"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("endpoint with name client already exists in network " + back));

  const auto disconnected = berth({"network", "disconnect", back, "client"});
  ASSERT_EQ(disconnected.exit_code, 0) << disconnected.err;
  EXPECT_FALSE(fetches("client", web_address));
  EXPECT_THAT(berth({"container", "exec", "client", "busybox", "nslookup", "web"}).out,
              Not(HasSubstr(web_address)));
  EXPECT_FALSE(networks_of("client").contains(back));
  EXPECT_THAT(berth({"network", "inspect", back}).out, Not(HasSubstr("\"client\"")));
  EXPECT_THAT(berth({"container", "exec", "client", "busybox", "ip", "-o", "link"}).out,
              Not(HasSubstr("eth1")));
  const auto not_connected = berth({"network", "disconnect", back, "client"});
  EXPECT_NE(not_connected.exit_code, 0);
  EXPECT_THAT(not_connected.err, HasSubstr("container client is not connected to network " + back));
}

TEST_P(NetworkConnect, AContainerOnTwoNetworksResolvesTheNamesOfBoth) {
  const std::string front = make_network();
  const std::string back = make_network();
  run_web("web", {"--network", back});
  const std::string web_address = networks_of("web")[back]["IPAddress"];
  const auto both = berth({"container", "run", "--rm", "--network", front, "--network", back,
                           "bb:1", "busybox", "nslookup", "web"});
  EXPECT_THAT(both.out, HasSubstr(web_address)) << both.err;
  const auto front_only =
      berth({"container", "run", "--rm", "--network", front, "bb:1", "busybox", "nslookup", "web"});
  EXPECT_THAT(front_only.out, Not(HasSubstr(web_address)));
}

TEST_P(NetworkConnect, AStoppedContainerJoinsAtItsNextStart) {
  const std::string front = make_network();
  const std::string back = make_network();
  run_web("web", {"--network", back});
  const std::string web_address = networks_of("web")[back]["IPAddress"];
  ASSERT_EQ(
      berth({"container", "create", "--name", "later", "--network", front, "bb:1", "sleep", "1000"})
          .exit_code,
      0);
  const auto connected = berth({"network", "connect", back, "later"});
  ASSERT_EQ(connected.exit_code, 0) << connected.err;
  ASSERT_EQ(berth({"container", "start", "later"}).exit_code, 0);
  const json networks = networks_of("later");
  EXPECT_TRUE(networks.contains(front) && networks.contains(back)) << networks.dump();
  EXPECT_TRUE(fetches("later", web_address));
}

TEST_P(NetworkConnect, LeavingTheFirstNetworkMovesTheDefaultRouteAndThePorts) {
  const std::string front = make_network();
  const std::string back = make_network();
  const int port = free_port();
  run_web("web", {"--network", front, "-p", "127.0.0.1:" + std::to_string(port) + ":80"});
  ASSERT_EQ(berth({"network", "connect", back, "web"}).exit_code, 0);
  EXPECT_EQ(http_get(port), "hello from web\n");
  ASSERT_EQ(berth({"network", "disconnect", front, "web"}).exit_code, 0);
  const std::string gateway = networks_of("web")[back]["Gateway"];
  EXPECT_THAT(berth({"container", "exec", "web", "busybox", "ip", "route"}).out,
              HasSubstr("default via " + gateway));
  EXPECT_EQ(http_get(port), "hello from web\n");
}

TEST_P(NetworkConnect, NoNetworkModeCannotBeConnected) {
  const std::string net = make_network();
  ASSERT_EQ(berth({"container", "create", "--name", "alone", "--network", "none", "bb:1", "true"})
                .exit_code,
            0);
  const auto refused = berth({"network", "connect", net, "alone"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("container alone uses network mode none"));
  EXPECT_THAT(berth({"network", "connect", "nosuch", "alone"}).err,
              HasSubstr("network nosuch not found"));
  ASSERT_EQ(berth({"container", "create", "--name", "hosted", "--network", "host", "bb:1", "true"})
                .exit_code,
            0);
  EXPECT_THAT(berth({"network", "connect", net, "hosted"}).err,
              HasSubstr("container sharing network namespace with another container or host "
                        "cannot be connected to any other network"));
}

TEST_P(NetworkConnect, PruneRemovesWhatAKilledBerthLeft) {
  // Every step of a container's network set-up, in order (util/failpoint.h).
  const std::vector<std::string> points = {
      "network-state-written", "netns-created",     "bridge-created",    "network-rules-applied",
      "dns-started",           "endpoint-attached", "network-connected", "ports-published"};
  for (std::size_t i = 0; i < points.size(); ++i) {
    const std::string& point = points[i];
    SCOPED_TRACE(point);
    const std::string net = make_network();
    const std::string name = "killed" + std::to_string(i);
    m_extra_env["BERTH_FAILPOINT"] = point;
    const auto killed = berth({"container", "run", "-d", "--name", name, "--network", net, "-p",
                               "127.0.0.1::80", "bb:1", "sleep", "1000"});
    m_extra_env.clear();
    EXPECT_EQ(killed.exit_code, 128 + 9) << killed.err;
    const std::string network_id = json::parse(berth({"network", "inspect", net}).out).at(0)["Id"];
    const std::string container_id = inspect(name)["Id"];
    if (i > 0) {
      EXPECT_FALSE(leftovers(network_id, container_id).empty())
          << "berth was killed before making anything";
    }
    const auto pruned = berth({"network", "prune", "-f"});
    EXPECT_EQ(pruned.exit_code, 0) << pruned.err;
    EXPECT_THAT(pruned.out, HasSubstr(net));
    // A veth goes with its namespace, asynchronously (the kernel's netns clean-up).
    eventually([&] { return leftovers(network_id, container_id).empty(); },
               std::chrono::seconds(5));
    EXPECT_EQ(leftovers(network_id, container_id), std::vector<std::string>{});
    EXPECT_EQ(berth({"container", "rm", "-f", name}).exit_code, 0);
  }
  // What is left works: a container on a new network reaches its neighbour.
  const std::string net = make_network();
  run_web("web", {"--network", net});
  const auto reached = berth({"container", "run", "--rm", "--network", net, "bb:1", "sh", "-c",
                              "busybox timeout 3 wget -qO- http://web/ || exit 1"});
  EXPECT_EQ(reached.out, "hello from web\n") << reached.err;
}

TEST_P(NetworkConnect, ANameAKilledCreateClaimedIsFreeAgainLater) {
  const std::string name = "claimed" + std::to_string(::getpid());
  m_extra_env["BERTH_FAILPOINT"] = "network-name-claimed";
  EXPECT_EQ(berth({"network", "create", name}).exit_code, 128 + 9);
  m_extra_env.clear();
  EXPECT_THAT(berth({"network", "ls"}).out, Not(HasSubstr(name)));
  // While a create may still be writing its record, the name stays claimed...
  EXPECT_THAT(berth({"network", "create", name}).err, HasSubstr("already exists"));
  // ...and once the claim is older than any create takes, it is free.
  const std::string claim = m_work.path() + "/root/networks/names/" + name;
  std::filesystem::last_write_time(
      claim, std::filesystem::file_time_type::clock::now() - std::chrono::minutes(1));
  const auto made = berth({"network", "create", name});
  EXPECT_EQ(made.exit_code, 0) << made.err;
  EXPECT_THAT(berth({"network", "ls"}).out, HasSubstr(name));
}

INSTANTIATE_TEST_SUITE_P(Runtimes, NetworkConnect, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
