#include "network/firewall.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "util/error.h"
#include "util/fs.h"

extern char** environ;

namespace berth::network {

namespace {

// How `iptables-restore --noflush` (1.8.9, nf_tables) treats a chain line, measured on this
// host: `:CHAIN - [0:0]` for a user chain that already exists FLUSHES it (its rules are gone
// after the batch), exactly as the legacy backend does. So berth never writes chain lines:
// chains are created with `-N`, which fails the whole batch ("Chain already exists") instead
// of touching an existing chain, and only after iptables-save showed them missing, under a
// host-wide lock so that two berths do not both try.
// Deleting a chain that still holds a rule fails in the kernel ("CHAIN_DEL failed (Device or
// resource busy)"), which aborts the whole batch: remove_chains_if_unused() relies on that
// when a rule arrives between its check and its batch.

constexpr std::string_view k_dnat = "BERTH-DNAT";
constexpr std::string_view k_postrouting = "BERTH-POSTROUTING";
constexpr std::string_view k_forward = "BERTH-FORWARD";
/// Serialises the check-and-create of the chains and their removal between berth processes.
constexpr const char* k_lock_path = "/run/berth-iptables.lock";
/// Every berth bridge is "berth" + hex digits; iptables' interface wildcard.
constexpr std::string_view k_any_berth_bridge = "berth+";

struct OwnChain {
  std::string_view table;
  std::string_view name;
};
constexpr OwnChain k_chains[] = {{"nat", k_dnat}, {"nat", k_postrouting}, {"filter", k_forward}};

/// A jump from a built-in chain into berth's, as iptables-save prints it after "-A <from> ".
struct Jump {
  std::string_view table;
  std::string_view from;
  std::string_view rule;
  bool first;  // inserted at the head of `from` rather than appended
};
constexpr Jump k_jumps[] = {
    {"nat", "PREROUTING", "-m addrtype --dst-type LOCAL -j BERTH-DNAT", false},
    {"nat", "OUTPUT", "-m addrtype --dst-type LOCAL -j BERTH-DNAT", false},
    {"nat", "POSTROUTING", "-j BERTH-POSTROUTING", false},
    // First, so that a FORWARD policy of DROP, or another engine's DROP rule, does not stop
    // berth's traffic. A jump found further down (another engine inserted before it later)
    // is left where it is: moving it would be a second, non-atomic change of someone's chain.
    {"filter", "FORWARD", "-j BERTH-FORWARD", true},
};

/// Set by ensure_chains() once it has seen or made the chains, so that later calls in the
/// same process cost nothing; apply() copes with chains that vanished since (another berth
/// removed them as unused) by making them again.
std::atomic<bool> g_chains_ensured{false};

// ---- validation: everything below goes into iptables-restore's line-based input ----

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

const std::string& checked_owner(const std::string& owner) {
  if (owner.empty() || owner.size() > 200 || !std::ranges::all_of(owner, is_name_char)) {
    throw Error(fmt::format("firewall rule owner \"{}\": not a berth id", owner));
  }
  return owner;
}

const std::string& checked_interface(const std::string& name) {
  // IFNAMSIZ - 1; no '+', which iptables would take as a wildcard.
  if (name.empty() || name.size() > 15 || !std::ranges::all_of(name, is_name_char)) {
    throw Error(fmt::format("firewall rules: \"{}\" is not an interface name", name));
  }
  return name;
}

std::optional<std::uint32_t> parse_ipv4(const std::string& text) {
  in_addr address{};
  if (::inet_pton(AF_INET, text.c_str(), &address) != 1) return std::nullopt;
  return ntohl(address.s_addr);
}

std::string format_ipv4(std::uint32_t address) {
  return fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 0xff, (address >> 8) & 0xff,
                     address & 0xff);
}

std::string checked_ipv4(const std::string& text, std::string_view what) {
  const auto address = parse_ipv4(text);
  if (!address)
    throw Error(fmt::format("firewall rules: {} \"{}\" is not an IPv4 address", what, text));
  return format_ipv4(*address);
}

/// The subnet with its host bits cleared, as iptables prints it ("10.1.2.3/24" ->
/// "10.1.2.0/24"), so that generated rules read the same as iptables-save's.
std::string checked_subnet(const std::string& text) {
  const auto slash = text.find('/');
  const auto address = parse_ipv4(text.substr(0, slash));
  int prefix = -1;
  if (slash != std::string::npos && slash + 1 < text.size() && text.size() - slash <= 3 &&
      std::all_of(text.begin() + static_cast<long>(slash) + 1, text.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    prefix = std::stoi(text.substr(slash + 1));
  }
  if (!address || prefix < 0 || prefix > 32) {
    throw Error(fmt::format("firewall rules: \"{}\" is not an IPv4 subnet", text));
  }
  const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return fmt::format("{}/{}", format_ipv4(*address & mask), prefix);
}

const std::string& checked_protocol(const std::string& protocol) {
  if (protocol != "tcp" && protocol != "udp") {
    throw Error(fmt::format("firewall rules: protocol \"{}\" is not tcp or udp", protocol));
  }
  return protocol;
}

std::uint16_t checked_port(std::uint16_t port, std::string_view what) {
  if (port == 0) throw Error(fmt::format("firewall rules: {} 0", what));
  return port;
}

// ---- running iptables ----

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : m_fd(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      m_fd = std::exchange(other.m_fd, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return m_fd; }
  void reset() {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
  }

 private:
  int m_fd;
};

struct Output {
  int status = -1;  // the exit code; 128 + signal when killed
  std::string out;
  std::string err;
};

/// The program's path: $PATH first, then the sbin directories (not in every user's $PATH).
std::string program_path(const std::string& name) {
  if (const auto found = fs::find_executable(name)) return *found;
  for (const char* dir : {"/usr/sbin/", "/sbin/"}) {
    if (::access((dir + name).c_str(), X_OK) == 0) return dir + name;
  }
  throw Error(fmt::format("{}: not found (it comes with the iptables package)", name));
}

/// Runs `args` with `input` on its stdin and collects stdout and stderr. stdin is a socket,
/// not a pipe, so that writing to a program that already exited gives EPIPE through
/// MSG_NOSIGNAL rather than a SIGPIPE that would kill berth.
Output run(const std::vector<std::string>& args, std::string_view input) {
  const std::string program = program_path(args.front());
  auto fail = [&](const char* step) {
    return Error(fmt::format("{}: {}: {}", args.front(), step, std::strerror(errno)));
  };
  int in[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) throw fail("socketpair");
  UniqueFd in_parent(in[0]), in_child(in[1]);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw fail("pipe");
  UniqueFd out_parent(out[0]), out_child(out[1]);
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0) throw fail("pipe");
  UniqueFd err_parent(err[0]), err_child(err[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_child.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_child.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_child.get(), STDERR_FILENO);
  // A signal berth blocks or ignores (SIGPIPE) would otherwise stay so in iptables.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned =
      ::posix_spawn(&pid, program.c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) {
    errno = spawned;
    throw fail("cannot run");
  }
  in_child.reset();
  out_child.reset();
  err_child.reset();

  Output result;
  std::size_t written = 0;
  if (input.empty()) in_parent.reset();
  while (out_parent.get() >= 0 || err_parent.get() >= 0) {
    pollfd fds[3] = {{in_parent.get(), POLLOUT, 0},
                     {out_parent.get(), POLLIN, 0},
                     {err_parent.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;  // cannot happen with valid descriptors; the child is still collected below
    }
    if (fds[0].revents != 0) {
      const ssize_t n = ::send(in_parent.get(), input.data() + written, input.size() - written,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) written += static_cast<std::size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
        in_parent.reset();  // EOF for the program; or it stopped reading: its stderr says why
      }
    }
    for (auto [index, fd, text] :
         {std::tuple{1, &out_parent, &result.out}, std::tuple{2, &err_parent, &result.err}}) {
      if (fds[index].revents == 0) continue;
      char buffer[16384];
      const ssize_t n = ::read(fd->get(), buffer, sizeof buffer);
      if (n > 0) {
        text->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fd->reset();
      }
    }
  }
  in_parent.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw fail("waitpid");
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

/// The first batch line number iptables-restore names ("line 3 failed", "line 3: ...",
/// "Error occurred at line: 3"); 0 when none.
std::size_t failed_line(std::string_view message) {
  for (std::string_view key : {"line ", "line: "}) {
    for (auto at = message.find(key); at != std::string_view::npos;
         at = message.find(key, at + 1)) {
      std::size_t end = at + key.size();
      std::size_t number = 0;
      while (end < message.size() && message[end] >= '0' && message[end] <= '9') {
        number = number * 10 + static_cast<std::size_t>(message[end++] - '0');
      }
      if (number > 0) return number;
    }
  }
  return 0;
}

struct RestoreFailure {
  std::string message;   // one line
  std::size_t line = 0;  // of the batch, 1-based; 0 when iptables did not say
};

/// iptables-restore's complaint in one line: its lines joined, the version banner and the
/// usage hint dropped, and the batch line it names quoted, since "line 3 failed" alone says
/// little once the input is gone.
RestoreFailure restore_failure(const Output& output, const std::string& batch) {
  std::string message;
  for (auto line : lines_of(output.err)) {
    line = trimmed(line);
    if (line.empty() || line.starts_with("Try `")) continue;
    std::string part(line);
    // "iptables-restore v1.8.9 (nf_tables): text" -> "iptables-restore: text"
    if (part.starts_with("iptables-restore v")) {
      const auto colon = part.find("): ");
      if (colon == std::string::npos) continue;  // the banner alone on its line
      part = "iptables-restore: " + part.substr(colon + 3);
    }
    if (!message.empty()) message += "; ";
    message += part;
  }
  if (message.empty()) {
    message = fmt::format("iptables-restore exited with status {}", output.status);
  } else if (!message.starts_with("iptables-restore")) {
    message = "iptables-restore: " + message;
  }
  const auto lines = lines_of(batch);
  std::size_t line = failed_line(message);
  if (line > lines.size()) line = 0;
  if (line > 0) message += fmt::format(" [line {}: {}]", line, trimmed(lines[line - 1]));
  return {message, line};
}

/// Feeds `batch` to iptables-restore without flushing anything. Each table's section is a
/// transaction of its own (measured: a failure in *filter leaves the *nat section before it
/// applied), so a failure names the line, from which the caller knows what did apply.
/// `-w` waits for the xtables lock instead of failing; the nf_tables backend takes no such
/// lock (the kernel serialises transactions) and accepts the flag for compatibility.
std::optional<RestoreFailure> try_restore(const std::string& batch) {
  const Output output = run({"iptables-restore", "--noflush", "-w"}, batch);
  if (output.status == 0) return std::nullopt;
  return restore_failure(output, batch);
}

void restore(const std::string& batch) {
  if (const auto failure = try_restore(batch)) throw Error(failure->message);
}

/// The batch from the start of the table section holding `line` (1-based): what a failure
/// there left unapplied.
std::string sections_from(const std::string& batch, std::size_t line) {
  std::size_t section_start = 0;
  std::size_t offset = 0;
  std::size_t number = 1;
  for (const auto text : lines_of(batch)) {
    if (number > line) break;
    if (text.starts_with('*')) section_start = offset;
    offset += text.size() + 1;
    ++number;
  }
  return batch.substr(section_start);
}

/// What iptables-save shows of the tables berth uses: per table, its chains and its rules
/// ("-A CHAIN ..." lines, as printed).
struct Table {
  std::set<std::string, std::less<>> chains;
  std::vector<std::string> rules;
};
using Ruleset = std::map<std::string, Table, std::less<>>;

Ruleset parse_save(std::string_view text) {
  Ruleset ruleset;
  Table* table = nullptr;
  for (auto line : lines_of(text)) {
    line = trimmed(line);
    if (line.starts_with('*')) {
      table = &ruleset[std::string(line.substr(1))];
    } else if (table == nullptr || line.empty() || line.starts_with('#')) {
      continue;
    } else if (line.starts_with(':')) {
      table->chains.emplace(line.substr(1, line.find(' ') - 1));
    } else if (line.starts_with("-A ")) {
      table->rules.emplace_back(line);
    }
  }
  return ruleset;
}

Ruleset save() {
  const Output output = run({"iptables-save"}, {});
  if (output.status != 0) {
    const std::string first_line = output.err.substr(0, output.err.find('\n'));
    const std::string_view message = trimmed(first_line);
    throw Error(fmt::format("iptables-save: {}",
                            message.empty() ? fmt::format("exited with status {}", output.status)
                                            : std::string(message)));
  }
  return parse_save(output.out);
}

bool has_chain(const Ruleset& ruleset, std::string_view table, std::string_view chain) {
  const auto found = ruleset.find(table);
  return found != ruleset.end() && found->second.chains.contains(chain);
}

std::string jump_rule(const Jump& jump) {
  return fmt::format("-A {} {}", jump.from, jump.rule);
}

std::size_t jump_count(const Ruleset& ruleset, const Jump& jump) {
  const auto found = ruleset.find(jump.table);
  if (found == ruleset.end()) return 0;
  return static_cast<std::size_t>(std::ranges::count(found->second.rules, jump_rule(jump)));
}

/// The rules in berth's chains.
std::size_t own_rule_count(const Ruleset& ruleset) {
  std::size_t count = 0;
  for (const auto& chain : k_chains) {
    const auto found = ruleset.find(chain.table);
    if (found == ruleset.end()) continue;
    const std::string prefix = fmt::format("-A {} ", chain.name);
    count += static_cast<std::size_t>(std::ranges::count_if(
        found->second.rules, [&](const std::string& rule) { return rule.starts_with(prefix); }));
  }
  return count;
}

/// A batch with one section per table that has lines ("" when none has).
std::string batch_of(const std::map<std::string, std::vector<std::string>>& lines_by_table) {
  std::string batch;
  // nat before filter, as iptables-save orders them; any other table after.
  for (const std::string_view table : {"nat", "filter"}) {
    const auto found = lines_by_table.find(std::string(table));
    if (found == lines_by_table.end() || found->second.empty()) continue;
    batch += fmt::format("*{}\n", table);
    for (const auto& line : found->second) batch += line + "\n";
    batch += "COMMIT\n";
  }
  return batch;
}

/// The batch making the chains and jumps `ruleset` lacks; "" when nothing is missing.
std::string creation_batch(const Ruleset& ruleset) {
  std::map<std::string, std::vector<std::string>> lines;
  for (const auto& chain : k_chains) {
    if (!has_chain(ruleset, chain.table, chain.name)) {
      lines[std::string(chain.table)].push_back(fmt::format("-N {}", chain.name));
    }
  }
  for (const auto& jump : k_jumps) {
    if (jump_count(ruleset, jump) == 0) {
      lines[std::string(jump.table)].push_back(
          jump.first ? fmt::format("-I {} 1 {}", jump.from, jump.rule) : jump_rule(jump));
    }
  }
  return batch_of(lines);
}

/// An exclusive flock on k_lock_path for the object's life.
class HostLock {
 public:
  HostLock() : m_fd(::open(k_lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (m_fd.get() < 0) {
      throw Error(fmt::format("{}: {}", k_lock_path, std::strerror(errno)));
    }
    while (::flock(m_fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR)
        throw Error(fmt::format("{}: flock: {}", k_lock_path, std::strerror(errno)));
    }
  }

 private:
  UniqueFd m_fd;  // closing it releases the lock
};

/// Creates what is missing, under the lock: whoever comes second finds it made.
void create_missing_chains() {
  HostLock lock;
  const std::string batch = creation_batch(save());
  if (!batch.empty()) restore(batch);
}

/// Quoted, as iptables-nft 1.8.9 prints every comment, so that generated rules read exactly as
/// iptables-save shows them.
std::string tag(const std::string& owner) {
  return fmt::format("-m comment --comment \"berth:{}\"", owner);
}

}  // namespace

std::string network_batch(const NetworkRules& rules, bool add) {
  const std::string op = add ? "-A" : "-D";
  const std::string& br = checked_interface(rules.bridge);
  const std::string subnet = checked_subnet(rules.subnet);
  const std::string comment = tag(checked_owner(rules.id));
  std::map<std::string, std::vector<std::string>> lines;

  // nat: three masquerades on disjoint traffic (out of the bridge or into it), so their order
  // does not matter.
  auto& nat = lines["nat"];
  if (!rules.internal) {
    // Outbound: the containers' traffic leaves with the host's address.
    nat.push_back(fmt::format("{} {} -s {} ! -o {} {} -j MASQUERADE", op, k_postrouting, subnet, br,
                              comment));
  }
  // Published 127.0.0.1 ports: the host's loopback source must not reach the container (it
  // would answer to its own loopback); with route_localnet=1 on the bridge (RUNTIME-FACTS §3.4).
  nat.push_back(
      fmt::format("{} {} -s 127.0.0.0/8 -o {} {} -j MASQUERADE", op, k_postrouting, br, comment));
  // Hairpin: a container reaching a published port of its own network through a host address
  // is DNATed back into the bridge; without the masquerade the server would answer it directly
  // and the client would drop the reply from an address it never called.
  nat.push_back(fmt::format("{} {} -s {} -d {} -o {} -m conntrack --ctstate DNAT {} -j MASQUERADE",
                            op, k_postrouting, subnet, subnet, br, comment));

  // filter: BERTH-FORWARD holds every network's rules, each network's appended as a block when
  // it is activated, and its containers' port accepts after it. A packet between two berth
  // bridges reaches the earlier of the two blocks first, and each block drops both directions
  // before it accepts anything, so the isolation holds whatever the order of the networks;
  // every accept names this bridge, so no block accepts another network's traffic.
  auto& filter = lines["filter"];
  auto forward = [&](const std::string& match, std::string_view target) {
    filter.push_back(fmt::format("{} {} {} {} -j {}", op, k_forward, match, comment, target));
  };
  // Containers of the network with each other (bridged traffic passes FORWARD with
  // br_netfilter on, RUNTIME-FACTS §3.7). First: the bridge itself matches "berth+" below.
  forward(fmt::format("-i {} -o {}", br, br), "ACCEPT");
  if (rules.internal) {
    // Nothing leaves the bridge and nothing enters it, published ports included (the host's
    // own connections to them do not pass FORWARD and still work).
    forward(fmt::format("-i {} ! -o {}", br, br), "DROP");
    forward(fmt::format("! -i {} -o {}", br, br), "DROP");
  } else {
    // Isolation from every other berth network, published ports included, as Docker does.
    forward(fmt::format("-i {} -o {}", br, k_any_berth_bridge), "DROP");
    forward(fmt::format("-i {} -o {}", k_any_berth_bridge, br), "DROP");
    // A packet that came in from outside addressed to 127.0.0.0/8 and was DNATed to a
    // container (a published 127.0.0.1 port) would otherwise be forwarded: DNAT in
    // PREROUTING happens before the kernel's martian check, which then sees the container's
    // address (CVE-2020-8558). The host's own connections never pass FORWARD.
    forward(fmt::format("-o {} -m conntrack --ctorigdst 127.0.0.0/8", br), "DROP");
    // Out to anywhere else (the "! -o berth+" keeps the rule right on its own).
    forward(fmt::format("-i {} ! -o {}", br, k_any_berth_bridge), "ACCEPT");
    // In: replies, and connections to published ports (DNATed by BERTH-DNAT).
    forward(fmt::format("-o {} -m conntrack --ctstate RELATED,ESTABLISHED", br), "ACCEPT");
    forward(fmt::format("-o {} -m conntrack --ctstate DNAT", br), "ACCEPT");
    // Anything else entering the bridge falls through to the rest of FORWARD and its policy.
  }
  return batch_of(lines);
}

std::string ports_batch(const std::string& owner, const std::string& bridge,
                        const std::vector<PortRule>& ports, bool add) {
  const std::string op = add ? "-A" : "-D";
  const std::string comment = tag(checked_owner(owner));
  const std::string& br = checked_interface(bridge);
  std::map<std::string, std::vector<std::string>> lines;
  for (const auto& port : ports) {
    const std::string& protocol = checked_protocol(port.protocol);
    const std::string container_ip = checked_ipv4(port.container_ip, "container address");
    const auto host_port = checked_port(port.host_port, "host port");
    const auto container_port = checked_port(port.container_port, "container port");
    std::string destination;
    if (!port.host_ip.empty() && port.host_ip != "0.0.0.0") {
      destination = fmt::format("-d {}/32 ", checked_ipv4(port.host_ip, "host address"));
    }
    // No "! -i <bridge>" (Docker adds it only when its userland proxy serves the bridge's own
    // containers): here DNAT is the only path, and a container reaching a published port of its
    // own network through the gateway or any host address needs it (plus the hairpin
    // masquerade in network_batch()).
    lines["nat"].push_back(fmt::format(
        "{} {} {}-p {} -m {} --dport {} {} -j DNAT --to-destination {}:{}", op, k_dnat, destination,
        protocol, protocol, host_port, comment, container_ip, container_port));
    lines["filter"].push_back(
        fmt::format("{} {} -d {}/32 -o {} -p {} -m {} --dport {} {} -j ACCEPT", op, k_forward,
                    container_ip, br, protocol, protocol, container_port, comment));
  }
  return batch_of(lines);
}

void ensure_chains() {
  if (g_chains_ensured.load()) return;
  if (!creation_batch(save()).empty()) create_missing_chains();
  g_chains_ensured.store(true);
}

void apply(const std::string& batch) {
  if (batch.empty()) return;
  const auto failure = try_restore(batch);
  if (!failure) return;
  // The chains may have gone since ensure_chains() (another berth removed them as unused):
  // make them again and run what did not apply, under the lock so that they cannot go again
  // meanwhile. Only for additions: a deletion from a missing chain has nothing to delete.
  const bool adds = batch.starts_with("-A ") || batch.find("\n-A ") != std::string::npos;
  if (!adds || failure->line == 0) throw Error(failure->message);
  HostLock lock;
  const std::string creation = creation_batch(save());
  if (!creation.empty()) restore(creation);
  // Made again here, or by another berth between the failure and the lock: either way what
  // did not apply goes once more. A batch that fails for a reason of its own fails again,
  // with its own message.
  restore(sections_from(batch, failure->line));
}

void remove_owner(const std::string& owner) {
  checked_owner(owner);
  // As iptables-nft prints it ("berth:<owner>" quoted), or unquoted as the legacy backend
  // prints a comment without spaces; never a longer owner that starts with this one.
  const std::string quoted = fmt::format("--comment \"berth:{}\"", owner);
  const std::string bare = fmt::format("--comment berth:{}", owner);
  auto tagged = [&](std::string_view rule) {
    if (rule.find(quoted) != std::string_view::npos) return true;
    for (auto at = rule.find(bare); at != std::string_view::npos; at = rule.find(bare, at + 1)) {
      const auto end = at + bare.size();
      if (end == rule.size() || rule[end] == ' ') return true;
    }
    return false;
  };
  // Two attempts: a rule may vanish between the listing and the batch (another process
  // removing the same owner), which fails the whole batch; the second listing no longer has it.
  for (int attempt = 1;; ++attempt) {
    const Ruleset ruleset = save();
    std::map<std::string, std::vector<std::string>> lines;
    for (const auto& chain : k_chains) {
      const auto found = ruleset.find(chain.table);
      if (found == ruleset.end()) continue;
      const std::string prefix = fmt::format("-A {} ", chain.name);
      for (const auto& rule : found->second.rules) {
        if (rule.starts_with(prefix) && tagged(rule)) {
          lines[std::string(chain.table)].push_back("-D " + rule.substr(3));
        }
      }
    }
    const std::string batch = batch_of(lines);
    if (batch.empty()) return;
    try {
      restore(batch);
      return;
    } catch (const Error& e) {
      if (attempt == 2) wrap(e, fmt::format("removing the firewall rules of {}", owner));
    }
  }
}

void remove_chains_if_unused() {
  g_chains_ensured.store(false);
  HostLock lock;
  const Ruleset ruleset = save();
  if (own_rule_count(ruleset) != 0) return;
  std::map<std::string, std::vector<std::string>> lines;
  // The jumps first: a chain still jumped to cannot be deleted. One -D per copy.
  for (const auto& jump : k_jumps) {
    for (std::size_t i = jump_count(ruleset, jump); i > 0; --i) {
      lines[std::string(jump.table)].push_back(fmt::format("-D {} {}", jump.from, jump.rule));
    }
  }
  for (const auto& chain : k_chains) {
    if (has_chain(ruleset, chain.table, chain.name)) {
      lines[std::string(chain.table)].push_back(fmt::format("-X {}", chain.name));
    }
  }
  const std::string batch = batch_of(lines);
  if (batch.empty()) return;
  try {
    restore(batch);
  } catch (const Error&) {
    // apply() adds rules without the lock: one that came in after the listing makes the
    // kernel refuse the chain's deletion, and the whole batch with it. The chains are in
    // use again, which is fine.
    if (own_rule_count(save()) != 0) return;
    throw;
  }
}

}  // namespace berth::network
