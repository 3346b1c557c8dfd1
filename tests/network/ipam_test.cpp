#include "network/ipam.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/error_of.h"
#include "tests/support/run_berth.h"

namespace berth::network {
namespace {

using berth::testing::error_of;
using berth::testing::TempDir;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

Cidr cidr(const std::string& text) {
  return Cidr::parse(text);
}
std::uint32_t ip(const std::string& text) {
  return parse_ip(text);
}

std::vector<std::string> strs(const std::vector<Cidr>& list) {
  std::vector<std::string> out;
  for (const Cidr& c : list) out.push_back(c.str());
  return out;
}

// --- Cidr ----------------------------------------------------------------------------------

TEST(Cidr, ParsesAndFormats) {
  const Cidr net = cidr("10.210.3.0/24");
  EXPECT_EQ(net.address, 0x0AD20300u);
  EXPECT_EQ(net.prefix, 24);
  EXPECT_EQ(net.str(), "10.210.3.0/24");
  EXPECT_EQ(format_ip(net.first()), "10.210.3.0");
  EXPECT_EQ(format_ip(net.last()), "10.210.3.255");
  EXPECT_EQ(cidr("10.210.3.7"), (Cidr{ip("10.210.3.7"), 32}));
  EXPECT_EQ(cidr("10.210.3.7").str(), "10.210.3.7/32");
  EXPECT_EQ(cidr("0.0.0.0/0").str(), "0.0.0.0/0");
  EXPECT_EQ(format_ip(cidr("0.0.0.0/0").last()), "255.255.255.255");
  EXPECT_EQ(cidr("255.255.255.255/32").str(), "255.255.255.255/32");
  EXPECT_EQ(format_ip(cidr("10.0.0.0/31").last()), "10.0.0.1");
  EXPECT_EQ(format_ip(cidr("172.16.0.0/12").last()), "172.31.255.255");
}

TEST(Cidr, RejectsMalformedText) {
  for (const std::string text :
       {"", "10.0.0.0/", "/24", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/ 8",
        "10.0.0.0/8x", "10.0.0.0/008", "10.0.0/8", "10.0.0.256/32", "010.0.0.0/8", "::1/128",
        "fd00::/64", "10.0.0.0/8/8", "abc", " 10.0.0.0/8"}) {
    EXPECT_EQ(error_of([&] { Cidr::parse(text); }),
              "invalid subnet \"" + text +
                  "\": expected an IPv4 address with an optional /prefix from 0 to 32")
        << text;
  }
}

TEST(Cidr, HostBitsNameTheNetwork) {
  EXPECT_EQ(error_of([] { Cidr::parse("10.0.0.5/24"); }),
            "invalid subnet \"10.0.0.5/24\": host bits are set, it should be 10.0.0.0/24");
  EXPECT_EQ(error_of([] { Cidr::parse("10.0.0.1/0"); }),
            "invalid subnet \"10.0.0.1/0\": host bits are set, it should be 0.0.0.0/0");
  EXPECT_EQ(error_of([] { Cidr::parse("10.0.0.3/31"); }),
            "invalid subnet \"10.0.0.3/31\": host bits are set, it should be 10.0.0.2/31");
}

TEST(Cidr, ParseIp) {
  EXPECT_EQ(ip("192.0.2.1"), 0xC0000201u);
  EXPECT_EQ(format_ip(0xC0000201u), "192.0.2.1");
  EXPECT_EQ(format_ip(0), "0.0.0.0");
  EXPECT_EQ(error_of([] { parse_ip("10.0.0.1/32"); }), "invalid IPv4 address \"10.0.0.1/32\"");
  EXPECT_EQ(error_of([] { parse_ip("1.2.3"); }), "invalid IPv4 address \"1.2.3\"");
  EXPECT_EQ(error_of([] { parse_ip("::1"); }), "invalid IPv4 address \"::1\"");
}

TEST(Cidr, ContainsAndOverlaps) {
  const Cidr net = cidr("10.210.3.0/24");
  EXPECT_TRUE(net.contains(ip("10.210.3.0")));
  EXPECT_TRUE(net.contains(ip("10.210.3.255")));
  EXPECT_FALSE(net.contains(ip("10.210.4.0")));
  EXPECT_FALSE(net.contains(ip("10.210.2.255")));
  EXPECT_TRUE(cidr("0.0.0.0/0").contains(ip("255.255.255.255")));

  EXPECT_TRUE(net.overlaps(net));
  EXPECT_TRUE(net.overlaps(cidr("10.0.0.0/8")));    // inside a larger one
  EXPECT_TRUE(cidr("10.0.0.0/8").overlaps(net));    // and the other way round
  EXPECT_TRUE(net.overlaps(cidr("10.210.3.255")));  // its last address
  EXPECT_TRUE(net.overlaps(cidr("0.0.0.0/0")));
  EXPECT_FALSE(net.overlaps(cidr("10.210.4.0/24")));  // adjacent above
  EXPECT_FALSE(net.overlaps(cidr("10.210.2.0/24")));  // adjacent below
  EXPECT_FALSE(net.overlaps(cidr("10.210.2.255")));
  EXPECT_FALSE(cidr("255.255.255.254/31").overlaps(cidr("255.255.255.253")));
  EXPECT_TRUE(cidr("255.255.255.254/31").overlaps(cidr("255.255.255.255")));
}

// --- subnets -------------------------------------------------------------------------------

TEST(ChooseSubnet, DefaultPoolIsBerthsOwn) {
  const auto pool = default_pool();
  ASSERT_EQ(pool.size(), 256u);
  EXPECT_EQ(pool.front().str(), "10.210.0.0/24");
  EXPECT_EQ(pool[1].str(), "10.210.1.0/24");
  EXPECT_EQ(pool.back().str(), "10.210.255.0/24");
  for (const Cidr& c : pool) {
    EXPECT_FALSE(c.overlaps(cidr("172.16.0.0/12"))) << c.str();  // Docker's
    EXPECT_FALSE(c.overlaps(cidr("192.168.0.0/16"))) << c.str();
    EXPECT_FALSE(c.overlaps(cidr("10.88.0.0/16"))) << c.str();  // podman's
  }
}

TEST(ChooseSubnet, FirstFreeEntry) {
  const auto pool = default_pool();
  EXPECT_EQ(choose_subnet(pool, {})->str(), "10.210.0.0/24");
  EXPECT_EQ(choose_subnet(pool, {cidr("192.0.2.0/24"), cidr("127.0.0.0/8")})->str(),
            "10.210.0.0/24");
  EXPECT_EQ(choose_subnet(pool, {cidr("10.210.0.0/24"), cidr("10.210.1.0/24")})->str(),
            "10.210.2.0/24");
  // A larger claim covers several entries; a resolver's /32 takes its whole /24.
  EXPECT_EQ(choose_subnet(pool, {cidr("10.210.0.0/23"), cidr("10.210.2.53")})->str(),
            "10.210.3.0/24");
  // A claim that merely starts inside an entry still takes it.
  EXPECT_EQ(choose_subnet(pool, {cidr("10.210.0.128/25")})->str(), "10.210.1.0/24");
}

TEST(ChooseSubnet, Exhausted) {
  const auto pool = default_pool();
  EXPECT_FALSE(choose_subnet(pool, {cidr("10.210.0.0/16")}));
  EXPECT_FALSE(choose_subnet(pool, {cidr("10.0.0.0/8")}));
  EXPECT_FALSE(choose_subnet(pool, {cidr("0.0.0.0/0")}));
  EXPECT_FALSE(choose_subnet({}, {}));
  std::vector<Cidr> all_but_last(pool.begin(), pool.end() - 1);
  EXPECT_EQ(choose_subnet(pool, all_but_last)->str(), "10.210.255.0/24");
}

// --- host claims ---------------------------------------------------------------------------

// /proc/net/route as this machine's kernel writes it (little-endian hex words).
constexpr const char* kRoutes =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "wg0\t0000100A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
    "eth1\t0500A8C0\t010200C0\t0007\t0\t0\t0\tFFFFFFFF\t0\t0\t0\n"
    "eth0\t00000000\t020200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
    "garbage line\n"
    "eth9\tZZZZZZZZ\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";

TEST(HostClaims, FromFixtures) {
  TempDir dir;
  HostSources sources;
  sources.interfaces = false;
  sources.routes = dir.write("route", kRoutes);
  sources.resolv_conf = dir.write("resolv.conf",
                                  "# generated\n"
                                  "search example.test\n"
                                  "nameserver 10.255.255.53\n"
                                  "  nameserver\t127.0.0.53  # systemd-resolved\n"
                                  "nameserver fd00::53\n"
                                  "; nameserver 10.1.1.1\n"
                                  "nameserver not-an-ip\n"
                                  "options ndots:2\n");
  // Default routes (0.0.0.0/0) are left out; everything else is claimed, sorted.
  EXPECT_THAT(strs(host_claims(sources)),
              ElementsAre("10.16.0.0/16", "10.255.255.53/32", "127.0.0.53/32", "192.0.2.0/24",
                          "192.168.0.5/32"));
}

TEST(HostClaims, MissingFilesClaimNothing) {
  TempDir dir;
  HostSources sources;
  sources.interfaces = false;
  sources.routes = dir.path() + "/no-route";
  sources.resolv_conf = dir.path() + "/no-resolv.conf";
  EXPECT_TRUE(host_claims(sources).empty());
}

TEST(HostClaims, DuplicatesCollapse) {
  TempDir dir;
  HostSources sources;
  sources.interfaces = false;
  sources.routes = dir.write("route", kRoutes);
  sources.resolv_conf =
      dir.write("resolv.conf", "nameserver 192.168.0.5\nnameserver 192.168.0.5\n");
  EXPECT_THAT(strs(host_claims(sources)),
              ElementsAre("10.16.0.0/16", "192.0.2.0/24", "192.168.0.5/32"));
}

TEST(HostClaims, RealHostHasLoopback) {
  const auto claims = host_claims();
  EXPECT_THAT(strs(claims), Contains("127.0.0.0/8"));
  for (const Cidr& c : claims) EXPECT_NE(c.prefix, 0) << c.str();
}

// --- AddressBook ---------------------------------------------------------------------------

class AddressBookTest : public ::testing::Test {
 protected:
  AddressBook book(const std::string& subnet = "10.210.3.0/24",
                   const std::string& gateway = "10.210.3.1",
                   std::optional<Cidr> range = std::nullopt) {
    return AddressBook(m_dir.path(), cidr(subnet), ip(gateway), range);
  }
  std::string leases_path() const { return m_dir.path() + "/leases.json"; }

