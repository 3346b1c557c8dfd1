#include "network/netlink.h"

#include <arpa/inet.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/error_of.h"
#include "tests/support/run_berth.h"
#include "tests/support/shell.h"
#include "util/random.h"

// These tests make real kernel objects (namespaces, bridges, veths) under random "bt" names,
// in a random 10.213.x.0/24 that no host route touches; packets go only between them.

namespace berth::network {
namespace {

using testing::error_of;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::read_text;

using testing::shell;
using Output = testing::ShellOutput;

/// Runs a shell command and returns its exit status and output (standard error included).
Output run(const std::string& command) {
  return shell(command + " 2>&1");
}

std::string random_name() {
  return "bt" + random_hex(8);
}

/// An IPv4 prefix as numbers, for the overlap check.
struct Prefix {
  std::uint32_t address = 0;
  int length = 0;
};

bool parse_prefix(const std::string& text, Prefix& prefix) {
  const auto slash = text.find('/');
  in_addr parsed{};
  if (::inet_pton(AF_INET, text.substr(0, slash).c_str(), &parsed) != 1) return false;
  prefix.address = ntohl(parsed.s_addr);
  prefix.length = slash == std::string::npos ? 32 : std::stoi(text.substr(slash + 1));
  return true;
}

bool overlaps(const Prefix& a, const Prefix& b) {
  const int shorter = std::min(a.length, b.length);
  const std::uint32_t mask = shorter == 0 ? 0 : ~std::uint32_t{0} << (32 - shorter);
  return (a.address & mask) == (b.address & mask);
}

/// A random third octet x in 100-250 such that 10.213.x.0/24 overlaps no host route (the
/// default route aside) and no address on the host.
int free_subnet() {
  std::random_device device;
  std::uniform_int_distribution<int> pick(100, 250);
  const std::string routes = run("ip -o route; ip -o addr show").text;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int x = pick(device);
    Prefix ours;
    parse_prefix(fmt::format("10.213.{}.0/24", x), ours);
    bool clash = false;
    std::istringstream lines(routes);
    for (std::string line; std::getline(lines, line) && !clash;) {
      std::istringstream words(line);
      for (std::string word; words >> word && !clash;) {
        Prefix theirs;
        if (word != "default" && word.find('.') != std::string::npos &&
            parse_prefix(word, theirs) && theirs.length > 0) {
          clash = overlaps(ours, theirs);
        }
      }
    }
    if (!clash) return x;
  }
  ADD_FAILURE() << "no free 10.213.x.0/24 for the test";
  return 0;
}

/// Removes a kernel object (a namespace, a bridge, a veth's host end) by name on the way
/// out, so a failing test leaves nothing behind.
class Removal {
 public:
  Removal(std::string name, void (*remove)(const std::string&))
      : m_name(std::move(name)), m_remove(remove) {}
  ~Removal() {
    try {
      m_remove(m_name);
    } catch (const Error& e) {
      ADD_FAILURE() << e.what();
    }
  }
  Removal(const Removal&) = delete;
  Removal& operator=(const Removal&) = delete;
  const std::string& name() const { return m_name; }

 private:
  std::string m_name;
  void (*m_remove)(const std::string&);
};

struct NetnsGuard : Removal {
  explicit NetnsGuard(std::string name) : Removal(std::move(name), delete_netns) {}
};
struct LinkGuard : Removal {
  explicit LinkGuard(std::string name) : Removal(std::move(name), delete_link) {}
};

std::string sys_net(const std::string& link, const std::string& file) {
  std::string text = read_text(fmt::format("/sys/class/net/{}/{}", link, file));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

bool is_up(const std::string& link) {
  return std::stoul(sys_net(link, "flags"), nullptr, 16) & 1;
}

bool one_line(const std::string& message) {
  return message.find('\n') == std::string::npos;
}

class NetlinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "making namespaces and links needs root";
  }
};

