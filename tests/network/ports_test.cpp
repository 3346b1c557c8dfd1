#include "network/ports.h"

#include <gtest/gtest.h>

#include "tests/support/error_of.h"

namespace berth::network {
namespace {

using testing::error_of;

TEST(Ports, DockersForms) {
  EXPECT_EQ(parse_ports("8080:80"), (std::vector<PortSpec>{{"", 8080, 80, "tcp"}}));
  EXPECT_EQ(parse_ports("127.0.0.1:8080:80"),
            (std::vector<PortSpec>{{"127.0.0.1", 8080, 80, "tcp"}}));
  EXPECT_EQ(parse_ports("0.0.0.0:53:53/udp"), (std::vector<PortSpec>{{"", 53, 53, "udp"}}));
  // A free host port: "80", "0:80", "127.0.0.1::80".
  EXPECT_EQ(parse_ports("80"), (std::vector<PortSpec>{{"", 0, 80, "tcp"}}));
  EXPECT_EQ(parse_ports("0:80"), (std::vector<PortSpec>{{"", 0, 80, "tcp"}}));
  EXPECT_EQ(parse_ports("127.0.0.1::80"), (std::vector<PortSpec>{{"127.0.0.1", 0, 80, "tcp"}}));
  EXPECT_EQ(
      parse_ports("8000-8002:80-82"),
      (std::vector<PortSpec>{{"", 8000, 80, "tcp"}, {"", 8001, 81, "tcp"}, {"", 8002, 82, "tcp"}}));
  EXPECT_EQ(parse_ports("80-81").size(), 2u);
}

TEST(Ports, ErrorsNameTheEntry) {
  EXPECT_EQ(error_of([] { parse_ports("8080:80/sctp"); }),
            "invalid port \"8080:80/sctp\": unknown protocol \"sctp\" (tcp or udp)");
  EXPECT_EQ(error_of([] { parse_ports("70000:80"); }),
            "invalid port \"70000:80\": \"70000\" is not a port number (1-65535)");
  EXPECT_EQ(error_of([] { parse_ports("8000-8001:80-82"); }),
            "invalid port \"8000-8001:80-82\": the host and container ranges differ in length");
  EXPECT_EQ(error_of([] { parse_ports("1.2.3:80:80"); }),
            "invalid port \"1.2.3:80:80\": \"1.2.3\" is not an IPv4 address");
  EXPECT_EQ(error_of([] { parse_ports("82-80"); }),
            "invalid port \"82-80\": a range must not end before it starts");
  EXPECT_EQ(error_of([] { parse_ports(""); }),
            "invalid port \"\": \"\" is not a port number (1-65535)");
}

TEST(Ports, ExposedPortsAskForAFreeHostPortOnEveryAddress) {
  EXPECT_EQ(parse_exposed_ports("80"), (std::vector<PortSpec>{{"", 0, 80, "tcp"}}));
  EXPECT_EQ(parse_exposed_ports("53/udp"), (std::vector<PortSpec>{{"", 0, 53, "udp"}}));
  EXPECT_EQ(
      parse_exposed_ports("8000-8002/tcp"),
      (std::vector<PortSpec>{{"", 0, 8000, "tcp"}, {"", 0, 8001, "tcp"}, {"", 0, 8002, "tcp"}}));
  EXPECT_EQ(error_of([] { parse_exposed_ports("8080:80"); }),
            "invalid port \"8080:80\": an exposed port has no host part (publish it with -p)");
  EXPECT_EQ(error_of([] { parse_exposed_ports("0"); }),
            "invalid port \"0\": \"0\" is not a port number (1-65535)");
  EXPECT_EQ(error_of([] { parse_exposed_ports("80/sctp"); }),
            "invalid port \"80/sctp\": unknown protocol \"sctp\" (tcp or udp)");
  EXPECT_EQ(port_and_protocol({"", 0, 53, "udp"}), "53/udp");
}

TEST(Ports, DockersPsForm) {
  EXPECT_EQ(format_port({"127.0.0.1", 8080, 80, "tcp"}), "127.0.0.1:8080->80/tcp");
  EXPECT_EQ(format_port({"", 5353, 53, "udp"}), "0.0.0.0:5353->53/udp");
}

}  // namespace
}  // namespace berth::network
