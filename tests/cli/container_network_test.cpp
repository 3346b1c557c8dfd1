// `berth network` and containers on networks, end to end with real bridges, namespaces,
// iptables rules and the per-network DNS responder; every case on crun and on runc.
// Only addresses inside the test's own networks and 127.0.0.1 are ever contacted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/container_fixture.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

class ContainerNetwork : public ContainerCli {
 protected:
  /// A network with a random name, made for the test (TearDown removes it).
  std::string make_network(const std::vector<std::string>& flags = {}) {
    const std::string name = "net" + random_suffix();
    std::vector<std::string> args{"network", "create"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(name);
    const auto made = berth(args);
    EXPECT_EQ(made.exit_code, 0) << made.err;
    return name;
  }
  static std::string random_suffix() {
    static int counter = 0;
    return std::to_string(::getpid()) + "x" + std::to_string(++counter);
  }
  /// A web server container answering "hello from NAME" on port 80.
  void run_web(const std::string& name, const std::vector<std::string>& flags) {
    std::vector<std::string> args{"container", "run", "-d", "--name", name};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"bb:1", "sh", "-c",
                             "mkdir -p /www && echo hello from " + name +
                                 " > /www/index.html && exec busybox httpd -f -p 80 -h /www"});
    const auto started = berth(args);
    ASSERT_EQ(started.exit_code, 0) << started.err;
  }
  /// A free TCP port on 127.0.0.1 (the kernel's pick, released at once).
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
  }
  /// The body of GET / from 127.0.0.1:port ("" when nothing answers).
  static std::string http_get(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string response;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
      const std::string request = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
      if (::write(fd, request.data(), request.size()) > 0) {
        char buffer[4096];
        for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) response.append(buffer, n);
      }
    }
    ::close(fd);
    const auto body = response.find("\r\n\r\n");
    return body == std::string::npos ? "" : response.substr(body + 4);
  }
};

TEST_P(ContainerNetwork, ContainersResolveAndReachEachOtherByName) {
  const std::string net = make_network();
  run_web("web", {"--network", net, "--network-alias", "www"});
  // By name and by alias, through the network's DNS responder on the gateway.
  const auto by_name = berth({"container", "run", "--rm", "--network", net, "bb:1", "sh", "-c",
                              "for i in 1 2 3 4 5 6 7 8 9 10; do "
                              "busybox timeout 3 wget -qO- http://web/ && break; sleep 0.3; done"});
  EXPECT_EQ(by_name.out, "hello from web\n") << by_name.err;
  const auto by_alias =
      berth({"container", "run", "--rm", "--network", net, "bb:1", "sh", "-c",
             std::string("busybox timeout 3 wget -qO- ") + "http://www/" + " || exit 1"});
  EXPECT_EQ(by_alias.out, "hello from web\n") << by_alias.err;
  const json inspected = inspect("web");
  const std::string address = inspected["NetworkSettings"]["Networks"][net]["IPAddress"];
  const auto lookup =
      berth({"container", "run", "--rm", "--network", net, "bb:1", "busybox", "nslookup", "web"});
  EXPECT_THAT(lookup.out, HasSubstr(address)) << lookup.err;
  // resolv.conf names the gateway; /etc/hosts the container's own address.
  const std::string gateway = inspected["NetworkSettings"]["Networks"][net]["Gateway"];
  EXPECT_THAT(berth({"container", "exec", "web", "cat", "/etc/resolv.conf"}).out,
              HasSubstr("nameserver " + gateway));
  EXPECT_THAT(berth({"container", "exec", "web", "cat", "/etc/hosts"}).out,
              HasSubstr(address + "\t"));
}