TEST_F(NetlinkTest, NetnsIsCreatedAsIpNetnsAddWithLoUpAndDeleted) {
  const NetnsGuard ns(random_name());
  create_netns(ns.name());
  EXPECT_TRUE(netns_exists(ns.name()));
  EXPECT_EQ(netns_path(ns.name()), "/run/netns/" + ns.name());
  EXPECT_TRUE(std::filesystem::exists(netns_path(ns.name())));
  EXPECT_THAT(run("ip netns list").text, HasSubstr(ns.name()));
  // /run/netns is a shared mount point, as iproute2 leaves it.
  EXPECT_THAT(run("findmnt -n -o PROPAGATION --mountpoint /run/netns").text, HasSubstr("shared"));
  const Output lo = run("ip -n " + ns.name() + " -o link show lo");
  EXPECT_EQ(lo.status, 0) << lo.text;
  EXPECT_THAT(lo.text, HasSubstr(",UP,"));
  // A new namespace: nothing of the host's is in it.
  EXPECT_THAT(run("ip -n " + ns.name() + " -o link show").text, Not(HasSubstr("eth0")));

  delete_netns(ns.name());
  EXPECT_FALSE(netns_exists(ns.name()));
  EXPECT_FALSE(std::filesystem::exists(netns_path(ns.name())));
  EXPECT_THAT(run("ip netns list").text, Not(HasSubstr(ns.name())));
}

TEST_F(NetlinkTest, CreatingAnExistingNetnsFailsAndKeepsIt) {
  const NetnsGuard ns(random_name());
  create_netns(ns.name());
  const std::string error = error_of([&] { create_netns(ns.name()); });
  EXPECT_EQ(error, "create netns " + ns.name() + ": File exists");
  EXPECT_THAT(run("ip -n " + ns.name() + " -o link show lo").text, HasSubstr(",UP,"));
}

TEST_F(NetlinkTest, DeletingMissingObjectsIsANoOp) {
  const std::string name = random_name();
  EXPECT_FALSE(netns_exists(name));
  EXPECT_FALSE(link_exists(name));
  EXPECT_EQ(error_of([&] { delete_netns(name); }), "(no error)");
  EXPECT_EQ(error_of([&] { delete_link(name); }), "(no error)");
}

TEST_F(NetlinkTest, BadNamesAreRefusedBeforeAnythingIsMade) {
  EXPECT_THAT(error_of([] { create_netns("../etc"); }), HasSubstr("not a netns name"));
  const std::string error = error_of([] { create_bridge({"bt0123456789abcdef", "", ""}); });
  EXPECT_THAT(error, HasSubstr("create bridge bt0123456789abcdef: "));
  EXPECT_THAT(error, HasSubstr("not a link name"));
  const std::string bad_address = error_of([] {
    create_bridge({"bt" + random_hex(8), "10.213.300.1/24", "02:42:00:00:00:01"});
  });
  EXPECT_THAT(bad_address, HasSubstr("invalid address \"10.213.300.1/24\""));
}

TEST_F(NetlinkTest, BridgeHasItsAddressMacAndRouteLocalnetAndIsUp) {
  const int x = free_subnet();
  const LinkGuard bridge(random_name());
  const std::string mac = fmt::format("02:42:0a:d5:{:02x}:01", x);
  create_bridge({bridge.name(), fmt::format("10.213.{}.1/24", x), mac});

  EXPECT_TRUE(link_exists(bridge.name()));
  EXPECT_TRUE(std::filesystem::exists("/sys/class/net/" + bridge.name() + "/bridge"));
  EXPECT_EQ(sys_net(bridge.name(), "address"), mac);
  EXPECT_TRUE(is_up(bridge.name()));
  EXPECT_EQ(read_text("/proc/sys/net/ipv4/conf/" + bridge.name() + "/route_localnet"), "1\n");
  EXPECT_THAT(run("ip -o -4 addr show dev " + bridge.name()).text,
              HasSubstr(fmt::format("inet 10.213.{}.1/24", x)));

  delete_link(bridge.name());
  EXPECT_FALSE(link_exists(bridge.name()));
}

