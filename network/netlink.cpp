#include "network/netlink.h"

// Only <net/if.h>: together with <linux/if.h> (which libnl's headers do not pull in) it
// fails to compile on IFF_UP (RUNTIME-FACTS.md §4).
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include "util/error.h"

namespace berth::network {
namespace {

constexpr const char* kNetnsDir = "/run/netns";

/// The one-line error every public call throws: "<what>: <reason>".
[[noreturn]] void fail(const std::string& what, const std::string& reason) {
  throw Error(fmt::format("{}: {}", what, reason));
}

struct NlAddrPut {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
struct LinkPut {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct AddrPut {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct RoutePut {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
struct VethRelease {
  // Frees the host end and its peer together.
  void operator()(rtnl_link* l) const { rtnl_link_veth_release(l); }
};
using Address = std::unique_ptr<nl_addr, NlAddrPut>;
using Link = std::unique_ptr<rtnl_link, LinkPut>;

/// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return m_fd; }

 private:
  int m_fd;
};

/// A NETLINK_ROUTE socket that remembers the kernel's errno. libnl folds errnos into its own
/// codes and texts (EEXIST reads "Object exists"; ENODEV, ENOENT and ESRCH all read "Object
/// not found"); the kernel's own reason reads like every other berth error and keeps ENODEV
/// (nothing to delete) apart.
class Socket {
 public:
  Socket() {
    nl_cb* cb = nl_cb_alloc(NL_CB_DEFAULT);
    if (cb == nullptr) throw Error("netlink: out of memory");
    nl_cb_err(cb, NL_CB_CUSTOM, &Socket::on_error, this);
    m_sock = nl_socket_alloc_cb(cb);
    nl_cb_put(cb);  // the socket holds its own reference
    if (m_sock == nullptr) throw Error("netlink: out of memory");
  }
  ~Socket() { nl_socket_free(m_sock); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  /// Opens the kernel socket. Its network namespace is the calling thread's, for good.
  int connect() { return nl_connect(m_sock, NETLINK_ROUTE); }

  /// The socket for the next request; forgets the errno of the previous one.
  nl_sock* get() {
    m_errno = 0;
    return m_sock;
  }

  /// Why the last call failed, given libnl's return code.
  std::string reason(int nl_error) const {
    return m_errno != 0 ? std::strerror(m_errno) : nl_geterror(nl_error);
  }
  int kernel_errno() const { return m_errno; }

 private:
  static int on_error(sockaddr_nl*, nlmsgerr* error, void* self) {
    static_cast<Socket*>(self)->m_errno = -error->error;
    return NL_STOP;  // libnl then returns its own code for the same error
  }

  nl_sock* m_sock = nullptr;
  int m_errno = 0;
};

/// A socket in the host's (the calling thread's) network namespace.
void connect_here(Socket& socket, const std::string& what) {
  if (const int err = socket.connect(); err < 0) {
    fail(what, fmt::format("netlink socket: {}", nl_geterror(err)));
  }
}

/// Connects `socket` inside the namespace `netns_fd`. setns(2) moves only the calling thread,
/// and a netlink socket stays in the namespace it was made in; so a short-lived thread
/// enters the namespace and makes the socket, and no thread of berth is ever left inside.
void connect_in(Socket& socket, int netns_fd, const std::string& what) {
  int error = 0;
  int nl_error = 0;
  std::thread([&] {
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      error = errno;
    } else {
      nl_error = socket.connect();
    }
  }).join();
  if (error != 0) fail(what, fmt::format("enter the netns: {}", std::strerror(error)));
  if (nl_error < 0) fail(what, fmt::format("netlink socket: {}", nl_geterror(nl_error)));
}

void check_link_name(const std::string& name, const std::string& what) {
  if (name.empty() || name.size() >= IFNAMSIZ || name.find_first_of("/ \t\n:") != name.npos) {
    fail(what, fmt::format("\"{}\" is not a link name (1 to {} characters, no '/', ':' or space)",
                           name, IFNAMSIZ - 1));
  }
}

void check_netns_name(const std::string& name, const std::string& what) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != name.npos) {
    fail(what, fmt::format("\"{}\" is not a netns name", name));
  }
}

/// `text` as an address of `family` (AF_INET: "10.1.2.3/24", AF_LLC: a MAC).
Address parse_address(const std::string& text, int family, const std::string& what) {
  nl_addr* parsed = nullptr;
  if (const int err = nl_addr_parse(text.c_str(), family, &parsed); err < 0) {
    fail(what, fmt::format("invalid address \"{}\": {}", text, nl_geterror(err)));
  }
  Address address(parsed);
  // nl_addr_parse takes any family it recognises: "::1" parses with hint AF_INET.
  if (nl_addr_get_family(parsed) != family) {
    fail(what, fmt::format("invalid address \"{}\"", text));
  }
  return address;
}

/// The kernel's view of link `name` as seen by `socket`; null when there is none.
Link find_link(Socket& socket, const std::string& name, const std::string& what) {
  rtnl_link* link = nullptr;
  const int err = rtnl_link_get_kernel(socket.get(), 0, name.c_str(), &link);
  if (err < 0) {
    if (socket.kernel_errno() == ENODEV) return nullptr;
    fail(what, fmt::format("look up link {}: {}", name, socket.reason(err)));
  }
  return Link(link);
}

/// Brings `link` (a kernel object) up. rtnl_link_change builds the request from the kernel
/// object; a bare object with a name is not enough (RUNTIME-FACTS.md §4).
void set_up(Socket& socket, rtnl_link* link, const std::string& what) {
  Link change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (const int err = rtnl_link_change(socket.get(), link, change.get(), 0); err < 0) {
    fail(what, fmt::format("set {} up: {}", rtnl_link_get_name(link), socket.reason(err)));
  }
}

void add_address(Socket& socket, int ifindex, const std::string& text, nl_addr* local,
                 const std::string& what) {
  std::unique_ptr<rtnl_addr, AddrPut> address(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(address.get(), ifindex);
  // The prefix length comes with `local` ("/24"); no broadcast, as plain `ip addr add`.
  rtnl_addr_set_local(address.get(), local);
  if (const int err = rtnl_addr_add(socket.get(), address.get(), 0); err < 0) {
    fail(what, fmt::format("add address {}: {}", text, socket.reason(err)));
  }
}

void add_default_route(Socket& socket, int ifindex, const std::string& text, nl_addr* gateway,
                       const std::string& what, int flags = NLM_F_CREATE | NLM_F_EXCL) {
  const Address any = parse_address("0.0.0.0/0", AF_INET, what);
  std::unique_ptr<rtnl_route, RoutePut> route(rtnl_route_alloc());
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_dst(route.get(), any.get());
  rtnl_nexthop* hop = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(hop, ifindex);
  rtnl_route_nh_set_gateway(hop, gateway);
  rtnl_route_add_nexthop(route.get(), hop);  // the route owns it from here
  if (const int err = rtnl_route_add(socket.get(), route.get(), flags); err < 0) {
    fail(what, fmt::format("add default route via {}: {}", text, socket.reason(err)));
  }
}

/// Deletes link `name` seen by `socket`; false when there was none.
bool remove_link(Socket& socket, const std::string& name, const std::string& what) {
  Link link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  if (const int err = rtnl_link_delete(socket.get(), link.get()); err < 0) {
    if (socket.kernel_errno() == ENODEV) return false;
    fail(what, socket.reason(err));
  }
  return true;
}

/// /run/netns as `ip netns add` prepares it: a shared mount point, so that a netns unmounted
/// in one mount namespace is unmounted in all of them (and freed), and `ip netns` and berth
/// see each other's namespaces. Making the directory a mount point of its own keeps the
/// propagation from reaching the rest of /run.
void prepare_netns_dir(const std::string& what) {
  // Two threads of berth racing here would stack two bind mounts.
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  if (::mkdir(kNetnsDir, 0755) != 0 && errno != EEXIST) {
    fail(what, fmt::format("create {}: {}", kNetnsDir, std::strerror(errno)));
  }
  bool made_mount_point = false;
  while (::mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) != 0) {
    // EINVAL: not a mount point yet; bind it on itself once, then try again.
    if (errno != EINVAL || made_mount_point) {
      fail(what, fmt::format("make {} a shared mount: {}", kNetnsDir, std::strerror(errno)));
    }
    if (::mount(kNetnsDir, kNetnsDir, "none", MS_BIND | MS_REC, nullptr) != 0) {
      fail(what, fmt::format("bind mount {} on itself: {}", kNetnsDir, std::strerror(errno)));
    }
    made_mount_point = true;
  }
}

/// Unmounts and removes a netns file; false when there was none.
bool remove_netns_file(const std::string& path, const std::string& what) {
  // EINVAL: not a mount point (a file left by a failed create); ENOENT: no file at all.
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    fail(what, fmt::format("unmount {}: {}", path, std::strerror(errno)));
  }
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return false;
    fail(what, fmt::format("remove {}: {}", path, std::strerror(errno)));
  }
  return true;
}

void write_sysctl(const std::string& path, const std::string& value, const std::string& what) {
  const Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0 ||
      ::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    fail(what, fmt::format("write {}: {}", path, std::strerror(errno)));
  }
}

}  // namespace