TEST_P(ContainerNetwork, ReplicasRotate) {
  const std::string net = make_network();
  run_web("one", {"--network", net, "--network-alias", "svc"});
  run_web("two", {"--network", net, "--network-alias", "svc"});
  std::set<std::string> answered;
  for (int i = 0; i < 6 && answered.size() < 2; ++i) {
    answered.insert(berth({"container", "run", "--rm", "--network", net, "bb:1", "sh", "-c",
                           std::string("busybox timeout 3 wget -qO- ") + "http://svc/ || exit 1"})
                        .out);
  }
  EXPECT_EQ(answered, (std::set<std::string>{"hello from one\n", "hello from two\n"}));
}

TEST_P(ContainerNetwork, OtherNetworksCanNeitherResolveNorReach) {
  const std::string mine = make_network();
  const std::string other = make_network();
  run_web("private", {"--network", mine});
  const std::string address = inspect("private")["NetworkSettings"]["Networks"][mine]["IPAddress"];
  const auto resolve = berth(
      {"container", "run", "--rm", "--network", other, "bb:1", "busybox", "nslookup", "private"});
  EXPECT_THAT(resolve.out, Not(HasSubstr(address)));
  const auto reach = berth(
      {"container", "run", "--rm", "--network", other, "bb:1", "sh", "-c",
       std::string("busybox timeout 3 wget -qO- ") + "http://" + address + "/" + " || exit 1"});
  EXPECT_NE(reach.exit_code, 0);
  EXPECT_EQ(reach.out, "");
}

TEST_P(ContainerNetwork, PublishedLoopbackPortAnswersTheHostAndOtherContainers) {
  const int port = free_port();
  run_web("published", {"-p", "127.0.0.1:" + std::to_string(port) + ":80"});
  bool answered = false;
  for (int i = 0; i < 20 && !answered; ++i) {
    answered = http_get(port) == "hello from published\n";
    if (!answered) ::usleep(100'000);
  }
  EXPECT_TRUE(answered) << "127.0.0.1:" << port << " did not answer";
  EXPECT_EQ(berth({"container", "port", "published"}).out,
            "80/tcp -> 127.0.0.1:" + std::to_string(port) + "\n");
  EXPECT_THAT(berth({"container", "ls"}).out,
              HasSubstr("127.0.0.1:" + std::to_string(port) + "->80/tcp"));
  // Another container reaches it through its gateway and the published port (hairpin).
  const std::string gateway =
      inspect("published")["NetworkSettings"]["Networks"]["bridge"]["Gateway"];
  const auto hairpin = berth({"container", "run", "--rm", "bb:1", "sh", "-c",
                              std::string("busybox timeout 3 wget -qO- ") + "http://" + gateway +
                                  ":" + std::to_string(port) + "/" + " || exit 1"});
  // The published address is 127.0.0.1 only: the gateway's port is not published.
  EXPECT_NE(hairpin.out, "hello from published\n");
  // The same port a second time is refused before anything starts, naming it.
  const auto clash = berth({"container", "run", "-d", "--name", "clash", "-p",
                            "127.0.0.1:" + std::to_string(port) + ":80", "bb:1", "sleep", "5"});
  EXPECT_NE(clash.exit_code, 0);
  EXPECT_THAT(clash.err, HasSubstr("port " + std::to_string(port) + "/tcp"));
  EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out.size(), 13u);  // only "published"
  // Stopped, the port is closed again.
  ASSERT_EQ(berth({"container", "stop", "-t", "1", "published"}).exit_code, 0);
  EXPECT_EQ(http_get(port), "");
  EXPECT_EQ(berth({"container", "port", "published"}).out, "");
}

TEST_P(ContainerNetwork, HairpinThroughAnAllAddressesPort) {
  const int port = free_port();
  run_web("everywhere", {"-p", std::to_string(port) + ":80"});
  const std::string gateway =
      inspect("everywhere")["NetworkSettings"]["Networks"]["bridge"]["Gateway"];
  const auto hairpin =
      berth({"container", "run", "--rm", "bb:1", "sh", "-c",
             "for i in 1 2 3 4 5 6 7 8 9 10; do busybox timeout 3 wget -qO- http://" + gateway +
                 ":" + std::to_string(port) + "/ && break; sleep 0.3; done"});
  EXPECT_EQ(hairpin.out, "hello from everywhere\n") << hairpin.err;
  EXPECT_EQ(http_get(port), "hello from everywhere\n");
}

