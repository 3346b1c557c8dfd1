#include "network/conntrack.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <memory>
#include <vector>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netfilter/ct.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netlink.h>

namespace berth::network {

namespace {

struct SocketFree {
  void operator()(nl_sock* socket) const { nl_socket_free(socket); }
};
struct CacheFree {
  void operator()(nl_cache* cache) const { nl_cache_free(cache); }
};

/// What the table walk needs: the flows to match, and the ones that matched.
struct Match {
  std::uint32_t host_ip = 0;  // network order; 0 for any
  std::uint16_t host_port = 0;
  std::vector<nfnl_ct*> flows;  // references held until deleted
};

void collect(nl_object* object, void* argument) {
  auto& match = *static_cast<Match*>(argument);
  auto* flow = reinterpret_cast<nfnl_ct*>(object);
  if (nfnl_ct_get_family(flow) != AF_INET || nfnl_ct_get_proto(flow) != IPPROTO_UDP) return;
  if (nfnl_ct_get_dst_port(flow, 0) != match.host_port) return;  // 0: the original direction
  if (match.host_ip != 0) {
    const nl_addr* destination = nfnl_ct_get_dst(flow, 0);
    if (destination == nullptr || nl_addr_get_len(destination) != 4) return;
    std::uint32_t address = 0;
    std::memcpy(&address, nl_addr_get_binary_addr(destination), 4);
    if (address != match.host_ip) return;
  }
  nl_object_get(object);
  match.flows.push_back(flow);
}

}  // namespace

void forget_udp_flows(const std::string& host_ip, std::uint16_t host_port) {
  Match match;
  match.host_port = host_port;
  if (!host_ip.empty() && host_ip != "0.0.0.0" &&
      ::inet_pton(AF_INET, host_ip.c_str(), &match.host_ip) != 1) {
    return;
  }
  const std::unique_ptr<nl_sock, SocketFree> socket(nl_socket_alloc());
  if (!socket || nfnl_connect(socket.get()) < 0) return;
  nl_cache* raw = nullptr;
  if (nfnl_ct_alloc_cache(socket.get(), &raw) < 0) return;
  const std::unique_ptr<nl_cache, CacheFree> cache(raw);
  nl_cache_foreach(cache.get(), collect, &match);
  for (nfnl_ct* flow : match.flows) {
    // Gone meanwhile (expired, or deleted by another berth) is as good as deleted.
    nfnl_ct_del(socket.get(), flow, 0);
    nfnl_ct_put(flow);
  }
}

}  // namespace berth::network