std::string netns_path(const std::string& name) {
  return fmt::format("{}/{}", kNetnsDir, name);
}

void create_netns(const std::string& name) {
  const std::string what = fmt::format("create netns {}", name);
  check_netns_name(name, what);
  prepare_netns_dir(what);
  const std::string path = netns_path(name);
  // O_EXCL: the file is the namespace's name, and its creation is what claims the name.
  {
    const Fd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (file.get() < 0) fail(what, std::strerror(errno));
  }
  try {
    // unshare(CLONE_NEWNET) moves only the calling thread, so a thread of its own makes the
    // namespace, pins it with the bind mount, and opens the socket that brings lo up; the
    // namespace outlives the thread through the mount.
    Socket socket;
    int error = 0;
    const char* step = "";
    int nl_error = 0;
    std::thread([&] {
      if (::unshare(CLONE_NEWNET) != 0) {
        error = errno;
        step = "unshare";
      } else if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) {
        error = errno;
        step = "bind mount";
      } else {
        nl_error = socket.connect();
      }
    }).join();
    if (error != 0) fail(what, fmt::format("{}: {}", step, std::strerror(error)));
    if (nl_error < 0) fail(what, fmt::format("netlink socket: {}", nl_geterror(nl_error)));
    // Docker's and CNI's containers have lo up; without it nothing answers on 127.0.0.1.
    const Link lo = find_link(socket, "lo", what);
    if (!lo) fail(what, "the new netns has no lo");
    set_up(socket, lo.get(), what);
  } catch (...) {
    try {
      remove_netns_file(path, what);
    } catch (const Error&) {
      // The first failure is the one to report.
    }
    throw;
  }
}

