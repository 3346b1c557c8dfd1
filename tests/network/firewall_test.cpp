#include "network/firewall.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/error_of.h"
#include "tests/support/run_berth.h"
#include "tests/support/shell.h"
#include "util/random.h"

// The unit tests check the generated iptables-restore text. The integration tests (root) apply
// rules naming random "berth<hex>" bridges that do not exist (iptables accepts that) and read
// them back with iptables; no packet is sent. They change the host's real netfilter state, so
// they take a lock of their own (other firewall test processes of a parallel ctest wait) and
// always remove what they added.

namespace berth::network {
namespace {

using testing::error_of;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// ---- generated text ----

const NetworkRules k_network{"n1", "berth0123456789", "10.210.3.0/24", false};

TEST(FirewallBatch, NetworkRules) {
  EXPECT_EQ(
      network_batch(k_network, true),
      "*nat\n"
      "-A BERTH-POSTROUTING -s 10.210.3.0/24 ! -o berth0123456789 "
      "-m comment --comment \"berth:n1\" -j MASQUERADE\n"
      "-A BERTH-POSTROUTING -s 127.0.0.0/8 -o berth0123456789 "
      "-m comment --comment \"berth:n1\" -j MASQUERADE\n"
      "-A BERTH-POSTROUTING -s 10.210.3.0/24 -d 10.210.3.0/24 -o berth0123456789 "
      "-m conntrack --ctstate DNAT -m comment --comment \"berth:n1\" -j MASQUERADE\n"
      "COMMIT\n"
      "*filter\n"
      "-A BERTH-FORWARD -i berth0123456789 -o berth0123456789 "
      "-m comment --comment \"berth:n1\" -j ACCEPT\n"
      "-A BERTH-FORWARD -i berth0123456789 -o berth+ -m comment --comment \"berth:n1\" -j DROP\n"
      "-A BERTH-FORWARD -i berth+ -o berth0123456789 -m comment --comment \"berth:n1\" -j DROP\n"
      "-A BERTH-FORWARD -o berth0123456789 -m conntrack --ctorigdst 127.0.0.0/8 "
      "-m comment --comment \"berth:n1\" -j DROP\n"
      "-A BERTH-FORWARD -i berth0123456789 ! -o berth+ "
      "-m comment --comment \"berth:n1\" -j ACCEPT\n"
      "-A BERTH-FORWARD -o berth0123456789 -m conntrack --ctstate RELATED,ESTABLISHED "
      "-m comment --comment \"berth:n1\" -j ACCEPT\n"
      "-A BERTH-FORWARD -o berth0123456789 -m conntrack --ctstate DNAT "
      "-m comment --comment \"berth:n1\" -j ACCEPT\n"
      "COMMIT\n");
}

TEST(FirewallBatch, InternalNetworkHasNoWayOut) {
  NetworkRules internal = k_network;
  internal.internal = true;
  EXPECT_EQ(network_batch(internal, true),
            "*nat\n"
            "-A BERTH-POSTROUTING -s 127.0.0.0/8 -o berth0123456789 "
            "-m comment --comment \"berth:n1\" -j MASQUERADE\n"
            "-A BERTH-POSTROUTING -s 10.210.3.0/24 -d 10.210.3.0/24 -o berth0123456789 "
            "-m conntrack --ctstate DNAT -m comment --comment \"berth:n1\" -j MASQUERADE\n"
            "COMMIT\n"
            "*filter\n"
            "-A BERTH-FORWARD -i berth0123456789 -o berth0123456789 "
            "-m comment --comment \"berth:n1\" -j ACCEPT\n"
            "-A BERTH-FORWARD -i berth0123456789 ! -o berth0123456789 "
            "-m comment --comment \"berth:n1\" -j DROP\n"
            "-A BERTH-FORWARD ! -i berth0123456789 -o berth0123456789 "
            "-m comment --comment \"berth:n1\" -j DROP\n"
            "COMMIT\n");
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

TEST(FirewallBatch, DeletingIsTheSameRulesWithD) {
  for (const bool internal : {false, true}) {
    NetworkRules rules = k_network;
    rules.internal = internal;
    const std::string added = network_batch(rules, true);
    EXPECT_EQ(network_batch(rules, false), replace_all(added, "\n-A ", "\n-D "));
  }
}

TEST(FirewallBatch, SubnetIsWrittenAsIptablesPrintsIt) {
  NetworkRules rules = k_network;
  rules.subnet = "10.210.3.77/24";
  EXPECT_EQ(network_batch(rules, true), network_batch(k_network, true));
}

const std::vector<PortRule> k_ports{
    {"127.0.0.1", 8080, "tcp", "10.210.3.2", 80},
    {"", 5353, "udp", "10.210.3.2", 53},
    {"0.0.0.0", 9000, "tcp", "10.210.3.2", 9000},
};

TEST(FirewallBatch, Ports) {
  EXPECT_EQ(ports_batch("c1", "berth0123456789", k_ports, true),
            "*nat\n"
            "-A BERTH-DNAT -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 -m comment --comment "
            "\"berth:c1\" -j DNAT --to-destination 10.210.3.2:80\n"
            "-A BERTH-DNAT -p udp -m udp --dport 5353 -m comment --comment \"berth:c1\" "
            "-j DNAT --to-destination 10.210.3.2:53\n"
            "-A BERTH-DNAT -p tcp -m tcp --dport 9000 -m comment --comment \"berth:c1\" "
            "-j DNAT --to-destination 10.210.3.2:9000\n"
            "COMMIT\n"
            "*filter\n"
            "-A BERTH-FORWARD -d 10.210.3.2/32 -o berth0123456789 -p tcp -m tcp --dport 80 "
            "-m comment --comment \"berth:c1\" -j ACCEPT\n"
            "-A BERTH-FORWARD -d 10.210.3.2/32 -o berth0123456789 -p udp -m udp --dport 53 "
            "-m comment --comment \"berth:c1\" -j ACCEPT\n"
            "-A BERTH-FORWARD -d 10.210.3.2/32 -o berth0123456789 -p tcp -m tcp --dport 9000 "
            "-m comment --comment \"berth:c1\" -j ACCEPT\n"
            "COMMIT\n");
  EXPECT_EQ(ports_batch("c1", "berth0123456789", k_ports, false),
            replace_all(ports_batch("c1", "berth0123456789", k_ports, true), "\n-A ", "\n-D "));
}

TEST(FirewallBatch, NoPortsNoBatch) {
  EXPECT_EQ(ports_batch("c1", "berth0123456789", {}, true), "");
}

TEST(FirewallBatch, RejectsWhatWouldNotBeOneRule) {
  auto network = [](NetworkRules rules) { return error_of([&] { network_batch(rules, true); }); };
  EXPECT_EQ(network({"n 1", "berth01", "10.0.0.0/24", false}),
            "firewall rule owner \"n 1\": not a berth id");
  EXPECT_EQ(network({"n1\n-F", "berth01", "10.0.0.0/24", false}),
            "firewall rule owner \"n1\n-F\": not a berth id");
  EXPECT_EQ(network({"n1", "berth+", "10.0.0.0/24", false}),
            "firewall rules: \"berth+\" is not an interface name");
  EXPECT_EQ(network({"n1", "berth0123456789a", "10.0.0.0/24", false}),
            "firewall rules: \"berth0123456789a\" is not an interface name");
  EXPECT_EQ(network({"n1", "berth01", "10.0.0.0/33", false}),
            "firewall rules: \"10.0.0.0/33\" is not an IPv4 subnet");
  EXPECT_EQ(network({"n1", "berth01", "10.0.0.0", false}),
            "firewall rules: \"10.0.0.0\" is not an IPv4 subnet");
  auto ports = [](PortRule port) {
    return error_of([&] { ports_batch("c1", "berth01", {port}, true); });
  };
  EXPECT_EQ(ports({"", 80, "sctp", "10.0.0.2", 80}),
            "firewall rules: protocol \"sctp\" is not tcp or udp");
  EXPECT_EQ(ports({"::1", 80, "tcp", "10.0.0.2", 80}),
            "firewall rules: host address \"::1\" is not an IPv4 address");
  EXPECT_EQ(ports({"", 80, "tcp", "10.0.0.300", 80}),
            "firewall rules: container address \"10.0.0.300\" is not an IPv4 address");
  EXPECT_EQ(ports({"", 0, "tcp", "10.0.0.2", 80}), "firewall rules: host port 0");
  EXPECT_EQ(ports({"", 80, "tcp", "10.0.0.2", 0}), "firewall rules: container port 0");
}

// ---- on the host's netfilter ----

using testing::shell;
using Output = testing::ShellOutput;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// The rules of one chain as `iptables -S` prints them; none when the chain does not exist.
std::vector<std::string> chain_rules(const std::string& table, const std::string& chain) {
  std::vector<std::string> rules;
  for (auto& line :
       lines_of(shell(fmt::format("iptables -t {} -S {} 2>/dev/null", table, chain)).text)) {
    if (line.starts_with("-A ")) rules.push_back(line);
  }
  return rules;
}

bool chain_exists(const std::string& table, const std::string& chain) {
  return shell(fmt::format("iptables -t {} -S {} >/dev/null 2>&1", table, chain)).status == 0;
}

std::size_t count(const std::vector<std::string>& rules, const std::string& rule) {
  return static_cast<std::size_t>(std::ranges::count(rules, rule));
}

/// The "-A" lines of a generated batch in `table`.
std::vector<std::string> added_rules(const std::string& batch, const std::string& table) {
  std::vector<std::string> rules;
  std::string current;
  for (const auto& line : lines_of(batch)) {
    if (line.starts_with('*')) current = line.substr(1);
    if (current == table && line.starts_with("-A ")) rules.push_back(line);
  }
  return rules;
}

/// True when `part` appears in `whole` in one piece, in order.
bool contains_run(const std::vector<std::string>& whole, const std::vector<std::string>& part) {
  return std::ranges::search(whole, part).begin() != whole.end() || part.empty();
}

/// A rule of a real berth (ids of 64 hex digits), which may come and go while a test runs;
/// the tests' own owners all start with "test".
bool foreign_berth_rule(const std::string& line) {
  return line.find("--comment \"berth:") != std::string::npos &&
         line.find("--comment \"berth:test") == std::string::npos;
}

/// iptables-save without what changes by itself (counters, dates, a real berth's rules) and
/// without the empty built-in chains of policy ACCEPT that iptables-nft creates with a table
/// on first use and never deletes: they filter nothing, and `iptables -S` shows the same
/// without them.
std::string normalized_snapshot() {
  std::string result;
  std::vector<std::string> section;
  bool meaningful = false;
  for (auto line : lines_of(shell("iptables-save 2>/dev/null").text)) {
    if (line.starts_with('#') || foreign_berth_rule(line)) continue;
    if (line.starts_with(':')) {
      line = line.substr(0, line.rfind(" ["));  // ":CHAIN POLICY [packets:bytes]"
      if (line.ends_with(" ACCEPT")) continue;
    }
    if (line.starts_with('*')) {
      section.clear();
      meaningful = false;
    } else if (line != "COMMIT") {
      meaningful = true;
    }
    section.push_back(line);
    if (line == "COMMIT") {
      if (meaningful) {
        for (const auto& kept : section) result += kept + "\n";
      }
      section.clear();
    }
  }
  return result;
}

const std::vector<std::string> k_nat_jumps{
    "-A PREROUTING -m addrtype --dst-type LOCAL -j BERTH-DNAT",
    "-A OUTPUT -m addrtype --dst-type LOCAL -j BERTH-DNAT",
    "-A POSTROUTING -j BERTH-POSTROUTING",
};

void expect_one_jump_each() {
  const auto prerouting = chain_rules("nat", "PREROUTING");
  const auto output = chain_rules("nat", "OUTPUT");
  const auto postrouting = chain_rules("nat", "POSTROUTING");
  const auto forward = chain_rules("filter", "FORWARD");
  EXPECT_EQ(count(prerouting, k_nat_jumps[0]), 1u);
  EXPECT_EQ(count(output, k_nat_jumps[1]), 1u);
  EXPECT_EQ(count(postrouting, k_nat_jumps[2]), 1u);
  EXPECT_EQ(count(forward, "-A FORWARD -j BERTH-FORWARD"), 1u);
  EXPECT_TRUE(chain_exists("nat", "BERTH-DNAT"));
  EXPECT_TRUE(chain_exists("nat", "BERTH-POSTROUTING"));
  EXPECT_TRUE(chain_exists("filter", "BERTH-FORWARD"));
}

/// Runs ensure_chains() in a child process (a process of its own, as a second berth would
/// be), after `start` has something to read or is closed.
pid_t ensure_chains_in_child(const int (&start)[2]) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(start[1]);  // else its own copy would keep the pipe open
    char byte;
    while (::read(start[0], &byte, 1) < 0 && errno == EINTR) {
    }
    try {
      ensure_chains();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ensure_chains: %s\n", e.what());
      ::_exit(1);
    }
    ::_exit(0);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class FirewallHost : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "changing netfilter rules needs root";
    m_lock = ::open("/run/berth-firewall-test.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(m_lock, 0);
    ASSERT_EQ(::flock(m_lock, LOCK_EX), 0);
    bridge = "berth" + random_hex(8);
    other_bridge = "berth" + random_hex(8);
    const std::string third = random_hex(2);
    network = NetworkRules{"test" + random_hex(12), bridge,
                           fmt::format("10.213.{}.0/24", 100 + std::stoi(third, nullptr, 16) % 150),
                           false};
    container = "test" + random_hex(12);
    container_ip = network.subnet.substr(0, network.subnet.size() - 4) + "2";
    ports = {{"127.0.0.1", 28080, "tcp", container_ip, 80}, {"", 25353, "udp", container_ip, 53}};
  }

  /// For a test that removes berth's chains: it runs in a network namespace of its own, with
  /// its own netfilter tables, so that berth's other users on the host (other tests running
  /// at once) keep theirs. TearDown returns to the host's.
  void isolate() {
    m_host_netns = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(m_host_netns, 0);
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    ASSERT_EQ(std::system("ip link set lo up"), 0);
  }

  void TearDown() override {
    if (m_host_netns >= 0) {
      remove_chains_if_unused();  // also forgets, for this process, that they existed
      ::setns(m_host_netns, CLONE_NEWNET);
      ::close(m_host_netns);
    }
    if (m_lock < 0) return;
    for (const auto& owner : {network.id, container, container + "ff", other_network_id}) {
      try {
        if (!owner.empty()) remove_owner(owner);
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    }
    try {
      remove_chains_if_unused();
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
    ::close(m_lock);
  }

  std::string bridge;
  std::string other_bridge;
  std::string other_network_id = "test" + random_hex(12);
  NetworkRules network;
  std::string container;
  std::string container_ip;
  std::vector<PortRule> ports;

 private:
  int m_lock = -1;
  int m_host_netns = -1;
};

TEST_F(FirewallHost, AppliedRulesReadBackAsGenerated) {
  ensure_chains();
  const std::string rules = network_batch(network, true);
  const std::string published = ports_batch(container, bridge, ports, true);
  apply(rules);
  apply(published);
  const auto dnat = chain_rules("nat", "BERTH-DNAT");
  const auto postrouting = chain_rules("nat", "BERTH-POSTROUTING");
  const auto forward = chain_rules("filter", "BERTH-FORWARD");
  // Exactly as generated, so that a deleting batch and remove_owner() find them, in order.
  EXPECT_TRUE(contains_run(dnat, added_rules(published, "nat")));
  EXPECT_TRUE(contains_run(postrouting, added_rules(rules, "nat")));
  EXPECT_TRUE(contains_run(forward, added_rules(rules, "filter")));
  EXPECT_TRUE(contains_run(forward, added_rules(published, "filter")));
  expect_one_jump_each();

  // Deleting batches take exactly those away.
  apply(ports_batch(container, bridge, ports, false));
  apply(network_batch(network, false));
  auto tagged = [](const std::string& owner) {
    std::vector<std::string> found;
    for (const auto& [table, chain] : {std::pair{"nat", "BERTH-DNAT"},
                                       {"nat", "BERTH-POSTROUTING"},
                                       {"filter", "BERTH-FORWARD"}}) {
      for (const auto& rule : chain_rules(table, chain)) {
        if (rule.find("\"berth:" + owner + "\"") != std::string::npos) found.push_back(rule);
      }
    }
    return found;
  };
  EXPECT_THAT(tagged(network.id), ::testing::IsEmpty());
  EXPECT_THAT(tagged(container), ::testing::IsEmpty());
}

/// The tests' rules in berth's chains, one string.
std::string berth_rules() {
  std::string text;
  for (const auto& [table, chain] : {std::pair{"nat", "BERTH-DNAT"},
                                     {"nat", "BERTH-POSTROUTING"},
                                     {"filter", "BERTH-FORWARD"}}) {
    for (const auto& rule : chain_rules(table, chain)) {
      if (!foreign_berth_rule(rule)) text += rule + "\n";
    }
  }
  return text;
}

TEST_F(FirewallHost, RemoveOwnerRemovesExactlyItsRules) {
  ensure_chains();
  const NetworkRules other{other_network_id, other_bridge, "10.213.99.0/24", true};
  // A second container whose id starts with the first one's: only the exact tag counts.
  const std::string longer = container + "ff";
  const std::vector<PortRule> other_ports{{"", 28081, "tcp", container_ip, 81}};
  apply(network_batch(network, true));
  apply(network_batch(other, true));
  apply(ports_batch(container, bridge, ports, true));
  apply(ports_batch(longer, bridge, other_ports, true));
  const std::string before = berth_rules();

  remove_owner(container);
  const std::string after = berth_rules();
  for (const auto& rule : added_rules(ports_batch(container, bridge, ports, true), "nat")) {
    EXPECT_THAT(after, Not(HasSubstr(rule + "\n")));
  }
  for (const auto& rule : added_rules(ports_batch(container, bridge, ports, true), "filter")) {
    EXPECT_THAT(after, Not(HasSubstr(rule + "\n")));
  }
  // Everything else is still there, in the same order.
  std::string expected = before;
  for (const auto& line : lines_of(before)) {
    if (line.find("\"berth:" + container + "\"") != std::string::npos) {
      expected = replace_all(expected, line + "\n", "");
    }
  }
  EXPECT_EQ(after, expected);
  EXPECT_THAT(after, HasSubstr("\"berth:" + longer + "\""));
  EXPECT_THAT(after, HasSubstr("\"berth:" + network.id + "\""));
  EXPECT_THAT(after, HasSubstr("\"berth:" + other.id + "\""));

  remove_owner(container);  // nothing left: nothing to do
  EXPECT_EQ(berth_rules(), after);
  remove_owner(network.id);
  remove_owner(other.id);
  remove_owner(longer);
  EXPECT_THAT(berth_rules(), Not(HasSubstr("berth:test")));
}

TEST_F(FirewallHost, RemoveChainsIfUnusedRestoresTheOriginalState) {
  isolate();  // the host's chains may be going or coming with other berths' containers
  const std::string original = normalized_snapshot();
  ensure_chains();
  apply(network_batch(network, true));
  apply(ports_batch(container, bridge, ports, true));
  EXPECT_NE(normalized_snapshot(), original);
  remove_owner(container);
  remove_owner(network.id);
  remove_chains_if_unused();
  EXPECT_EQ(normalized_snapshot(), original);
}

TEST_F(FirewallHost, ChainsInUseStay) {
  ensure_chains();
  apply(ports_batch(container, bridge, ports, true));
  remove_chains_if_unused();
  expect_one_jump_each();
  EXPECT_TRUE(contains_run(chain_rules("nat", "BERTH-DNAT"),
                           added_rules(ports_batch(container, bridge, ports, true), "nat")));
}

TEST_F(FirewallHost, EnsureChainsIsIdempotentAndFlushesNothing) {
  remove_chains_if_unused();  // also forgets that this process saw the chains
  ensure_chains();
  apply(ports_batch(container, bridge, ports, true));
  const std::string rules = berth_rules();
  // Two more berths, one after the other, each checking for itself.
  for (int i = 0; i < 2; ++i) {
    int start[2];
    ASSERT_EQ(::pipe(start), 0);
    const pid_t child = ensure_chains_in_child(start);
    ::close(start[1]);
    ::close(start[0]);
    EXPECT_EQ(wait_for(child), 0);
  }
  ensure_chains();
  expect_one_jump_each();
  EXPECT_EQ(berth_rules(), rules);
}

TEST_F(FirewallHost, EnsureChainsConcurrently) {
  isolate();
  remove_chains_if_unused();
  ASSERT_FALSE(chain_exists("nat", "BERTH-DNAT"));
  int start[2];
  ASSERT_EQ(::pipe(start), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < 6; ++i) children.push_back(ensure_chains_in_child(start));
  ::close(start[0]);
  ::close(start[1]);  // all start at once
  for (const pid_t child : children) EXPECT_EQ(wait_for(child), 0);
  expect_one_jump_each();
}

TEST_F(FirewallHost, ApplyMakesChainsAnotherBerthRemoved) {
  isolate();
  remove_chains_if_unused();
  ASSERT_FALSE(chain_exists("nat", "BERTH-DNAT"));
  // This process ensured the chains before; another berth removed them since.
  ensure_chains();
  ASSERT_EQ(shell("iptables-restore --noflush <<'EOF'\n"
                  "*nat\n-D PREROUTING -m addrtype --dst-type LOCAL -j BERTH-DNAT\n"
                  "-D OUTPUT -m addrtype --dst-type LOCAL -j BERTH-DNAT\n"
                  "-D POSTROUTING -j BERTH-POSTROUTING\n-X BERTH-DNAT\n-X BERTH-POSTROUTING\n"
                  "COMMIT\n*filter\n-D FORWARD -j BERTH-FORWARD\n-X BERTH-FORWARD\nCOMMIT\n"
                  "EOF")
                .status,
            0);
  apply(network_batch(network, true));
  expect_one_jump_each();
  EXPECT_TRUE(contains_run(chain_rules("filter", "BERTH-FORWARD"),
                           added_rules(network_batch(network, true), "filter")));
}

TEST_F(FirewallHost, ApplyAfterAPartialFailureAddsNothingTwice) {
  isolate();
  ensure_chains();
  remove_chains_if_unused();
  ASSERT_FALSE(chain_exists("filter", "BERTH-FORWARD"));
  ensure_chains();
  // Only the filter chain gone: the batch's *nat section applies, its *filter section fails.
  ASSERT_EQ(shell("printf '*filter\\n-D FORWARD -j BERTH-FORWARD\\n-X BERTH-FORWARD\\nCOMMIT\\n'"
                  " | iptables-restore --noflush")
                .status,
            0);
  const std::string published = ports_batch(container, bridge, ports, true);
  apply(published);
  expect_one_jump_each();
  const auto dnat = chain_rules("nat", "BERTH-DNAT");
  for (const auto& rule : added_rules(published, "nat")) EXPECT_EQ(count(dnat, rule), 1u) << rule;
  EXPECT_TRUE(
      contains_run(chain_rules("filter", "BERTH-FORWARD"), added_rules(published, "filter")));
}

TEST_F(FirewallHost, FailuresAreOneLineNamingTheBatchLine) {
  ensure_chains();
  EXPECT_EQ(error_of([] {
              apply("*filter\n-A BERTH-FORWARD -p tcp -m tcp --dport 99999 -j ACCEPT\nCOMMIT\n");
            }),
            "iptables-restore: invalid port/service `99999' specified; Error occurred at line: 2 "
            "[line 2: -A BERTH-FORWARD -p tcp -m tcp --dport 99999 -j ACCEPT]");
  EXPECT_EQ(
      error_of([&] { apply(ports_batch(container, bridge, ports, false)); }),
      fmt::format("iptables-restore: line 2 failed: Bad rule (does a matching rule exist in "
                  "that chain?). [line 2: {}]",
                  replace_all(added_rules(ports_batch(container, bridge, ports, true), "nat")[0],
                              "-A ", "-D ")));
}

bool fs_missing(const std::string& program) {
  return shell("command -v " + program + " >/dev/null").status != 0;
}

/// A TCP port nothing on the host listens on now (bind succeeds) and no iptables rule names.
std::uint16_t free_port() {
  const std::string rules = shell("iptables-save 2>/dev/null").text;
  for (;;) {
    const auto port =
        static_cast<std::uint16_t>(20000 + std::stoul(random_hex(4), nullptr, 16) % 40000);
    if (rules.find(fmt::format("--dport {} ", port)) != std::string::npos) continue;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    if (bound) return port;
  }
}

/// A 10.213.x.0/24 prefix (x in 100-249) that no route on the host touches.
std::string free_prefix() {
  const std::string routes = shell("ip -o route").text;
  for (;;) {
    const std::string prefix =
        fmt::format("10.213.{}", 100 + std::stoul(random_hex(2), nullptr, 16) % 150);
    if (routes.find(prefix + ".") == std::string::npos) return prefix;
  }
}

/// A bridge with two namespaces on it (a server running busybox httpd, a client), removed with
/// everything in it when the object dies.
class TestNetwork {
 public:
  TestNetwork(std::string prefix, std::string bridge)
      : m_prefix(std::move(prefix)), m_bridge(std::move(bridge)), m_tag(random_hex(6)) {}
  ~TestNetwork() {
    if (m_server > 0) {
      ::kill(m_server, SIGTERM);
      ::waitpid(m_server, nullptr, 0);
    }
    for (const auto& ns : m_namespaces) shell("ip netns del " + ns + " 2>/dev/null");
    shell("ip link del " + m_bridge + " 2>/dev/null");
  }
  TestNetwork(const TestNetwork&) = delete;
  TestNetwork& operator=(const TestNetwork&) = delete;

  /// The bridge at <prefix>.1 with route_localnet=1 (what the network code does for published
  /// 127.0.0.1 ports); false when a command failed.
  bool make_bridge() {
    return shell(fmt::format("ip link add {0} type bridge && ip addr add {1}.1/24 dev {0} && "
                             "ip link set {0} up && "
                             "echo 1 > /proc/sys/net/ipv4/conf/{0}/route_localnet",
                             m_bridge, m_prefix))
               .status == 0;
  }
  /// A namespace at <prefix>.<host> on the bridge, default route through <prefix>.1.
  std::string add_namespace(int host) {
    const std::string ns = fmt::format("berthfwt{}{}", m_tag, host);
    m_namespaces.push_back(ns);
    const std::string veth = fmt::format("bfw{}{}", m_tag, host);
    const int status =
        shell(
            fmt::format("ip netns add {0} && ip link add {1} type veth peer name eth0 netns {0} && "
                        "ip link set {1} master {2} up && ip -n {0} link set lo up && "
                        "ip -n {0} addr add {3}.{4}/24 dev eth0 && ip -n {0} link set eth0 up && "
                        "ip -n {0} route add default via {3}.1",
                        ns, veth, m_bridge, m_prefix, host))
            .status;
    return status == 0 ? ns : "";
  }
  /// busybox httpd on port 8080 in `ns`, serving `dir`.
  void serve(const std::string& ns, const std::string& dir) {
    m_server = ::fork();
    if (m_server == 0) {
      ::execlp("ip", "ip", "netns", "exec", ns.c_str(), "busybox", "httpd", "-f", "-p", "8080",
               "-h", dir.c_str(), nullptr);
      ::_exit(127);
    }
  }

 private:
  std::string m_prefix;
  std::string m_bridge;
  std::string m_tag;
  std::vector<std::string> m_namespaces;
  pid_t m_server = -1;
};

/// What `command` prints on success, retried for up to 5 s while the server starts.
std::string fetch(const std::string& command) {
  Output out;
  for (int i = 0; i < 25; ++i) {
    out = shell(command + " 2>/dev/null");
    if (out.status == 0) return out.text;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return fmt::format("(failed with status {})", out.status);
}

TEST_F(FirewallHost, PublishedPortsAreReachable) {
  if (fs_missing("busybox") || fs_missing("curl")) GTEST_SKIP() << "needs busybox and curl";
  const std::string prefix = free_prefix();
  network.subnet = prefix + ".0/24";
  TestNetwork net(prefix, bridge);
  ASSERT_TRUE(net.make_bridge());
  const std::string server = net.add_namespace(2);
  const std::string client = net.add_namespace(3);
  ASSERT_NE(server, "");
  ASSERT_NE(client, "");
  testing::TempDir site;
  site.write("index.html", "hello from berth\n");
  net.serve(server, site.path());
  // Forwarding on, as berth turns it on when it activates a network (a reboot or another test
  // may have left it off): the hairpin and the other network's traffic are routed.
  ASSERT_EQ(shell("echo 1 > /proc/sys/net/ipv4/ip_forward").status, 0);

  const std::uint16_t loopback_port = free_port();
  const std::uint16_t any_port = free_port();
  ensure_chains();
  apply(network_batch(network, true));
  apply(ports_batch(container, bridge,
                    {{"127.0.0.1", loopback_port, "tcp", prefix + ".2", 8080},
                     {"", any_port, "tcp", prefix + ".2", 8080}},
                    true));
  // The host through 127.0.0.1 (DNAT in OUTPUT, the 127.0.0.0/8 masquerade).
  EXPECT_EQ(fetch(fmt::format("curl -s --max-time 2 http://127.0.0.1:{}/", loopback_port)),
            "hello from berth\n");
  // The host through the bridge's address.
  EXPECT_EQ(fetch(fmt::format("curl -s --max-time 2 http://{}.1:{}/", prefix, any_port)),
            "hello from berth\n");
  // Hairpin: a container of the same network through the gateway.
  EXPECT_EQ(fetch(fmt::format("ip netns exec {} curl -s --max-time 2 http://{}.1:{}/", client,
                              prefix, any_port)),
            "hello from berth\n");
  // Published on 127.0.0.1 only: not through the gateway.
  EXPECT_NE(shell(fmt::format("ip netns exec {} curl -s --max-time 1 http://{}.1:{}/ "
                              "2>/dev/null",
                              client, prefix, loopback_port))
                .status,
            0);

  // A container of another berth network reaches neither the server nor its published port.
  std::string other_prefix = free_prefix();
  while (other_prefix == prefix) other_prefix = free_prefix();
  TestNetwork other(other_prefix, other_bridge);
  ASSERT_TRUE(other.make_bridge());
  const std::string stranger = other.add_namespace(3);
  ASSERT_NE(stranger, "");
  const NetworkRules other_rules{other_network_id, other_bridge, other_prefix + ".0/24", false};
  apply(network_batch(other_rules, true));
  const std::string direct =
      fmt::format("ip netns exec {} curl -s --max-time 1 http://{}.2:8080/", stranger, prefix);
  EXPECT_NE(shell(direct + " 2>/dev/null").status, 0);
  EXPECT_NE(shell(fmt::format("ip netns exec {} curl -s --max-time 1 http://{}.1:{}/ 2>/dev/null",
                              stranger, other_prefix, any_port))
                .status,
            0);
  // Without berth's rules the same request goes through (when FORWARD's policy lets it):
  // the refusals above were theirs.
  remove_owner(other_network_id);
  remove_owner(network.id);
  if (shell("iptables -S FORWARD | grep -qx -- '-P FORWARD ACCEPT'").status == 0) {
    EXPECT_EQ(fetch(direct), "hello from berth\n");
  }
}

}  // namespace
}  // namespace berth::network
