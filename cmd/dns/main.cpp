// berth-dns CONFIG [--ready-fd N]: the DNS responder of one network, started by berth
// (network/dns_server.h). A program of its own, linked statically and small, because one runs
// per network for the network's whole life.
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "network/dns_server.h"
#include "util/error.h"

int main(int argc, char** argv) {
  int ready_fd = -1;
  bool usage = argc != 2 && argc != 4;
  if (argc == 4) {
    const std::string_view number = argv[3];
    const auto [end, error] =
        std::from_chars(number.data(), number.data() + number.size(), ready_fd);
    usage = std::strcmp(argv[2], "--ready-fd") != 0 || error != std::errc() ||
            end != number.data() + number.size() || ready_fd < 0;
  }
  if (usage) {
    std::fputs("usage: berth-dns CONFIG [--ready-fd N] (started by berth)\n", stderr);
    return 2;
  }
  try {
    return berth::network::run_dns_server(argv[1], ready_fd);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "berth-dns: %s\n", e.what());
    return 1;
  }
}
