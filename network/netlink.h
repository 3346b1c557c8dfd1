// The kernel's network objects berth makes, through libnl (RUNTIME-FACTS.md §4): named network
// namespaces, bridges, and veth pairs whose container end is born inside a namespace.
// Every call throws berth::Error with one line naming the object and the kernel's reason.
#pragma once

#include <string>

namespace berth::network {

/// "/run/netns/<name>", where `ip netns` finds it.
std::string netns_path(const std::string& name);

/// Creates the named network namespace (as `ip netns add`: a bind mount of a new namespace
/// on /run/netns/<name>), with `lo` up. Throws when it exists already.
void create_netns(const std::string& name);

/// Unmounts and removes the named namespace; nothing to do when it does not exist. Links
/// inside it go with it (the kernel deletes a veth once either end's namespace is gone).
void delete_netns(const std::string& name);

bool netns_exists(const std::string& name);

/// A bridge for one berth network.
struct Bridge {
  std::string name;     // at most 15 characters
  std::string address;  // the gateway with its prefix, "10.210.3.1/24"
  std::string mac;      // fixed, "02:42:0a:d2:03:01": the bridge keeps it as ports come and go
};

/// Creates the bridge with its MAC, adds the address, sets route_localnet=1 on it (127.0.0.1
/// published ports need it, RUNTIME-FACTS.md §3.4) and brings it up. Throws when a link of
/// that name exists.
void create_bridge(const Bridge& bridge);

/// Deletes a link (a bridge or a veth end) by name; nothing to do when it does not exist.
void delete_link(const std::string& name);

bool link_exists(const std::string& name);

/// One container's interface on one network.
struct Endpoint {
  std::string netns;        // the container's namespace (a name under /run/netns)
  std::string bridge;       // the network's bridge
  std::string host_ifname;  // the veth's host end, enslaved to the bridge and up
  std::string ifname;       // the container end: "eth0", "eth1", ...
  std::string address;      // "10.210.3.2/24"
  std::string mac;          // "" for a kernel-chosen one
  std::string gateway;      // "10.210.3.1": the default route; "" for none (a second network)
};

/// The veth pair with its peer created directly in the namespace (never moved: slow, and not
/// atomic), the peer up with its address and, with a gateway, the default route. All or
/// nothing: on failure the host end is deleted again.
void attach_endpoint(const Endpoint& endpoint);

/// Makes `gateway` on `ifname` the default route inside the namespace `netns`, replacing the
/// one there (a container that leaves the network its default route went through).
void set_default_route(const std::string& netns, const std::string& ifname,
                       const std::string& gateway);

}  // namespace berth::network
