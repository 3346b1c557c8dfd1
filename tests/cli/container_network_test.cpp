// `berth network` and containers on networks, end to end with real bridges, namespaces,
// iptables rules and the per-network DNS responder; every case on crun and on runc.
// Only addresses inside the test's own networks and 127.0.0.1 are ever contacted.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
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

#include "tests/cli/network_fixture.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;
using json = nlohmann::json;

/// The shared fixture under this suite's name.
class ContainerNetwork : public NetworkCli {};

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

/// A UDP echo server inside a network namespace while the object lives: each datagram goes
/// back to its sender behind "echo:". The test image's busybox has no UDP listener (Debian's
/// static nc has no -u), so a child of the test serves from inside the container's namespace.
class UdpEcho {
 public:
  UdpEcho(const std::string& netns_path, int port) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return;
    m_pid = ::fork();
    if (m_pid == 0) {
      const int netns = ::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (netns < 0 || ::setns(netns, CLONE_NEWNET) != 0) ::_exit(1);
      const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(static_cast<std::uint16_t>(port));
      if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::_exit(1);
      }
      if (::write(ready[1], "k", 1) != 1) ::_exit(1);
      char buffer[512] = "echo:";
      for (;;) {
        sockaddr_in from{};
        socklen_t length = sizeof from;
        const ssize_t n = ::recvfrom(fd, buffer + 5, sizeof buffer - 5, 0,
                                     reinterpret_cast<sockaddr*>(&from), &length);
        if (n > 0) {
          ::sendto(fd, buffer, static_cast<std::size_t>(n) + 5, 0,
                   reinterpret_cast<sockaddr*>(&from), length);
        }
      }
    }
    ::close(ready[1]);
    char byte = 0;
    m_ok = m_pid > 0 && ::read(ready[0], &byte, 1) == 1;
    ::close(ready[0]);
  }
  ~UdpEcho() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
    }
  }
  UdpEcho(const UdpEcho&) = delete;
  UdpEcho& operator=(const UdpEcho&) = delete;
  bool ok() const { return m_ok; }

  /// Sends `message` to 127.0.0.1:port from a fresh socket (a new flow for conntrack each
  /// time) and returns the answer that comes within 300 ms, "" when none does.
  static std::string exchange(int port, const std::string& message) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string answer;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::send(fd, message.data(), message.size(), 0) > 0) {
      pollfd readable{fd, POLLIN, 0};
      char buffer[512];
      if (::poll(&readable, 1, 300) > 0) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n > 0) answer.assign(buffer, static_cast<std::size_t>(n));
      }
    }
    ::close(fd);
    return answer;
  }

 private:
  pid_t m_pid = -1;
  bool m_ok = false;
};

