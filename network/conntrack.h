// The kernel's connection tracking table, through libnl-nf (netlink, no conntrack process).
#pragma once

#include <cstdint>
#include <string>

namespace berth::network {

/// Deletes the tracked UDP flows whose original destination is `host_port` (on `host_ip`, or
/// on any address when ""), as Docker does when it publishes a UDP port. A flow the kernel
/// saw before berth's DNAT rule existed keeps its untranslated entry as long as packets keep
/// coming (each refreshes its 30 s timeout), so a client that sends steadily, such as a
/// syslog or statsd sender, would never reach the container. Best effort: a host without
/// connection tracking has no entries to delete, and a failure costs only that
/// late-binding case; it is not worth failing a container's start for.
void forget_udp_flows(const std::string& host_ip, std::uint16_t host_port);

}  // namespace berth::network