TEST_P(ContainerNetwork, StaticAddressAndInternalNetwork) {
  // A subnet of the test's own (the crun and runc cases may run at once).
  const std::string prefix = "10.219." + std::to_string(100 + ::getpid() % 150) + ".";
  const std::string net = make_network({"--subnet", prefix + "0/24", "--internal"});
  run_web("fixed", {"--network", net, "--ip", prefix + "50"});
  EXPECT_EQ(inspect("fixed")["NetworkSettings"]["Networks"][net]["IPAddress"], prefix + "50");
  const auto inside = berth(
      {"container", "run", "--rm", "--network", net, "bb:1", "sh", "-c",
       std::string("busybox timeout 3 wget -qO- ") + "http://" + prefix + "50/" + " || exit 1"});
  EXPECT_EQ(inside.out, "hello from fixed\n") << inside.err;
  // An internal network has no default route out of its bridge.
  const auto route =
      berth({"container", "run", "--rm", "--network", net, "bb:1", "busybox", "ip", "route"});
  EXPECT_THAT(route.out, HasSubstr("default via " + prefix + "1"));
  const auto taken = berth(
      {"container", "run", "-d", "--network", net, "--ip", prefix + "50", "bb:1", "sleep", "5"});
  EXPECT_NE(taken.exit_code, 0);
  EXPECT_THAT(taken.err, HasSubstr(prefix + "50 is already in use"));
}

/// An "outside" for the test: a namespace of its own behind a veth from the host, serving
/// "outside" over HTTP on port 9000, with no route back to any container network.
class Outside {
 public:
  Outside() {
    const std::string tag = std::to_string(::getpid() % 100000);
    m_netns = "bto" + tag;
    m_host_if = "btoh" + tag;
    // A /24 no route of the host uses yet (the crun and runc cases may run at once).
    int octet = 100 + ::getpid() % 150;
    for (int k = 0; k < 150; ++k, octet = 100 + (octet - 100 + 1) % 150) {
      const std::string probe = "ip -o route | grep -q '^10\\.213\\." + std::to_string(octet) + "\\.'";
      if (std::system(probe.c_str()) != 0) break;
    }
    m_address = "10.213." + std::to_string(octet) + ".2";
    const std::string host_address = "10.213." + std::to_string(octet) + ".1/24";
    m_dir = m_work.path();
    std::ofstream(m_dir + "/index.html") << "outside\n";
    m_ok = shell("ip netns add " + m_netns) &&
           shell("ip link add " + m_host_if + " type veth peer name eth0 netns " + m_netns) &&
           shell("ip addr add " + host_address + " dev " + m_host_if) &&
           shell("ip link set " + m_host_if + " up") &&
           shell("ip -n " + m_netns + " addr add " + m_address + "/24 dev eth0") &&
           shell("ip -n " + m_netns + " link set eth0 up") &&
           shell("ip -n " + m_netns + " link set lo up");
    if (m_ok) {
      m_server = ::fork();
      if (m_server == 0) {
        ::execl("/usr/sbin/ip", "ip", "netns", "exec", m_netns.c_str(), "/bin/busybox", "httpd",
                "-f", "-p", "9000", "-h", m_dir.c_str(), nullptr);
        ::_exit(127);
      }
    }
  }
  ~Outside() {
    if (m_server > 0) {
      ::kill(m_server, SIGKILL);
      ::waitpid(m_server, nullptr, 0);
    }
    shell("ip link del " + m_host_if + " 2>/dev/null");
    shell("ip netns del " + m_netns + " 2>/dev/null");
  }
  Outside(const Outside&) = delete;
  Outside& operator=(const Outside&) = delete;
  bool ok() const { return m_ok && m_server > 0; }
  std::string url() const { return "http://" + m_address + ":9000/"; }