  TempDir m_dir;
};

TEST_F(AddressBookTest, SequentialLeasesSkipTheGateway) {
  AddressBook b = book();
  EXPECT_TRUE(b.leases().empty());
  EXPECT_EQ(format_ip(b.lease("a")), "10.210.3.2");
  EXPECT_EQ(format_ip(b.lease("b")), "10.210.3.3");
  EXPECT_EQ(format_ip(b.lease("c")), "10.210.3.4");
  EXPECT_EQ(format_ip(b.lease("a")), "10.210.3.2");  // again: the same address
  EXPECT_EQ(b.leases().size(), 3u);
}

TEST_F(AddressBookTest, GatewayInTheMiddleIsSkipped) {
  AddressBook b = book("10.210.3.0/29", "10.210.3.3");
  std::vector<std::string> got;
  for (const char* owner : {"a", "b", "c", "d", "e"}) got.push_back(format_ip(b.lease(owner)));
  EXPECT_THAT(got,
              ElementsAre("10.210.3.1", "10.210.3.2", "10.210.3.4", "10.210.3.5", "10.210.3.6"));
}

TEST_F(AddressBookTest, FileFormat) {
  AddressBook b = book();
  b.lease("abc");
  b.lease("def", ip("10.210.3.77"));
  const auto doc = nlohmann::json::parse(berth::testing::read_text(leases_path()));
  EXPECT_EQ(doc,
            nlohmann::json::parse(R"({"leases": {"abc": "10.210.3.2", "def": "10.210.3.77"}})"));
}

TEST_F(AddressBookTest, RequestedAddress) {
  AddressBook b = book();
  EXPECT_EQ(format_ip(b.lease("a", ip("10.210.3.50"))), "10.210.3.50");
  EXPECT_EQ(format_ip(b.lease("a", ip("10.210.3.50"))), "10.210.3.50");
  EXPECT_EQ(format_ip(b.lease("a")), "10.210.3.50");  // no request: keeps what it has
  EXPECT_EQ(format_ip(b.lease("b")), "10.210.3.2");   // dynamic picks go around it
  EXPECT_EQ(error_of([&] { b.lease("c", ip("10.210.3.50")); }),
            "address 10.210.3.50 is already in use in network 10.210.3.0/24");
  EXPECT_EQ(error_of([&] { b.lease("c", ip("10.210.3.2")); }),
            "address 10.210.3.2 is already in use in network 10.210.3.0/24");
  EXPECT_EQ(error_of([&] { b.lease("c", ip("10.1.1.1")); }),
            "address 10.1.1.1 is not in network 10.210.3.0/24");
  EXPECT_EQ(error_of([&] { b.lease("c", ip("10.210.3.1")); }),
            "address 10.210.3.1 is the gateway of network 10.210.3.0/24");
  EXPECT_EQ(error_of([&] { b.lease("c", ip("10.210.3.0")); }),
            "address 10.210.3.0 is the network or broadcast address of network 10.210.3.0/24");
  EXPECT_EQ(error_of([&] { b.lease("c", ip("10.210.3.255")); }),
            "address 10.210.3.255 is the network or broadcast address of network 10.210.3.0/24");
  EXPECT_EQ(b.leases().count("c"), 0u);  // failed requests leave nothing behind
}

TEST_F(AddressBookTest, SameOwnerRequestingAnotherAddressMoves) {
  AddressBook b = book();
  b.lease("a");
  b.lease("b", ip("10.210.3.9"));
  EXPECT_EQ(format_ip(b.lease("a", ip("10.210.3.20"))), "10.210.3.20");
  EXPECT_EQ(b.leases().at("a"), ip("10.210.3.20"));
  EXPECT_EQ(format_ip(b.lease("c")), "10.210.3.2");  // its old address is free again
  // A failed move keeps the old lease.
  EXPECT_EQ(error_of([&] { b.lease("a", ip("10.210.3.9")); }),
            "address 10.210.3.9 is already in use in network 10.210.3.0/24");
  EXPECT_EQ(b.leases().at("a"), ip("10.210.3.20"));
}

TEST_F(AddressBookTest, RangeLimitsOnlyDynamicPicks) {
  AddressBook b = book("10.210.0.0/16", "10.210.0.1", cidr("10.210.5.0/30"));
  EXPECT_EQ(format_ip(b.lease("a")), "10.210.5.0");  // inside the subnet, a usable address
  EXPECT_EQ(format_ip(b.lease("b")), "10.210.5.1");
  EXPECT_EQ(format_ip(b.lease("x", ip("10.210.9.9"))), "10.210.9.9");
  EXPECT_EQ(format_ip(b.lease("c")), "10.210.5.2");
  EXPECT_EQ(format_ip(b.lease("d")), "10.210.5.3");
  EXPECT_EQ(error_of([&] { b.lease("e"); }), "no free address in network 10.210.0.0/16");
}

TEST_F(AddressBookTest, RangeAtTheSubnetsEdgeSkipsBroadcast) {
  AddressBook b = book("10.210.3.0/24", "10.210.3.1", cidr("10.210.3.252/30"));
  EXPECT_EQ(format_ip(b.lease("a")), "10.210.3.252");
  EXPECT_EQ(format_ip(b.lease("b")), "10.210.3.253");
  EXPECT_EQ(format_ip(b.lease("c")), "10.210.3.254");
  EXPECT_EQ(error_of([&] { b.lease("d"); }), "no free address in network 10.210.3.0/24");
}

TEST_F(AddressBookTest, BadGatewayOrRange) {
  EXPECT_EQ(error_of([&] { book("10.210.3.0/24", "10.210.4.1"); }),
            "gateway 10.210.4.1 is not in network 10.210.3.0/24");
  EXPECT_EQ(error_of([&] { book("10.210.3.0/24", "10.210.3.1", cidr("10.210.0.0/16")); }),
            "ip_range 10.210.0.0/16 is not inside network 10.210.3.0/24");
}

TEST_F(AddressBookTest, ReleaseAndReuse) {
  AddressBook b = book();
  b.lease("a");
  b.lease("b");
  b.lease("c");
  b.release("b");
  b.release("b");            // twice: nothing to do
  b.release("never-there");  // no lease: nothing to do
  EXPECT_EQ(b.leases().count("b"), 0u);
  EXPECT_EQ(format_ip(b.lease("d")), "10.210.3.3");  // the lowest free is b's old one
  EXPECT_EQ(format_ip(b.lease("e")), "10.210.3.5");
}

TEST_F(AddressBookTest, ReleaseBeforeAnyLease) {
  AddressBook b = book();
  b.release("a");
  EXPECT_TRUE(b.leases().empty());
}

TEST_F(AddressBookTest, ExhaustionOnASlash29) {
  AddressBook b = book("10.210.3.0/29", "10.210.3.1");
  std::set<std::uint32_t> got;
  for (int i = 0; i < 5; ++i) got.insert(b.lease("c" + std::to_string(i)));
  EXPECT_EQ(got.size(), 5u);  // .2 to .6: 8 minus network, broadcast and gateway
  EXPECT_EQ(format_ip(*got.begin()), "10.210.3.2");
  EXPECT_EQ(format_ip(*got.rbegin()), "10.210.3.6");
  EXPECT_EQ(error_of([&] { b.lease("c5"); }), "no free address in network 10.210.3.0/29");
  EXPECT_EQ(format_ip(b.lease("c0")), "10.210.3.2");  // existing owners still get theirs
  b.release("c3");
  EXPECT_EQ(format_ip(b.lease("c5")), "10.210.3.5");
}

TEST_F(AddressBookTest, PersistsAcrossObjects) {
  {
    AddressBook first = book();
    first.lease("a");
    first.lease("b", ip("10.210.3.100"));
  }
  AddressBook second = book();
  EXPECT_EQ(second.leases().at("a"), ip("10.210.3.2"));
  EXPECT_EQ(second.leases().at("b"), ip("10.210.3.100"));
  EXPECT_EQ(format_ip(second.lease("c")), "10.210.3.3");
  EXPECT_EQ(format_ip(second.lease("a")), "10.210.3.2");
  EXPECT_EQ(error_of([&] { second.lease("d", ip("10.210.3.100")); }),
            "address 10.210.3.100 is already in use in network 10.210.3.0/24");
}

TEST_F(AddressBookTest, CorruptedFileIsAOneLineErrorNamingIt) {
  AddressBook b = book();
  const std::string path = leases_path();
  for (const std::string content :
       {"{not json", "[]", R"({"other": {}})", R"({"leases": []})",
        R"({"leases": {"a": "10.210.3.300"}})", R"({"leases": {"a": 5}})", ""}) {
    m_dir.write("leases.json", content);
    for (const std::string& message :
         {error_of([&] { b.lease("x"); }), error_of([&] { b.release("x"); }),
          error_of([&] { b.leases(); })}) {
      EXPECT_THAT(message, ::testing::StartsWith(path + ": invalid leases file: ")) << content;
      EXPECT_THAT(message, Not(HasSubstr("\n"))) << content;
    }
  }
  m_dir.write("leases.json", "{not json");
  EXPECT_EQ(berth::testing::read_text(path), "{not json");  // never overwritten
}

TEST_F(AddressBookTest, MissingDirectoryNamesTheLockFile) {
  AddressBook b(m_dir.path() + "/gone", cidr("10.210.3.0/24"), ip("10.210.3.1"), std::nullopt);
  EXPECT_EQ(error_of([&] { b.lease("a"); }),
            m_dir.path() + "/gone/leases.lock: cannot lock: No such file or directory");
}

/// Children forked by a test: released together through a pipe, and always waited for.
class Children {
 public:
  Children() {
    if (::pipe(m_gate) != 0) throw std::runtime_error("pipe");
  }
  ~Children() {
    open_gate();
    for (pid_t pid : m_pids) ::waitpid(pid, nullptr, 0);
  }
  /// Runs `body` in a child once the gate opens; the child exits 0 when it returns true.
  template <typename Body>
  void spawn(Body body) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork");
    if (pid == 0) {
      ::close(m_gate[1]);
      char byte;
      while (::read(m_gate[0], &byte, 1) < 0) {
      }
      bool ok = false;
      try {
        ok = body();
      } catch (...) {
      }
      ::_exit(ok ? 0 : 1);  // never return into the test runner (or its TempDir destructors)
    }
    m_pids.push_back(pid);
  }
  void open_gate() {
    if (m_gate[1] >= 0) {
      ::close(m_gate[1]);
      ::close(m_gate[0]);
      m_gate[1] = -1;
    }
  }
  /// Waits for every child; the exit statuses.
  std::vector<int> wait_all() {
    open_gate();
    std::vector<int> statuses;
    for (pid_t pid : m_pids) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      statuses.push_back(status);
    }
    m_pids.clear();
    return statuses;
  }