TEST_F(NetlinkTest, CreatingAnExistingBridgeFails) {
  const int x = free_subnet();
  const LinkGuard bridge(random_name());
  const Bridge spec{bridge.name(), fmt::format("10.213.{}.1/24", x), "02:42:0a:d5:00:01"};
  create_bridge(spec);
  const std::string error = error_of([&] { create_bridge(spec); });
  EXPECT_EQ(error, "create bridge " + bridge.name() + ": File exists");
  EXPECT_TRUE(link_exists(bridge.name()));
}

TEST_F(NetlinkTest, TwoEndpointsOnOneBridgeReachEachOtherAndTheGateway) {
  const int x = free_subnet();
  const std::string subnet = fmt::format("10.213.{}", x);
  const std::string bridge_mac = fmt::format("02:42:0a:d5:{:02x}:01", x);
  const NetnsGuard ns1(random_name());
  const NetnsGuard ns2(random_name());
  const LinkGuard bridge(random_name());
  create_bridge({bridge.name(), subnet + ".1/24", bridge_mac});
  create_netns(ns1.name());
  create_netns(ns2.name());

  const LinkGuard veth1(random_name());
  const LinkGuard veth2(random_name());
  const std::string mac1 = fmt::format("02:42:0a:d5:{:02x}:0a", x);
  attach_endpoint(
      {ns1.name(), bridge.name(), veth1.name(), "eth0", subnet + ".10/24", mac1, subnet + ".1"});
  attach_endpoint(
      {ns2.name(), bridge.name(), veth2.name(), "eth0", subnet + ".11/24", "", subnet + ".1"});

  for (const auto* veth : {&veth1, &veth2}) {
    EXPECT_TRUE(is_up(veth->name()));
    EXPECT_EQ(std::filesystem::read_symlink("/sys/class/net/" + veth->name() + "/master")
                  .filename()
                  .string(),
              bridge.name());
  }
  // The bridge kept its own MAC with ports on it.
  EXPECT_EQ(sys_net(bridge.name(), "address"), bridge_mac);

  const Output eth0 = run("ip -n " + ns1.name() + " -o addr show dev eth0");
  EXPECT_THAT(eth0.text, HasSubstr("inet " + subnet + ".10/24"));
  EXPECT_THAT(run("ip -n " + ns1.name() + " -o link show eth0").text, HasSubstr(mac1));
  EXPECT_THAT(run("ip -n " + ns2.name() + " -o link show eth0").text, HasSubstr(",UP"));
  for (const auto* ns : {&ns1, &ns2}) {
    EXPECT_THAT(run("ip -n " + ns->name() + " route").text,
                HasSubstr("default via " + subnet + ".1 dev eth0"));
  }

  const auto ping = [](const std::string& ns, const std::string& ip) {
    return run(fmt::format("ip netns exec {} /bin/busybox ping -c1 -W2 {}", ns, ip));
  };
  Output reply = ping(ns1.name(), subnet + ".11");
  EXPECT_EQ(reply.status, 0) << reply.text;
  reply = ping(ns2.name(), subnet + ".10");
  EXPECT_EQ(reply.status, 0) << reply.text;
  reply = ping(ns1.name(), subnet + ".1");
  EXPECT_EQ(reply.status, 0) << reply.text;

  // Deleting the host end takes the peer with it.
  delete_link(veth1.name());
  EXPECT_FALSE(link_exists(veth1.name()));
  EXPECT_THAT(run("ip -n " + ns1.name() + " -o link show").text, Not(HasSubstr("eth0")));
}

TEST_F(NetlinkTest, EndpointWithoutGatewayHasNoDefaultRoute) {
  const int x = free_subnet();
  const std::string subnet = fmt::format("10.213.{}", x);
  const NetnsGuard ns(random_name());
  const LinkGuard bridge(random_name());
  create_bridge({bridge.name(), subnet + ".1/24", "02:42:0a:d5:00:01"});
  create_netns(ns.name());
  const LinkGuard veth(random_name());
  attach_endpoint({ns.name(), bridge.name(), veth.name(), "eth1", subnet + ".20/24", "", ""});

  const std::string routes = run("ip -n " + ns.name() + " route").text;
  EXPECT_THAT(routes, Not(HasSubstr("default")));
  EXPECT_THAT(routes, HasSubstr(subnet + ".0/24 dev eth1"));
  const Output reply =
      run(fmt::format("ip netns exec {} /bin/busybox ping -c1 -W2 {}.1", ns.name(), subnet));
  EXPECT_EQ(reply.status, 0) << reply.text;
}

