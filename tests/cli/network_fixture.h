// A fixture for tests of containers on berth networks: networks with random names, a web
// server container, and plain HTTP from the host over 127.0.0.1.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/cli/container_fixture.h"

namespace berth::testing {

class NetworkCli : public ContainerCli {
 protected:
  /// A network with a random name, made for the test (TearDown removes it).
  std::string make_network(const std::vector<std::string>& flags = {}) {
    const std::string name = "net" + random_suffix();
    std::vector<std::string> args{"network", "create"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(name);
    const auto made = berth(args);
    EXPECT_EQ(made.exit_code, 0) << made.err;
    return name;
  }
  static std::string random_suffix() {
    static int counter = 0;
    return std::to_string(::getpid()) + "x" + std::to_string(++counter);
  }
  /// A web server container answering "hello from NAME" on port 80.
  void run_web(const std::string& name, const std::vector<std::string>& flags) {
    std::vector<std::string> args{"container", "run", "-d", "--name", name};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"bb:1", "sh", "-c",
                             "mkdir -p /www && echo hello from " + name +
                                 " > /www/index.html && exec busybox httpd -f -p 80 -h /www"});
    const auto started = berth(args);
    ASSERT_EQ(started.exit_code, 0) << started.err;
  }
  /// A free TCP port on 127.0.0.1 (the kernel's pick, released at once).
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
  }
  /// The body of GET / from 127.0.0.1:port ("" when nothing answers).
  static std::string http_get(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string response;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
      const std::string request = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
      if (::write(fd, request.data(), request.size()) > 0) {
        char buffer[4096];
        for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) response.append(buffer, n);
      }
    }
    ::close(fd);
    const auto body = response.find("\r\n\r\n");
    return body == std::string::npos ? "" : response.substr(body + 4);
  }
};

}  // namespace berth::testing