 private:
  int m_gate[2] = {-1, -1};
  std::vector<pid_t> m_pids;
};

TEST_F(AddressBookTest, ConcurrentProcessesNeverShareAnAddress) {
  constexpr int kProcesses = 8;
  constexpr int kLeasesEach = 10;
  const std::string dir = m_dir.path();
  Children children;
  for (int p = 0; p < kProcesses; ++p) {
    children.spawn([dir, p] {
      AddressBook b(dir, Cidr::parse("10.210.3.0/24"), parse_ip("10.210.3.1"), std::nullopt);
      for (int i = 0; i < kLeasesEach; ++i) {
        b.lease("p" + std::to_string(p) + "-" + std::to_string(i));
      }
      return true;
    });
  }
  for (int status : children.wait_all()) {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  const auto leases = book().leases();
  ASSERT_EQ(leases.size(), static_cast<std::size_t>(kProcesses * kLeasesEach));
  std::set<std::uint32_t> addresses;
  for (const auto& [owner, address] : leases) {
    addresses.insert(address);
    EXPECT_TRUE(cidr("10.210.3.0/24").contains(address)) << owner;
  }
  EXPECT_EQ(addresses.size(), leases.size());
  // Lowest-first under one lock: exactly .2 to .81.
  EXPECT_EQ(format_ip(*addresses.begin()), "10.210.3.2");
  EXPECT_EQ(format_ip(*addresses.rbegin()), "10.210.3.81");
}

}  // namespace
}  // namespace berth::network