TEST_P(ContainerNetwork, PublishedUdpPortReachesTheContainer) {
  const std::string net = make_network();
  const auto started = berth({"container", "run", "-d", "--name", "udp", "--network", net, "-p",
                              "127.0.0.1::5353/udp", "bb:1", "sleep", "300"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const auto mapped = berth({"container", "port", "udp", "5353/udp"});
  ASSERT_THAT(mapped.out, MatchesRegex("127\\.0\\.0\\.1:[1-9][0-9]*\n")) << mapped.err;
  const int port = std::stoi(mapped.out.substr(10));
  EXPECT_THAT(berth({"container", "ls"}).out,
              HasSubstr("127.0.0.1:" + std::to_string(port) + "->5353/udp"));
  const std::string id = inspect("udp")["Id"];
  const UdpEcho echo("/run/netns/berth-" + id.substr(0, 12), 5353);
  ASSERT_TRUE(echo.ok()) << "no UDP listener in the container's namespace";
  std::string answer;
  for (int attempt = 0; attempt < 15 && answer.empty(); ++attempt) {
    answer = UdpEcho::exchange(port, "ping " + std::to_string(attempt));
  }
  EXPECT_THAT(answer, MatchesRegex("echo:ping [0-9]+")) << "127.0.0.1:" << port << "/udp";
  // The TCP port of the same number is not published.
  EXPECT_EQ(http_get(port), "");
}

TEST_P(ContainerNetwork, AUdpFlowThatStartedBeforeThePortWasPublishedReachesTheContainer) {
  // A free UDP port on 127.0.0.1, and a sender on one socket (one flow for conntrack) that
  // starts before the port is published, as a syslog or statsd client does.
  const int sender = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(sender, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  {
    const int probe = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(probe);
  }
  const int port = ntohs(address.sin_port);
  ASSERT_EQ(::connect(sender, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  auto send_ping = [&] { return ::send(sender, "ping", 4, 0); };  // refused until published
  send_ping();
  const std::string net = make_network();
  const auto started =
      berth({"container", "run", "-d", "--name", "udp", "--network", net, "-p",
             "127.0.0.1:" + std::to_string(port) + ":5353/udp", "bb:1", "sleep", "300"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const std::string id = inspect("udp")["Id"];
  const UdpEcho echo("/run/netns/berth-" + id.substr(0, 12), 5353);
  ASSERT_TRUE(echo.ok()) << "no UDP listener in the container's namespace";
  std::string answer;
  for (int attempt = 0; attempt < 15 && answer.empty(); ++attempt) {
    send_ping();
    pollfd readable{sender, POLLIN, 0};
    char buffer[64];
    if (::poll(&readable, 1, 300) > 0) {
      const ssize_t n = ::recv(sender, buffer, sizeof buffer, 0);
      if (n > 0) answer.assign(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(sender);
  EXPECT_EQ(answer, "echo:ping") << "127.0.0.1:" << port << "/udp";
}

TEST_P(ContainerNetwork, PublishAllPublishesEveryExposedPort) {
  // An image exposing 80/tcp and 53/udp, on the fixture's root filesystem.
  const auto imported = berth({"image", "import", m_work.path() + "/rootfs.tar", "exposing:1",
                               "--change", "EXPOSE 80", "--change", "EXPOSE 53/udp"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  const auto started = berth({"container", "run", "-d", "--name", "all", "-P", "--expose",
                              "8000-8001", "--expose", "9000/udp", "exposing:1", "sh", "-c",
                              "mkdir -p /www && echo hello from all > /www/index.html && "
                              "exec busybox httpd -f -p 80 -h /www"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const auto listed = split_lines(berth({"container", "port", "all"}).out);
  std::set<std::string> inner;
  for (const auto& line : listed) {
    EXPECT_THAT(line, MatchesRegex("[0-9]+/(tcp|udp) -> 0\\.0\\.0\\.0:[1-9][0-9]*"));
    inner.insert(line.substr(0, line.find(' ')));
  }
  EXPECT_EQ(listed.size(), 5u);
  EXPECT_EQ(inner, (std::set<std::string>{"53/udp", "80/tcp", "8000/tcp", "8001/tcp", "9000/udp"}));
  const std::string web = berth({"container", "port", "all", "80"}).out;
  ASSERT_THAT(web, StartsWith("0.0.0.0:"));
  const int port = std::stoi(web.substr(8));
  bool answered = false;
  for (int i = 0; i < 20 && !answered; ++i) {
    answered = http_get(port) == "hello from all\n";
    if (!answered) ::usleep(100'000);
  }
  EXPECT_TRUE(answered) << "127.0.0.1:" << port << " did not answer";
  const json inspected = inspect("all");
  EXPECT_EQ(inspected["Config"]["ExposedPorts"], json({{"53/udp", json::object()},
                                                       {"80/tcp", json::object()},
                                                       {"8000/tcp", json::object()},
                                                       {"8001/tcp", json::object()},
                                                       {"9000/udp", json::object()}}));
  EXPECT_EQ(inspected["HostConfig"]["PublishAllPorts"], true);

  // A -p binding wins over -P's for its port; the others still get a free one.
  const int fixed = free_port();
  const auto mixed =
      berth({"container", "run", "-d", "--name", "mixed", "-P", "-p",
             "127.0.0.1:" + std::to_string(fixed) + ":80", "exposing:1", "sleep", "300"});
  ASSERT_EQ(mixed.exit_code, 0) << mixed.err;
  const auto mixed_ports = split_lines(berth({"container", "port", "mixed"}).out);
  EXPECT_EQ(mixed_ports.size(), 2u);
  EXPECT_EQ(berth({"container", "port", "mixed", "80"}).out,
            "127.0.0.1:" + std::to_string(fixed) + "\n");
  EXPECT_THAT(berth({"container", "port", "mixed", "53/udp"}).out, StartsWith("0.0.0.0:"));

  // --expose alone exposes (with -p's port) and publishes nothing.
  const auto quiet = berth({"container", "create", "--name", "quiet", "--expose", "7000",
                            "--expose", "7000/tcp", "-p", "8080", "bb:1", "true"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  const json quiet_inspected = inspect("quiet");
  EXPECT_EQ(quiet_inspected["Config"]["ExposedPorts"],
            json({{"7000/tcp", json::object()}, {"8080/tcp", json::object()}}));
  EXPECT_EQ(quiet_inspected["HostConfig"]["PublishAllPorts"], false);
  EXPECT_EQ(inspect("mixed")["Config"]["ExposedPorts"],
            json({{"53/udp", json::object()}, {"80/tcp", json::object()}}));

  const auto bad = berth({"container", "create", "--expose", "80:80", "bb:1", "true"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("invalid port \"80:80\""));
  const auto host = berth({"container", "create", "-P", "--network", "host", "exposing:1", "true"});
  EXPECT_NE(host.exit_code, 0);
  EXPECT_THAT(host.err, HasSubstr("-P needs a container network"));
}

TEST_P(ContainerNetwork, ContainerJoinsAnotherContainersNetworkNamespace) {
  const std::string net = make_network();
  run_web("target", {"--network", net});
  const std::string target_id = inspect("target")["Id"];
  const auto hostname = berth({"container", "exec", "target", "hostname"});
  ASSERT_EQ(hostname.out, target_id.substr(0, 12) + "\n");
  // The web server answers on the shared loopback; the host name is the target's.
  const auto joined =
      berth({"container", "run", "--rm", "--network", "container:target", "bb:1", "sh", "-c",
             "hostname; for i in 1 2 3 4 5 6 7 8 9 10; do "
             "busybox timeout 3 wget -qO- http://127.0.0.1/ && break; sleep 0.3; done"});
  EXPECT_EQ(joined.out, hostname.out + "hello from target\n") << joined.err;
  // Same names, same resolver: the target's network's, by which the target is found.
  const auto files = berth({"container", "run", "--rm", "--network", "container:target", "bb:1",
                            "cat", "/etc/hosts", "/etc/resolv.conf"});
  EXPECT_EQ(files.out,
            berth({"container", "exec", "target", "cat", "/etc/hosts", "/etc/resolv.conf"}).out);
  const auto by_name =
      berth({"container", "run", "--rm", "--network", "container:" + target_id.substr(0, 12),
             "bb:1", "busybox", "timeout", "3", "wget", "-qO-", "http://target/"});
  EXPECT_EQ(by_name.out, "hello from target\n") << by_name.err;

  // Kept by id; nothing of its own: stopping and removing it leaves the target's networking.
  const auto side = berth({"container", "run", "-d", "--name", "side", "--network",
                           "container:target", "bb:1", "sleep", "300"});
  ASSERT_EQ(side.exit_code, 0) << side.err;
  const json side_inspected = inspect("side");
  EXPECT_EQ(side_inspected["HostConfig"]["NetworkMode"], "container:" + target_id);
  EXPECT_TRUE(side_inspected["NetworkSettings"]["Networks"].empty());
  EXPECT_EQ(berth({"container", "port", "side"}).out, "");
  ASSERT_EQ(berth({"container", "rm", "-f", "side"}).exit_code, 0);
  EXPECT_THAT(command_output("ip netns list"), HasSubstr("berth-" + target_id.substr(0, 12)));
  EXPECT_EQ(berth({"container", "exec", "target", "busybox", "timeout", "3", "wget", "-qO-",
                   "http://127.0.0.1/"})
                .out,
            "hello from target\n");

  // A target without networks: its init's namespace, loopback only.
  run_web("alone", {"--network", "none"});
  const auto alone =
      berth({"container", "run", "--rm", "--network", "container:alone", "bb:1", "sh", "-c",
             "for i in 1 2 3 4 5 6 7 8 9 10; do "
             "busybox timeout 3 wget -qO- http://127.0.0.1/ && break; sleep 0.3; done"});
  EXPECT_EQ(alone.out, "hello from alone\n") << alone.err;
}

TEST_P(ContainerNetwork, JoiningAContainerNeedsItRunningAndNoNetworkOptions) {
  ASSERT_EQ(berth({"container", "create", "--name", "idle", "bb:1", "true"}).exit_code, 0);
  const std::string before = berth({"container", "ls", "-a", "-q"}).out;
  // Checked at start, as Docker does (compose creates before it starts); --rm removes it.
  const auto stopped =
      berth({"container", "run", "--rm", "--network", "container:idle", "bb:1", "sleep", "5"});
  EXPECT_NE(stopped.exit_code, 0);
  EXPECT_EQ(stopped.err, "berth: error: cannot join network of a non running container: idle\n");
  const auto missing =
      berth({"container", "run", "--rm", "--network", "container:nosuch", "bb:1", "true"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_EQ(missing.err, "berth: error: No such container: nosuch\n");
  const auto empty = berth({"container", "create", "--network", "container:", "bb:1", "true"});
  EXPECT_THAT(empty.err, HasSubstr("invalid container format container:<name|id>"));
  // Docker's refusals, before the target is even looked at.
  const std::vector<std::pair<std::vector<std::string>, std::string>> conflicts = {
      {{"-p", "80"}, "conflicting options: port publishing and the container type network mode"},
      {{"-P"}, "conflicting options: port publishing and the container type network mode"},
      {{"--expose", "80"},
       "conflicting options: port exposing and the container type network mode"},
      {{"-h", "name"}, "conflicting options: hostname and the network mode"},
      {{"--dns", "10.9.9.9"}, "conflicting options: dns and the network mode"},
      {{"--dns-search", "example"}, "conflicting options: dns and the network mode"},
      {{"--dns-option", "ndots:2"}, "conflicting options: dns and the network mode"},
      {{"--add-host", "a:10.9.9.9"},
       "conflicting options: custom host-to-IP mapping and the network mode"},
      {{"--mac-address", "02:42:0a:00:00:09"},
       "conflicting options: mac-address and the network mode"},
      {{"--network-alias", "a"},
       "network-scoped alias is supported only for containers in user defined networks"},
      {{"--ip", "10.9.9.9"},
       "user specified IP address is supported on user defined networks only"},
  };
  for (const auto& [flags, message] : conflicts) {
    std::vector<std::string> args{"container", "create", "--network", "container:nosuch"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"bb:1", "true"});
    const auto refused = berth(args);
    EXPECT_NE(refused.exit_code, 0) << flags.front();
    EXPECT_EQ(refused.err, "berth: error: " + message + "\n") << flags.front();
  }
  EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out, before);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ContainerNetwork, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