 private:
  static bool shell(const std::string& command) { return std::system(command.c_str()) == 0; }
  TempDir m_work;
  std::string m_netns, m_host_if, m_address, m_dir;
  bool m_ok = false;
  pid_t m_server = -1;
};

TEST_P(ContainerNetwork, OnlyAnInternalNetworkHasNoWayOut) {
  const Outside outside;
  ASSERT_TRUE(outside.ok()) << "could not make the test's outside namespace";
  const std::string open = make_network();
  const std::string closed = make_network({"--internal"});
  const std::string fetch = "for i in 1 2 3 4 5; do busybox timeout 3 wget -qO- " + outside.url() +
                            " && exit 0; sleep 0.3; done; exit 1";
  const auto out =
      berth({"container", "run", "--rm", "--network", open, "bb:1", "sh", "-c", fetch});
  EXPECT_EQ(out.out, "outside\n") << out.err;
  const auto blocked = berth({"container", "run", "--rm", "--network", closed, "bb:1", "sh", "-c",
                              "busybox timeout 3 wget -qO- " + outside.url() + " || exit 1"});
  EXPECT_NE(blocked.exit_code, 0);
  EXPECT_EQ(blocked.out, "");
}

TEST_P(ContainerNetwork, NetworkCommands) {
  const std::string net = make_network({"--label", "team=a"});
  EXPECT_THAT(berth({"network", "ls"}).out, HasSubstr(net));
  const json inspected = json::parse(berth({"network", "inspect", net}).out).at(0);
  EXPECT_EQ(inspected["Labels"]["team"], "a");
  const auto again = berth({"network", "create", net});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("network with name " + net + " already exists"));
  ASSERT_EQ(
      berth({"container", "run", "-d", "--name", "user", "--network", net, "bb:1", "sleep", "100"})
          .exit_code,
      0);
  const auto busy = berth({"network", "rm", net});
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_THAT(busy.err, HasSubstr("has active endpoints"));
  EXPECT_EQ(berth({"container", "rm", "-f", "user"}).exit_code, 0);
  const auto pruned = berth({"network", "prune", "-f"});
  EXPECT_THAT(pruned.out, HasSubstr(net));
  EXPECT_THAT(berth({"network", "ls"}).out, Not(HasSubstr(net)));
  EXPECT_THAT(berth({"network", "inspect", "nosuch"}).err, HasSubstr("network nosuch not found"));
}

TEST_P(ContainerNetwork, NothingOfTheNetworkIsLeftAfterRemoval) {
  const std::string net = make_network();
  run_web("gone", {"--network", net, "-p", std::to_string(free_port()) + ":80"});
  const json network = json::parse(berth({"network", "inspect", net}).out).at(0);
  const std::string bridge = network["Options"]["com.docker.network.bridge.name"];
  const std::string id = inspect("gone")["Id"];
  EXPECT_THAT(command_output("ip -o link show"), HasSubstr(bridge));
  EXPECT_THAT(command_output("ip netns list"), HasSubstr("berth-" + id.substr(0, 12)));
  EXPECT_THAT(command_output("iptables-save"), HasSubstr("berth:" + id));
  ASSERT_EQ(berth({"container", "rm", "-f", "gone"}).exit_code, 0);
  EXPECT_THAT(command_output("ip -o link show"), Not(HasSubstr(bridge)));
  EXPECT_THAT(command_output("ip netns list"), Not(HasSubstr("berth-" + id.substr(0, 12))));
  const std::string rules = command_output("iptables-save");
  EXPECT_THAT(rules, Not(HasSubstr("berth:" + id)));
  EXPECT_THAT(rules, Not(HasSubstr("berth:" + network["Id"].get<std::string>())));
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ContainerNetwork, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