void delete_netns(const std::string& name) {
  const std::string what = fmt::format("delete netns {}", name);
  check_netns_name(name, what);
  remove_netns_file(netns_path(name), what);
}

bool netns_exists(const std::string& name) {
  const std::string what = fmt::format("look up netns {}", name);
  check_netns_name(name, what);
  struct stat info {};
  if (::lstat(netns_path(name).c_str(), &info) == 0) return true;
  if (errno == ENOENT) return false;
  fail(what, std::strerror(errno));
}

void create_bridge(const Bridge& bridge) {
  const std::string what = fmt::format("create bridge {}", bridge.name);
  check_link_name(bridge.name, what);
  const Address local = parse_address(bridge.address, AF_INET, what);
  const Address mac = parse_address(bridge.mac, AF_LLC, what);

  Socket socket;
  connect_here(socket, what);
  // A bridge otherwise takes the lowest MAC of its ports, and changes it as containers come
  // and go (RUNTIME-FACTS.md §3.2); one set by hand stays.
  Link link(rtnl_link_bridge_alloc());
  rtnl_link_set_name(link.get(), bridge.name.c_str());
  rtnl_link_set_addr(link.get(), mac.get());
  // Up in the same request: one round trip fewer; nothing is attached yet anyway.
  rtnl_link_set_flags(link.get(), IFF_UP);
  if (const int err = rtnl_link_add(socket.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    fail(what, socket.reason(err));
  }
  try {
    const unsigned index = ::if_nametoindex(bridge.name.c_str());
    if (index == 0) fail(what, fmt::format("look up the new link: {}", std::strerror(errno)));
    add_address(socket, static_cast<int>(index), bridge.address, local.get(), what);
    write_sysctl(fmt::format("/proc/sys/net/ipv4/conf/{}/route_localnet", bridge.name), "1", what);
  } catch (...) {
    try {
      remove_link(socket, bridge.name, what);
    } catch (const Error&) {
      // The first failure is the one to report.
    }
    throw;
  }
}

void delete_link(const std::string& name) {
  const std::string what = fmt::format("delete link {}", name);
  check_link_name(name, what);
  Socket socket;
  connect_here(socket, what);
  remove_link(socket, name, what);
}

bool link_exists(const std::string& name) {
  const std::string what = fmt::format("look up link {}", name);
  check_link_name(name, what);
  if (::if_nametoindex(name.c_str()) != 0) return true;
  if (errno == ENODEV) return false;
  fail(what, std::strerror(errno));
}

void attach_endpoint(const Endpoint& endpoint) {
  const std::string what =
      fmt::format("attach {} in netns {} to bridge {} (host end {})", endpoint.ifname,
                  endpoint.netns, endpoint.bridge, endpoint.host_ifname);
  check_netns_name(endpoint.netns, what);
  check_link_name(endpoint.host_ifname, what);
  check_link_name(endpoint.ifname, what);
  check_link_name(endpoint.bridge, what);
  // Every input is checked before anything is made.
  const Address local = parse_address(endpoint.address, AF_INET, what);
  const Address gateway =
      endpoint.gateway.empty() ? nullptr : parse_address(endpoint.gateway, AF_INET, what);
  const Address mac = endpoint.mac.empty() ? nullptr : parse_address(endpoint.mac, AF_LLC, what);

  const std::string path = netns_path(endpoint.netns);
  const Fd netns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (netns.get() < 0) fail(what, fmt::format("open {}: {}", path, std::strerror(errno)));
  const unsigned bridge_index = ::if_nametoindex(endpoint.bridge.c_str());
  if (bridge_index == 0) {
    fail(what, fmt::format("bridge {}: {}", endpoint.bridge, std::strerror(errno)));
  }

  // One request makes both ends: the host end enslaved and up, the peer born inside the
  // namespace under its final name. Moving a link there later is slow (14-33 ms) and not
  // atomic. The peer must not be up in this request: the kernel answers ENOTCONN.
  Socket host;
  connect_here(host, what);
  {
    std::unique_ptr<rtnl_link, VethRelease> veth(rtnl_link_veth_alloc());
    if (!veth) fail(what, "out of memory");
    rtnl_link_set_name(veth.get(), endpoint.host_ifname.c_str());
    rtnl_link_set_master(veth.get(), static_cast<int>(bridge_index));
    rtnl_link_set_flags(veth.get(), IFF_UP);
    rtnl_link* peer = rtnl_link_veth_get_peer(veth.get());  // a new reference
    rtnl_link_set_name(peer, endpoint.ifname.c_str());
    rtnl_link_set_ns_fd(peer, netns.get());
    if (mac) rtnl_link_set_addr(peer, mac.get());
    rtnl_link_put(peer);
    if (const int err = rtnl_link_add(host.get(), veth.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
      fail(what, fmt::format("create veth: {}", host.reason(err)));
    }
  }

  try {
    Socket inside;
    connect_in(inside, netns.get(), what);
    const Link peer = find_link(inside, endpoint.ifname, what);
    if (!peer)
      fail(what, fmt::format("{} is missing from the netns after creation", endpoint.ifname));
    set_up(inside, peer.get(), what);
    const int index = rtnl_link_get_ifindex(peer.get());
    add_address(inside, index, endpoint.address, local.get(), what);
    if (gateway) add_default_route(inside, index, endpoint.gateway, gateway.get(), what);
  } catch (...) {
    // All or nothing: deleting the host end takes the peer with it.
    try {
      remove_link(host, endpoint.host_ifname, what);
    } catch (const Error&) {
      // The first failure is the one to report.
    }
    throw;
  }
}

void set_default_route(const std::string& netns, const std::string& ifname,
                       const std::string& gateway) {
  const std::string what =
      fmt::format("default route via {} on {} in netns {}", gateway, ifname, netns);
  check_netns_name(netns, what);
  check_link_name(ifname, what);
  const Address via = parse_address(gateway, AF_INET, what);
  const std::string path = netns_path(netns);
  const Fd netns_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (netns_fd.get() < 0) fail(what, fmt::format("open {}: {}", path, std::strerror(errno)));
  Socket inside;
  connect_in(inside, netns_fd.get(), what);
  const Link link = find_link(inside, ifname, what);
  if (!link) fail(what, fmt::format("no link {} in the netns", ifname));
  add_default_route(inside, rtnl_link_get_ifindex(link.get()), gateway, via.get(), what,
                    NLM_F_CREATE | NLM_F_REPLACE);
}

}  // namespace berth::network