TEST_F(NetlinkTest, AttachingToAMissingBridgeFailsAndLeavesNoVeth) {
  const int x = free_subnet();
  const NetnsGuard ns(random_name());
  create_netns(ns.name());
  const std::string missing = random_name();
  const LinkGuard veth(random_name());
  const std::string error = error_of([&] {
    attach_endpoint({ns.name(), missing, veth.name(), "eth0", fmt::format("10.213.{}.2/24", x), "",
                     fmt::format("10.213.{}.1", x)});
  });
  EXPECT_TRUE(one_line(error)) << error;
  EXPECT_THAT(error, HasSubstr("bridge " + missing + ": No such device"));
  EXPECT_FALSE(link_exists(veth.name()));
  EXPECT_THAT(run("ip -n " + ns.name() + " -o link show").text, Not(HasSubstr("eth0")));
}

TEST_F(NetlinkTest, AttachingToAMissingNetnsFails) {
  const int x = free_subnet();
  const LinkGuard bridge(random_name());
  create_bridge({bridge.name(), fmt::format("10.213.{}.1/24", x), "02:42:0a:d5:00:01"});
  const std::string missing = random_name();
  const LinkGuard veth(random_name());
  const std::string error = error_of([&] {
    attach_endpoint(
        {missing, bridge.name(), veth.name(), "eth0", fmt::format("10.213.{}.2/24", x), "", ""});
  });
  EXPECT_TRUE(one_line(error)) << error;
  EXPECT_THAT(error, HasSubstr("netns " + missing));
  EXPECT_THAT(error, HasSubstr("No such file or directory"));
  EXPECT_FALSE(link_exists(veth.name()));
}

TEST_F(NetlinkTest, AFailureInsideTheNetnsDeletesTheHostEnd) {
  const int x = free_subnet();
  const NetnsGuard ns(random_name());
  const LinkGuard bridge(random_name());
  create_bridge({bridge.name(), fmt::format("10.213.{}.1/24", x), "02:42:0a:d5:00:01"});
  create_netns(ns.name());
  const LinkGuard veth(random_name());
  // The veth is made, then the default route fails: the gateway is outside the subnet.
  const std::string error = error_of([&] {
    attach_endpoint({ns.name(), bridge.name(), veth.name(), "eth0",
                     fmt::format("10.213.{}.2/24", x), "", "192.0.2.77"});
  });
  EXPECT_TRUE(one_line(error)) << error;
  EXPECT_THAT(error, HasSubstr("add default route via 192.0.2.77: Network is unreachable"));
  EXPECT_FALSE(link_exists(veth.name()));
  EXPECT_THAT(run("ip -n " + ns.name() + " -o link show").text, Not(HasSubstr("eth0")));
}

TEST_F(NetlinkTest, ASecondEth0InTheSameNetnsFailsAndLeavesNoVeth) {
  const int x = free_subnet();
  const std::string subnet = fmt::format("10.213.{}", x);
  const NetnsGuard ns(random_name());
  const LinkGuard bridge(random_name());
  create_bridge({bridge.name(), subnet + ".1/24", "02:42:0a:d5:00:01"});
  create_netns(ns.name());
  const LinkGuard first(random_name());
  attach_endpoint({ns.name(), bridge.name(), first.name(), "eth0", subnet + ".2/24", "", ""});
  const LinkGuard second(random_name());
  const std::string error = error_of([&] {
    attach_endpoint({ns.name(), bridge.name(), second.name(), "eth0", subnet + ".3/24", "", ""});
  });
  EXPECT_TRUE(one_line(error)) << error;
  EXPECT_THAT(error, HasSubstr("create veth: File exists"));
  EXPECT_FALSE(link_exists(second.name()));
  EXPECT_TRUE(link_exists(first.name()));
}

}  // namespace
}  // namespace berth::network
